import type { ReactNode } from 'react';
import { api, apiPath } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { StateBadge } from '../../components/StateBadge.tsx';
import { TaskProgress } from '../../components/TaskProgress.tsx';
import { useAction } from '../../hooks/useAction.ts';
import { isFinalState, type TaskRecord } from '../../types.ts';

interface Props {
  taskId: string;
  task: TaskRecord | null;
  title: string;
  /** What the task is doing now, in words, from its `detail`. */
  stepText?: (detail: string) => string;
  testId: string;
  children?: ReactNode;
}

/** A dataset task as it runs: state, progress, what it is doing, and a cancel button until it ends. */
export function TaskPanel({ taskId, task, title, stepText, testId, children }: Props) {
  const cancel = useAction(async (id: string) => {
    await api.post(apiPath('/api/tasks', id, '/cancel'), {});
  });
  const running = task !== null && !isFinalState(task.state);
  return (
    <div className="task-panel" data-testid={testId} data-task-id={taskId} data-state={task?.state ?? 'queued'}>
      {task ? (
        <>
          <div className="task-panel__head">
            <StateBadge state={task.state} testId={`${testId}-state`} />
            <span className="import-task__title">{title}</span>
            <span className="mono muted">{task.id}</span>
            {running ? (
              <button
                type="button"
                className="button button--small button--danger-outline task-panel__action"
                onClick={() => void cancel.run(task.id)}
                disabled={cancel.pending}
                data-testid={`${testId}-cancel`}
              >
                Cancel
              </button>
            ) : null}
          </div>
          {running && task.detail ? <p className="muted">{stepText ? stepText(task.detail) : task.detail}</p> : null}
          <TaskProgress task={task} testId={`${testId}-progress`} />
          {children}
        </>
      ) : (
        <Loading label="Starting…" />
      )}
      <ErrorBanner error={cancel.error} onDismiss={cancel.clearError} />
    </div>
  );
}
