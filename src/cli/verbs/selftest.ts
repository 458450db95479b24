import { acquireWorkspaceLock } from '../../server/studio-lock.ts';
import { selftestParamsSchema } from '../../tasks/selftest-task.ts';
import type { TaskRecord } from '../../tasks/task-types.ts';
import { followTask } from '../follow-task.ts';
import { usageError, writeJson, writeLine } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { connectStudio } from '../studio-client.ts';
import { flag, option, parseVerbArgs, type Verb } from '../verb.ts';

export const selftestVerb: Verb = {
  name: 'selftest',
  help: `lorasmith selftest [--steps N] [--interval-ms MS] [--detach] [--json]

Runs a harmless task that counts N steps, through the running studio when there is one (watch it in
Settings), else in this process. Ctrl-C cancels it. --detach (studio only) prints the task and returns.`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('selftest', args, { steps: { type: 'string' }, 'interval-ms': { type: 'string' }, detach: { type: 'boolean', default: false } });
    if (positionals.length > 0) throw usageError('`selftest` takes no positional arguments.', 'See `lorasmith selftest --help`.');
    const parsed = selftestParamsSchema.safeParse({
      ...(option(values, 'steps') === undefined ? {} : { steps: Number(option(values, 'steps')) }),
      ...(option(values, 'interval-ms') === undefined ? {} : { intervalMs: Number(option(values, 'interval-ms')) }),
    });
    if (!parsed.success) throw usageError('--steps must be 1–10000 and --interval-ms 0–10000.', 'See `lorasmith selftest --help`.');
    const json = flag(values, 'json');
    const client = await connectStudio(io.env);
    if (client !== null) {
      const task = await client.request<TaskRecord>('POST', '/api/tasks/selftest', parsed.data);
      if (flag(values, 'detach')) {
        if (json) writeJson(io, task);
        else writeLine(io, `task ${task.id} queued in the studio at ${client.info.url}`);
        return 0;
      }
      return followTask({ io, json, source: { kind: 'remote', client }, id: task.id, label: 'selftest' });
    }
    if (flag(values, 'detach')) throw usageError('--detach needs a running studio.', 'Start one with `lorasmith serve`, or drop --detach.');
    return withLocalStudio(io.env, async (studio) => {
      // In-process work holds the workspace lock, so a studio started meanwhile cannot mark it interrupted.
      const lock = await acquireWorkspaceLock({ lockFile: studio.workspace.paths.serverLock, serverJson: studio.workspace.paths.serverJson, purpose: 'selftest' });
      try {
        await studio.tasks.recover();
        const task = await studio.tasks.start('selftest', parsed.data);
        return await followTask({ io, json, source: { kind: 'local', tasks: studio.tasks }, id: task.id, label: 'selftest' });
      } finally {
        await lock.release();
      }
    });
  },
};
