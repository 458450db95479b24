import type { JobState } from './types.ts';

export function JobStateBadge({ state, testId }: { state: JobState; testId?: string }) {
  return (
    <span className={`badge badge--${state}`} data-state={state} data-testid={testId}>
      {state}
    </span>
  );
}
