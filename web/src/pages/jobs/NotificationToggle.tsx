import type { NotificationChoice } from './notifications.ts';

/** Turns browser notifications for ended jobs on or off, and says when the browser refuses them. */
export function NotificationToggle({ choice }: { choice: NotificationChoice }) {
  if (choice.permission === 'unsupported') {
    return <span className="muted hint-line">This browser has no notifications.</span>;
  }
  const blocked = choice.wanted && choice.permission === 'denied';
  return (
    <span className="notify-toggle">
      <label className="checkbox">
        <input type="checkbox" checked={choice.wanted} onChange={(event) => void choice.setWanted(event.target.checked)} data-testid="jobs-notify" />
        Notify me when a run finishes or fails
      </label>
      {blocked ? (
        <span className="hint-line notify-toggle__blocked" role="status" data-testid="jobs-notify-blocked">
          The browser blocks notifications for this site; allow them in its site settings.
        </span>
      ) : null}
    </span>
  );
}
