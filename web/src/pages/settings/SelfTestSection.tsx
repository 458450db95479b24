import { useState } from 'react';
import { api, apiPath } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { RichText } from '../../components/RichText.tsx';
import { Section } from '../../components/Section.tsx';
import { StateBadge } from '../../components/StateBadge.tsx';
import { TaskProgress } from '../../components/TaskProgress.tsx';
import { useStudioEvent } from '../../events.tsx';
import { useAction } from '../../hooks/useAction.ts';
import { useTaskEvents } from '../../hooks/useTaskEvents.ts';
import { laterRecord } from '../../tasks.ts';
import { isFinalState, type TaskRecord } from '../../types.ts';
import { RecentTasks } from './RecentTasks.tsx';

const SELFTEST = { steps: 20, intervalMs: 100 };

export function SelfTestSection() {
  const [task, setTask] = useState<TaskRecord | null>(null);
  const running = task !== null && !isFinalState(task.state);

  const onRecord = (record: TaskRecord) => setTask((current) => laterRecord(current, record));
  useTaskEvents(running ? task.id : null, onRecord);
  useStudioEvent('task', onRecord);

  const start = useAction(async () => {
    setTask(await api.post<TaskRecord>('/api/tasks/selftest', SELFTEST));
  });
  const cancel = useAction(async (id: string) => {
    await api.post(apiPath('/api/tasks', id, '/cancel'), {});
  });

  return (
    <Section
      id="selftest"
      title="Self-test task"
      description="Runs a harmless task through the task service to check that progress, live updates and cancel work end to end."
    >
      <div className="inline-form">
        <button
          type="button"
          className="button"
          onClick={() => void start.run()}
          disabled={start.pending || running}
          data-testid="selftest-start"
        >
          {running ? 'Self-test running…' : 'Run self-test'}
        </button>
        {running ? (
          <button
            type="button"
            className="button button--danger-outline"
            onClick={() => void cancel.run(task.id)}
            disabled={cancel.pending}
            data-testid="selftest-cancel"
          >
            Cancel
          </button>
        ) : null}
      </div>
      <ErrorBanner
        error={start.error ?? cancel.error}
        onDismiss={() => {
          start.clearError();
          cancel.clearError();
        }}
      />
      {task ? (
        <div className="task-panel" data-testid="selftest-task" data-task-id={task.id}>
          <div className="task-panel__head">
            <StateBadge state={task.state} testId="selftest-state" />
            <span className="mono muted">{task.id}</span>
          </div>
          <TaskProgress task={task} testId="selftest-progress" />
          {task.error ? (
            <p className="task-panel__error">
              <RichText text={task.error.message} />
              {task.error.hint ? (
                <>
                  {' '}
                  <RichText text={task.error.hint} />
                </>
              ) : null}
            </p>
          ) : null}
        </div>
      ) : null}
      <RecentTasks />
    </Section>
  );
}
