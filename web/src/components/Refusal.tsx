import type { ReactNode } from 'react';
import { RichText } from './RichText.tsx';

interface Props {
  title: string;
  /** What the refused thing is, e.g. `File` or `Archive`, and its name. */
  subject: string;
  name: string;
  code: string;
  phase: string;
  message: string;
  hint: string | null;
  /** What did not happen because of the refusal. */
  note: ReactNode;
  onDismiss: () => void;
  testId: string;
}

/** Why an upload or import was refused or failed, with the studio's message and hint, until dismissed. */
export function Refusal({ title, subject, name, code, phase, message, hint, note, onDismiss, testId }: Props) {
  return (
    <div className="refusal" role="alert" data-testid={testId} data-code={code} data-phase={phase}>
      <div className="refusal__body">
        <p className="refusal__title">{title}</p>
        <p className="refusal__file">
          <span className="muted">{subject} </span>
          <span className="mono">{name}</span>
        </p>
        <p className="refusal__message">
          <RichText text={message} />
        </p>
        {hint ? (
          <p className="refusal__hint">
            <RichText text={hint} />
          </p>
        ) : null}
        <p className="refusal__note">{note}</p>
      </div>
      <button type="button" className="button button--small button--ghost" onClick={onDismiss} data-testid={`${testId}-dismiss`}>
        Dismiss
      </button>
    </div>
  );
}
