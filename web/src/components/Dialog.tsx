import { useEffect, useId, useRef, type ReactNode } from 'react';

interface Props {
  open: boolean;
  onClose: () => void;
  title: string;
  children: ReactNode;
  testId?: string;
}

/** A modal <dialog>: the browser traps focus, Escape closes it, and focus returns where it was. */
export function Dialog({ open, onClose, title, children, testId }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const headingId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    else if (!open && dialog.open) dialog.close();
  }, [open]);

  return (
    <dialog ref={ref} className="dialog" aria-labelledby={headingId} onClose={onClose} data-testid={testId}>
      {open ? (
        <>
          <header className="dialog__header">
            <h2 id={headingId} className="card__title">
              {title}
            </h2>
            <button type="button" className="button button--small button--ghost" onClick={onClose} aria-label="Close dialog">
              Close
            </button>
          </header>
          <div className="dialog__body">{children}</div>
        </>
      ) : null}
    </dialog>
  );
}
