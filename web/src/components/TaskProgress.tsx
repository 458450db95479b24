import type { TaskRecord } from '../types.ts';

/** A native <progress> (no inline styles needed), indeterminate while the total is unknown. */
export function TaskProgress({ task, testId }: { task: TaskRecord; testId?: string }) {
  const { done, total, message } = task.progress;
  const label = total === null ? `${done} done` : `${done} / ${total}`;
  return (
    <div className="progress">
      <progress
        className={`progress__bar progress__bar--${task.state}`}
        max={total ?? undefined}
        value={total === null ? undefined : Math.min(done, total)}
        aria-label={`Progress of task ${task.kind}`}
        aria-valuetext={label}
        data-testid={testId}
        data-done={done}
        data-total={total ?? ''}
      />
      <span className="progress__label">{label}</span>
      {message ? <span className="progress__message muted">{message}</span> : null}
    </div>
  );
}
