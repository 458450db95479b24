import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openDatabase, type OpenDatabaseResult } from '../core/db/open-database.ts';
import { LorasmithError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { selftestTask } from './selftest-task.ts';
import { TaskService } from './task-service.ts';
import type { TaskRecord } from './task-types.ts';

const quiet = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const opened: OpenDatabaseResult[] = [];
afterEach(async () => {
  for (const database of opened.splice(0)) await database.close();
});

async function service(file?: string): Promise<{ tasks: TaskService; file: string }> {
  const dbFile = file ?? path.join(await mkdtemp(path.join(os.tmpdir(), 'lorasmith-tasks-')), 'lorasmith.db');
  const database = openDatabase(dbFile);
  opened.push(database);
  const tasks = new TaskService({ db: database.db, log: quiet });
  tasks.register(selftestTask);
  return { tasks, file: dbFile };
}

async function until(tasks: TaskService, id: string, states: string[]): Promise<TaskRecord> {
  for (let i = 0; i < 200; i++) {
    const record = await tasks.get(id);
    if (states.includes(record.state)) return record;
    await sleep(10);
  }
  throw new Error(`task ${id} never reached ${states.join('|')}`);
}

describe('TaskService', () => {
  it('runs a task through queued → running → succeeded, with ordered progress events and a persisted result', async () => {
    const { tasks } = await service();
    const seen: TaskRecord[] = [];
    tasks.subscribe(null, (record) => seen.push(record));
    const task = await tasks.start('selftest', { steps: 4, intervalMs: 1 });
    const done = await until(tasks, task.id, ['succeeded']);
    expect(done).toMatchObject({ progress: { done: 4, total: 4 }, result: { steps: 4 }, error: null });
    expect(seen[0]?.state).toBe('queued');
    expect(seen.map((r) => r.state)).toContain('running');
    expect(seen.at(-1)?.state).toBe('succeeded');
  });

  it('validates params with the kind’s schema and refuses unknown kinds', async () => {
    const { tasks } = await service();
    await expect(tasks.start('selftest', { steps: 0 })).rejects.toThrow();
    await expect(tasks.start('nope', {})).rejects.toThrow('no task kind');
  });

  it('respects per-kind concurrency and starts queued tasks as slots free up', async () => {
    const { tasks } = await service();
    const ids = await Promise.all([1, 2, 3].map(() => tasks.start('selftest', { steps: 3, intervalMs: 20 }).then((t) => t.id)));
    await sleep(15);
    const states = await Promise.all(ids.map(async (id) => (await tasks.get(id)).state));
    expect(states.filter((s) => s === 'running').length).toBeLessThanOrEqual(selftestTask.concurrency);
    for (const id of ids) await until(tasks, id, ['succeeded']);
  });

  it('cancel: a queued task is cancelled at once, a running one through its signal', async () => {
    const { tasks } = await service();
    const running = await tasks.start('selftest', { steps: 1000, intervalMs: 10 });
    await until(tasks, running.id, ['running']);
    expect((await tasks.cancel(running.id)).state).toBe('cancelled');
    // Fill the slots, then cancel one still queued.
    const a = await tasks.start('selftest', { steps: 1000, intervalMs: 10 });
    const b = await tasks.start('selftest', { steps: 1000, intervalMs: 10 });
    const queued = await tasks.start('selftest', { steps: 1000, intervalMs: 10 });
    expect((await tasks.get(queued.id)).state).toBe('queued');
    expect((await tasks.cancel(queued.id)).state).toBe('cancelled');
    await tasks.close();
    expect((await tasks.get(a.id)).state).toBe('interrupted');
    expect((await tasks.get(b.id)).state).toBe('interrupted');
  });

  it('a failure keeps a LorasmithError’s code and hint, and an unexpected error says only that it failed', async () => {
    const { tasks } = await service();
    tasks.register({ kind: 'known-failure', params: z.object({}), concurrency: 1, run: async () => { throw new LorasmithError({ code: 'disk-full', message: 'No space left.', hint: 'Free some space.' }); } });
    tasks.register({ kind: 'bug', params: z.object({}), concurrency: 1, run: async () => { throw new TypeError('undefined is not a function at /internal/path.ts:12'); } });
    const known = await until(tasks, (await tasks.start('known-failure', {})).id, ['failed']);
    expect(known.error).toEqual({ code: 'disk-full', message: 'No space left.', hint: 'Free some space.' });
    const bug = await until(tasks, (await tasks.start('bug', {})).id, ['failed']);
    expect(bug.error?.code).toBe('internal');
    expect(JSON.stringify(bug.error)).not.toContain('/internal/path.ts');
  });

  it('restart after a crash: tasks another process left running or queued become interrupted, with a reason', async () => {
    const first = await service();
    const running = await first.tasks.start('selftest', { steps: 1000, intervalMs: 10 });
    await until(first.tasks, running.id, ['running']);
    // The first process "dies" (no close); a new one opens the same database.
    const second = await service(first.file);
    const recovered = await second.tasks.recover();
    expect(recovered.map((r) => r.id)).toContain(running.id);
    const after = await second.tasks.get(running.id);
    expect(after.state).toBe('interrupted');
    expect(after.error?.message).toContain('stopped while this task was running');
  });

  it('restart: a kind marked requeue is queued again under the same id and runs to the end', async () => {
    const resumable = { kind: 'resumable', params: z.object({ steps: z.number() }), concurrency: 1, onRestart: 'requeue' as const };
    const first = await service();
    first.tasks.register({ ...resumable, run: async (_p, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))) });
    const task = await first.tasks.start('resumable', { steps: 1 });
    await until(first.tasks, task.id, ['running']);
    const second = await service(first.file);
    second.tasks.register({ ...resumable, run: async () => ({ resumed: true }) });
    const recovered = await second.tasks.recover();
    expect(recovered.find((r) => r.id === task.id)?.state).toBe('queued');
    const done = await until(second.tasks, task.id, ['succeeded']);
    expect(done.result).toEqual({ resumed: true });
  });
});
