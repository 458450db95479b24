import { formatCount } from '../../format.ts';
import type { SubsetSummary } from './types.ts';

interface Props {
  id: string;
  subsets: SubsetSummary[];
  /** '' for every subset. */
  value: string;
  onChange: (value: string) => void;
  testId?: string;
  disabled?: boolean;
  allLabel?: string;
}

/** Which subset a tool works on, or all of them. */
export function SubsetSelect({ id, subsets, value, onChange, testId, disabled, allLabel = 'All subsets' }: Props) {
  return (
    <>
      <label className="visually-hidden" htmlFor={id}>
        Subset
      </label>
      <select id={id} className="input select" value={value} onChange={(event) => onChange(event.target.value)} disabled={disabled} data-testid={testId}>
        <option value="">{allLabel}</option>
        {subsets.map((s) => (
          <option key={s.name} value={s.name}>
            {s.name} ({formatCount(s.imageCount)})
          </option>
        ))}
      </select>
    </>
  );
}
