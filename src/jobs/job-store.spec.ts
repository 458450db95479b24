/** The jobs tables on a real SQLite database: slot claims all-or-nothing, guarded transitions, queue order, locks. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabaseResult } from '../core/db/open-database.ts';
import type { RunConfig } from '../training/schema/index.ts';
import { datasetLockReason } from './dataset-locks.ts';
import { JobStore, type NewJob } from './job-store.ts';
import { jobsDb } from './job-tables.ts';

let dir: string;
let database: OpenDatabaseResult;
let store: JobStore;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-job-store-'));
  database = openDatabase(path.join(dir, 'lorasmith.db'));
  store = new JobStore({ db: jobsDb(database.db) });
});
afterAll(async () => {
  await database.close();
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
async function job(overrides: Partial<NewJob> = {}): Promise<string> {
  const id = `job-${++counter}`;
  await store.insert({
    id,
    engine: 'kohya',
    name: id,
    family: 'sd1',
    config: { kind: 'kohya' } as RunConfig,
    seed: 1,
    datasets: ['dogs'],
    device: 'gpu',
    gpuRequest: { count: 1 },
    allowUnsandboxed: false,
    resumedFrom: null,
    resumeState: null,
    manifestSha256: 'x',
    ...overrides,
  });
  return id;
}

describe('JobStore', () => {
  it('a claim takes every slot of the set or none, and moves the job to starting', async () => {
    const a = await job();
    const b = await job();
    expect(await store.claim(a, ['0', '1'])).toBe(true);
    expect(await store.claim(b, ['1', '2'])).toBe(false);
    expect([...(await store.claimedSlots())].sort()).toEqual(['0', '1']);
    expect((await store.get(b)).state).toBe('queued');
    expect(await store.get(a)).toMatchObject({ state: 'starting', slots: ['0', '1'], position: null });
    expect(await store.claim(a, ['3'])).toBe(false);
    await store.release(a);
    expect(await store.claim(b, ['1', '2'])).toBe(true);
  });

  it('transitions happen only from the states they name', async () => {
    const id = await job();
    expect(await store.transition(id, ['running'], 'stopping')).toBe(false);
    expect(await store.transition(id, ['queued'], 'cancelled', { failure_code: 'cancelled', failure_message: 'Cancelled.' })).toBe(true);
    expect(await store.get(id)).toMatchObject({ state: 'cancelled', failure: { code: 'cancelled', message: 'Cancelled.' } });
  });

  it('move renumbers the queue; positions follow; only queued jobs move', async () => {
    await store.releaseStale();
    const queued = (await store.queued()).map((row) => row.id);
    for (const id of queued) await store.transition(id, ['queued'], 'cancelled');
    const [x, y, z] = [await job(), await job(), await job()];
    await store.move(z, 1);
    expect((await store.queued()).map((row) => row.id)).toEqual([z, x, y]);
    expect((await store.get(y)).position).toBe(3);
    const later = await job();
    expect((await store.queued()).map((row) => row.id)).toEqual([z, x, y, later]);
    await store.transition(x, ['queued'], 'cancelled');
    await expect(store.move(x, 1)).rejects.toMatchObject({ code: 'job-not-queued' });
  });

  it('a dataset is locked while a job that uses it has not ended', async () => {
    const id = await job({ datasets: ['cats', 'cats'] });
    expect(await datasetLockReason(database.db, 'cats')).toContain(id);
    await store.transition(id, ['queued'], 'failed');
    await store.releaseStale();
    expect(await datasetLockReason(database.db, 'cats')).toBeUndefined();
  });

  it('releaseSlots frees the GPUs for the next run but keeps the dataset locked until the release', async () => {
    await store.releaseStale();
    const a = await job({ datasets: ['birds'] });
    const b = await job();
    expect(await store.claim(a, ['5'])).toBe(true);
    await store.releaseSlots(a);
    expect(await store.claimedSlots()).not.toContain('5');
    expect(await datasetLockReason(database.db, 'birds')).toContain(a);
    expect(await store.claim(b, ['5'])).toBe(true);
    await store.release(a);
    expect(await datasetLockReason(database.db, 'birds')).toBeUndefined();
    expect(await store.claimedSlots()).toContain('5');
  });

  it('events, the cursor and the events.jsonl length are committed together', async () => {
    const id = await job();
    await store.commitEvents(id, { events: [{ seq: 1, at: 't', event: { kind: 'state', state: 'queued' } }], cursor: { segment: 2, offset: 40 }, eventsBytes: 77 });
    const row = await store.row(id);
    expect([row.event_seq, row.event_segment, row.event_offset, row.events_bytes]).toEqual([1, 2, 40, 77]);
    expect(await store.events(id)).toEqual([{ seq: 1, at: 't', event: { kind: 'state', state: 'queued' } }]);
    await expect(store.commitEvents(id, { events: [{ seq: 1, at: 't', event: { kind: 'state', state: 'queued' } }], cursor: { segment: 3, offset: 0 }, eventsBytes: 99 })).rejects.toThrow();
    expect((await store.row(id)).event_segment).toBe(2);
  });
});
