import { useEffect, useState } from 'react';

interface Props {
  value: string;
  /** What is copied, for the button's accessible name, e.g. "SHA-256". */
  what: string;
  testId?: string;
}

/** Copies a value to the clipboard and says so for a moment; says so too when the browser refuses. */
export function CopyButton({ value, what, testId }: Props) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');

  useEffect(() => {
    if (copied === 'no') return;
    const timer = setTimeout(() => setCopied('no'), 2_000);
    return () => clearTimeout(timer);
  }, [copied]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };

  return (
    <button
      type="button"
      className="button button--small button--ghost button--copy"
      onClick={() => void copy()}
      aria-label={`Copy ${what}`}
      data-testid={testId}
      data-copied={copied}
    >
      {copied === 'yes' ? 'Copied' : copied === 'failed' ? 'Copy refused' : 'Copy'}
    </button>
  );
}
