/**
 * Follow a task to its end with a progress bar: over the studio's SSE stream when a studio runs, or on
 * the in-process task service. Ctrl-C asks for cancellation once; the task's final state decides the exit
 * code (0 succeeded, 1 failed / cancelled / interrupted).
 */
import type { ExitCode } from '../core/errors.ts';
import { FINAL_TASK_STATES, type TaskRecord } from '../tasks/task-types.ts';
import type { TaskService } from '../tasks/task-service.ts';
import { writeJson, writeLine, type CliIO } from './io.ts';
import { createProgress } from './progress.ts';
import { readSse } from './sse-client.ts';
import { subscriptionUpdates } from './subscription-updates.ts';
import type { StudioClient } from './studio-client.ts';

export type TaskSource =
  | { kind: 'remote'; client: StudioClient }
  | { kind: 'local'; tasks: TaskService };

function onInterrupt(handler: () => void): () => void {
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

async function* updates(source: TaskSource, id: string): AsyncGenerator<TaskRecord> {
  if (source.kind === 'remote') {
    const body = await source.client.stream(`/api/tasks/${encodeURIComponent(id)}/events`);
    for await (const message of readSse(body)) {
      if (message.event === 'task') yield JSON.parse(message.data) as TaskRecord;
    }
    return;
  }
  const { tasks } = source;
  yield* subscriptionUpdates<TaskRecord>({
    subscribe: (push) => tasks.subscribe(id, push),
    current: () => tasks.get(id),
    isLast: (record) => FINAL_TASK_STATES.has(record.state),
  });
}

export async function followTask(params: { io: CliIO; json: boolean; source: TaskSource; id: string; label: string }): Promise<ExitCode> {
  const { io, json, source, id } = params;
  const progress = createProgress({ io, json, label: params.label });
  let cancelRequested = false;
  const offInterrupt = onInterrupt(() => {
    if (cancelRequested) return;
    cancelRequested = true;
    io.stderr.write('\ncancelling…\n');
    const cancel = source.kind === 'remote' ? source.client.request('POST', `/api/tasks/${encodeURIComponent(id)}/cancel`, {}) : source.tasks.cancel(id);
    void cancel.catch(() => undefined);
  });
  let last: TaskRecord | null = null;
  try {
    for await (const record of updates(source, id)) {
      last = record;
      // A queued task has no progress yet: nothing to draw.
      if (record.state !== 'queued') progress.update(record.progress);
      if (FINAL_TASK_STATES.has(record.state)) break;
    }
  } finally {
    offInterrupt();
    progress.finish();
  }
  if (last === null) return 2;
  if (json) writeJson(io, { type: 'summary', task: last });
  else {
    writeLine(io, `${params.label}: ${last.state}${last.error ? ` — ${last.error.message}` : ''}`);
    if (last.error?.hint) writeLine(io, `hint: ${last.error.hint}`);
  }
  return last.state === 'succeeded' ? 0 : 1;
}
