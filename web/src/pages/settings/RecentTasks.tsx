import { DataTable } from '../../components/DataTable.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { StateBadge } from '../../components/StateBadge.tsx';
import { Time } from '../../components/Time.tsx';
import { useStudioEvent } from '../../events.tsx';
import { useJson } from '../../hooks/useJson.ts';
import type { TaskRecord } from '../../types.ts';

const LIMIT = 20;

function upsert(incoming: TaskRecord, tasks: TaskRecord[]): TaskRecord[] {
  const others = tasks.filter((t) => t.id !== incoming.id);
  return [incoming, ...others].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt)).slice(0, LIMIT);
}

function progressText({ done, total }: TaskRecord['progress']): string {
  return total === null ? `${done}` : `${done} / ${total}`;
}

/** The latest tasks of any kind, kept current from the studio's live `task` events. */
export function RecentTasks() {
  const { data, error, reload, setData } = useJson<{ tasks: TaskRecord[] }>(`/api/tasks?limit=${LIMIT}`);

  useStudioEvent('task', (task) => {
    setData((current) => current && { tasks: upsert(task, current.tasks) });
  });

  return (
    <div className="subsection">
      <h3 className="subsection__title">Recent tasks</h3>
      <ErrorBanner error={error} onRetry={reload} />
      {data ? (
        <DataTable
          columns={['Kind', 'State', 'Progress', 'Detail', 'Started']}
          testId="tasks-list"
          empty={data.tasks.length === 0 ? 'No tasks yet.' : null}
        >
          {data.tasks.map((task) => (
            <tr key={task.id} data-testid={`task-row-${task.id}`}>
              <td className="mono">{task.kind}</td>
              <td>
                <StateBadge state={task.state} />
              </td>
              <td className="nowrap">{progressText(task.progress)}</td>
              <td className="table__wrap">{task.error?.message ?? task.progress.message ?? task.detail ?? ''}</td>
              <td className="nowrap">
                <Time iso={task.createdAt} withSeconds />
              </td>
            </tr>
          ))}
        </DataTable>
      ) : error ? null : (
        <Loading />
      )}
    </div>
  );
}
