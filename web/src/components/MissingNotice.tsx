import type { ReactNode } from 'react';

interface Props {
  title: string;
  children: ReactNode;
  onDismiss: () => void;
  testId: string;
}

/** Says that the record the address names (`?model=…`, `?dataset=…`) is not there, until dismissed. */
export function MissingNotice({ title, children, onDismiss, testId }: Props) {
  return (
    <div className="notice" role="status" data-testid={testId}>
      <p className="notice__title">{title}</p>
      <p>{children}</p>
      <button type="button" className="button button--small button--ghost notice__action" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
