import { useEffect, useLayoutEffect, useRef, useState } from 'react';

interface Props {
  lines: string[];
  /** Whether new lines may still come (the run is live). */
  live: boolean;
}

/**
 * The engine's log (the shim's copy, secrets redacted). Follow keeps the newest line in view; scrolling up
 * to read turns it off, and scrolling back to the bottom turns it on again.
 */
export function LogViewer({ lines, live }: Props) {
  const box = useRef<HTMLPreElement>(null);
  const [follow, setFollow] = useState(true);

  useLayoutEffect(() => {
    const element = box.current;
    if (element && follow) element.scrollTop = element.scrollHeight;
  }, [lines, follow]);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const onScroll = () => {
      const atBottom = element.scrollHeight - element.scrollTop - element.clientHeight < 8;
      setFollow(atBottom);
    };
    element.addEventListener('scroll', onScroll, { passive: true });
    return () => element.removeEventListener('scroll', onScroll);
  }, []);

  return (
    <div className="log-viewer">
      <div className="log-viewer__bar">
        <label className="checkbox">
          <input type="checkbox" checked={follow} onChange={(event) => setFollow(event.target.checked)} data-testid="log-follow" />
          Follow
        </label>
        <span className="muted">{lines.length === 0 ? 'No output yet.' : `Last ${lines.length} lines${live ? '' : ' (the run has ended)'}`}</span>
      </div>
      <pre ref={box} className="log-viewer__text" tabIndex={0} aria-label="Engine log" data-testid="job-log">
        {lines.join('\n')}
      </pre>
    </div>
  );
}
