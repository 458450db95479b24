import type { InputHTMLAttributes } from 'react';

interface Props extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'value' | 'onChange' | 'className'> {
  id: string;
  label: string;
  /** `visually-hidden` where the placeholder and the layout say what the field is for. */
  labelClassName: string;
  className: string;
  value: string;
  onChange: (value: string) => void;
  testId: string;
}

/** A labelled text field for names, tags and filters: no autocomplete or spell check, which would only get in the way. */
export function TextField({ id, label, labelClassName, value, onChange, testId, ...input }: Props) {
  return (
    <>
      <label htmlFor={id} className={labelClassName}>
        {label}
      </label>
      <input id={id} value={value} onChange={(event) => onChange(event.target.value)} autoComplete="off" spellCheck={false} data-testid={testId} {...input} />
    </>
  );
}
