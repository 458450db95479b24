import type { ReactNode } from 'react';

export interface Column {
  label: string;
  /** `num` right-aligns a numeric column; other classes size or style it. */
  className?: string;
  /** Read by screen readers only, e.g. a column of action buttons. */
  hidden?: boolean;
}

/** The header of a column of row buttons (delete, revoke, pull). */
export const ACTIONS: Column = { label: 'Actions', hidden: true };

export const SIZE: Column = { label: 'Size', className: 'num' };

interface Props {
  /** A plain string is a visible, unstyled column header. */
  columns: ReadonlyArray<Column | string>;
  /** Classes beside `table`, e.g. `table--files`. */
  className?: string;
  testId?: string;
  /** `data-*` attributes of the table, for tests and styles that tell its kinds apart. */
  data?: Record<`data-${string}`, string>;
  /** Classes beside `table-scroll` on the wrapper that scrolls a wide (or, with `--tall`, long) table. */
  scrollClassName?: string;
  /** Names a scrolling wrapper and makes it focusable, so the keyboard can scroll it. */
  scrollLabel?: string;
  /** Dims the table while a newer answer is on its way. */
  busy?: boolean;
  colgroup?: ReactNode;
  /** Shown as one muted row across every column instead of the rows; null shows the rows. */
  empty?: ReactNode;
  children?: ReactNode;
}

/** A table of records: its header row, and its rows or the line that says why there are none. */
export function DataTable({ columns, className, testId, data, scrollClassName, scrollLabel, busy, colgroup, empty = null, children }: Props) {
  const wrapper = ['table-scroll', scrollClassName, busy ? 'table-scroll--busy' : undefined].filter(Boolean).join(' ');
  return (
    <div className={wrapper} tabIndex={scrollLabel ? 0 : undefined} aria-label={scrollLabel} aria-busy={busy}>
      <table className={className ? `table ${className}` : 'table'} data-testid={testId} {...data}>
        {colgroup}
        <thead>
          <tr>
            {columns.map((column) => {
              const { label, className: columnClass, hidden }: Column = typeof column === 'string' ? { label: column } : column;
              return (
                <th key={label} scope="col" className={columnClass}>
                  {hidden ? <span className="visually-hidden">{label}</span> : label}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {empty === null ? (
            children
          ) : (
            <tr>
              <td colSpan={columns.length} className="muted">
                {empty}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
