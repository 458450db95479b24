import { useEffect, useRef, useState } from 'react';

interface Props {
  /** The button's text, e.g. "Delete". */
  label: string;
  /** What is asked before acting, e.g. "Delete token ci?". */
  question: string;
  confirmLabel?: string;
  onConfirm: () => void;
  disabled?: boolean;
  /** The first button; the confirm and cancel buttons get `-confirm` and `-cancel` appended. */
  testId: string;
}

/** A destructive button with its confirm step inside the page (no window.confirm). */
export function ConfirmButton({ label, question, confirmLabel = label, onConfirm, disabled, testId }: Props) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const triggerRef = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);

  useEffect(() => {
    if (asking) confirmRef.current?.focus();
    else if (wasAsking.current) triggerRef.current?.focus();
    wasAsking.current = asking;
  }, [asking]);

  if (!asking) {
    return (
      <button
        ref={triggerRef}
        type="button"
        className="button button--small button--danger-outline"
        onClick={() => setAsking(true)}
        disabled={disabled}
        data-testid={testId}
      >
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={question}>
      <span className="confirm__question">{question}</span>
      <button
        ref={confirmRef}
        type="button"
        className="button button--small button--danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
        data-testid={`${testId}-confirm`}
      >
        {confirmLabel}
      </button>
      <button
        type="button"
        className="button button--small button--ghost"
        onClick={() => setAsking(false)}
        data-testid={`${testId}-cancel`}
      >
        Cancel
      </button>
    </span>
  );
}
