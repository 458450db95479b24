import type { ReactNode } from 'react';

interface Props {
  selected: boolean;
  onSelect: () => void;
  testId: string;
  /** The first cell's class: it sets how wide the name may grow. */
  nameClassName: string;
  name: ReactNode;
  /** Badges under the name. */
  sub?: ReactNode;
  /** The row's other cells. */
  children: ReactNode;
}

/**
 * A table row that opens its record when clicked anywhere; the name is also a button, so the keyboard
 * can reach it, and it marks the open record for assistive technology.
 */
export function SelectableRow({ selected, onSelect, testId, nameClassName, name, sub, children }: Props) {
  return (
    <tr className={selected ? 'table__row table__row--selected' : 'table__row'} onClick={onSelect} data-testid={testId} data-selected={selected}>
      <td className={nameClassName}>
        <button
          type="button"
          className="link-button table__name-button"
          onClick={(event) => {
            event.stopPropagation();
            onSelect();
          }}
          aria-current={selected ? 'true' : undefined}
        >
          {name}
        </button>
        {sub}
      </td>
      {children}
    </tr>
  );
}
