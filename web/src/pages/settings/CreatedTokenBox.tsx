import { useEffect, useRef, useState } from 'react';
import type { CreatedToken } from '../../types.ts';

/** Shows a new token once. Dismissing it drops the value from the page for good. */
export function CreatedTokenBox({ created, onDone }: { created: CreatedToken; onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');

  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, [created]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.token);
      setCopied('yes');
    } catch {
      input.current?.select();
      setCopied('failed');
    }
  };

  return (
    <div className="notice" role="status" data-testid="token-created">
      <label className="notice__title" htmlFor="token-created-value">
        Token <span className="mono">{created.name}</span> created — copy it now, it will not be shown again.
      </label>
      <div className="inline-form">
        <input
          ref={input}
          id="token-created-value"
          className="input input--mono input--wide"
          readOnly
          value={created.token}
          onFocus={(event) => event.currentTarget.select()}
          data-testid="token-created-value"
        />
        <button type="button" className="button button--small" onClick={() => void copy()} data-testid="token-copy">
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
        <button type="button" className="button button--small button--ghost" onClick={onDone} data-testid="token-created-dismiss">
          Done
        </button>
      </div>
      {copied === 'failed' ? <p className="muted">Copying was refused by the browser; the token is selected, press Ctrl+C.</p> : null}
    </div>
  );
}
