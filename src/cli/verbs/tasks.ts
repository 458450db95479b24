import type { TaskRecord } from '../../tasks/task-types.ts';
import { followTask } from '../follow-task.ts';
import { usageError, writeJson, writeLine, type CliIO } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { connectStudio } from '../studio-client.ts';
import { flag, parseVerbArgs, type Verb } from '../verb.ts';

function describe(io: CliIO, task: TaskRecord): void {
  const progress = task.progress.total ? `${task.progress.done}/${task.progress.total}` : `${task.progress.done}`;
  writeLine(io, `${task.id}  ${task.kind.padEnd(12)} ${task.state.padEnd(11)} ${progress.padEnd(9)} ${task.createdAt}${task.error ? `  ${task.error.message}` : ''}`);
}

export const tasksVerb: Verb = {
  name: 'tasks',
  help: `lorasmith tasks list | show ID | follow ID | cancel ID [--json]

Tasks are the studio's long pieces of work (imports, downloads, tagging, self-test, …).`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('tasks', args, {});
    const json = flag(values, 'json');
    const [action, id] = positionals;
    if (action !== 'list' && id === undefined) throw usageError(`\`tasks ${action ?? ''}\` needs an action and a task ID.`, 'See `lorasmith tasks --help`.');
    const client = await connectStudio(io.env);
    const print = (value: TaskRecord | TaskRecord[]) => {
      if (json) writeJson(io, Array.isArray(value) ? { tasks: value } : value);
      else for (const task of Array.isArray(value) ? value : [value]) describe(io, task);
      return 0 as const;
    };
    const path = `/api/tasks/${encodeURIComponent(id ?? '')}`;
    switch (action) {
      case 'list':
        return print(client ? (await client.request<{ tasks: TaskRecord[] }>('GET', '/api/tasks')).tasks : await withLocalStudio(io.env, (s) => s.tasks.list()));
      case 'show':
        return print(client ? await client.request<TaskRecord>('GET', path) : await withLocalStudio(io.env, (s) => s.tasks.get(id ?? '')));
      case 'cancel':
        // Without a studio no task can be running; cancelling marks a leftover queued one.
        return print(client ? await client.request<TaskRecord>('POST', `${path}/cancel`, {}) : await withLocalStudio(io.env, (s) => s.tasks.cancel(id ?? '')));
      case 'follow':
        if (client === null) throw usageError('Following a task needs the running studio.', 'Start it with `lorasmith serve`.');
        return followTask({ io, json, source: { kind: 'remote', client }, id: id ?? '', label: 'task' });
      default:
        throw usageError(`Unknown tasks action ${JSON.stringify(action ?? '')}.`, 'Use list, show, follow or cancel.');
    }
  },
};
