interface Props {
  onCheckAgain: () => void;
  checking: boolean;
}

/** Shown when the browser holds no valid session: pairing happens through a URL the CLI prints. */
export function NotPaired({ onCheckAgain, checking }: Props) {
  return (
    <main className="gate" data-testid="not-paired">
      <div className="gate__card">
        <h1 className="gate__title">Not paired</h1>
        <p>This browser is not paired with the lorasmith studio, or its session has ended.</p>
        <ol className="gate__steps">
          <li>
            In a terminal on the studio's machine, run <code>lorasmith pair</code>.
          </li>
          <li>Open the URL it prints in this browser. The link works once and expires soon.</li>
        </ol>
        <p className="muted">The page never asks for a code or a secret; pairing sets a session cookie only the studio can read.</p>
        <button type="button" className="button" onClick={onCheckAgain} disabled={checking} data-testid="not-paired-retry">
          {checking ? 'Checking…' : 'I have paired — check again'}
        </button>
      </div>
    </main>
  );
}
