import type { TaskState } from '../types.ts';

export function StateBadge({ state, testId }: { state: TaskState; testId?: string }) {
  return (
    <span className={`badge badge--${state}`} data-state={state} data-testid={testId}>
      {state}
    </span>
  );
}
