import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabaseResult } from '../../core/db/open-database.ts';
import { createLogger } from '../../core/logger.ts';
import { TaskService } from '../../tasks/task-service.ts';
import type { TaskContext, TaskRecord } from '../../tasks/task-types.ts';
import { listCaptionUndo, undoCaptionEdit } from '../captions/index.ts';
import { tagDatasetParamsSchema, tagDatasetTask, type TagDatasetParams } from './tag-dataset-task.ts';
import { FAKE_TAGS, solidPng, writeFakeTagger } from './testing.ts';

const quiet = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });
let modelDir: string;

beforeAll(async () => {
  modelDir = path.join(await mkdtemp(path.join(tmpdir(), 'tagger-lib-')), 'wd-fake-tagger');
  await writeFakeTagger({ dir: modelDir, tags: FAKE_TAGS });
});

/** `10_sub/{a,b,c}.png` (c already captioned) and `other/d.png`. */
async function dataset(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tag-dataset-'));
  await mkdir(path.join(dir, '10_sub'));
  await mkdir(path.join(dir, 'other'));
  await solidPng({ file: path.join(dir, '10_sub', 'a.png'), width: 32, height: 32, rgb: [255, 0, 0] });
  await solidPng({ file: path.join(dir, '10_sub', 'b.png'), width: 32, height: 32, rgb: [0, 0, 255] });
  await solidPng({ file: path.join(dir, '10_sub', 'c.png'), width: 32, height: 32, rgb: [255, 0, 0] });
  await writeFile(path.join(dir, '10_sub', 'c.txt'), 'mine, solo\n');
  await solidPng({ file: path.join(dir, 'other', 'd.png'), width: 32, height: 32, rgb: [0, 0, 255] });
  return dir;
}

const caption = (dir: string, name: string) => readFile(path.join(dir, name), 'utf8').catch(() => null);

function context(signal = new AbortController().signal) {
  const progress: Array<Parameters<TaskContext['progress']>[0]> = [];
  const details: string[] = [];
  const ctx: TaskContext = { id: 't1', signal, log: quiet, progress: (p) => progress.push(p), detail: (d) => details.push(d) };
  return { ctx, progress, details };
}

const params = (input: Record<string, unknown>): TagDatasetParams => tagDatasetParamsSchema.parse({ modelDir, ...input });

describe('dataset-tag task', () => {
  it('skip (the default) captions only uncaptioned images, with progress per image, in one undoable edit', async () => {
    const dir = await dataset();
    const { ctx, progress, details } = context();
    const result = await tagDatasetTask.run(params({ datasetDir: dir }), ctx);
    expect(result).toMatchObject({ images: 4, tagged: 3, skipped: 1, changed: 3, failed: [] });
    expect(await caption(dir, '10_sub/a.txt')).toBe('red theme, solo, ^_^, hatsune miku\n');
    expect(await caption(dir, '10_sub/b.txt')).toBe('blue theme, solo, ^_^, hatsune miku\n');
    expect(await caption(dir, '10_sub/c.txt')).toBe('mine, solo\n');
    expect(await caption(dir, 'other/d.txt')).toBe('blue theme, solo, ^_^, hatsune miku\n');
    expect(progress[0]).toMatchObject({ done: 0, total: 3 });
    expect(progress.slice(1).map((p) => [p.done, p.message])).toEqual([
      [1, '10_sub/a.png'],
      [2, '10_sub/b.png'],
      [3, 'other/d.png'],
    ]);
    expect(details).toEqual(['listing images', 'tagging', 'writing captions']);

    const [entry] = await listCaptionUndo({ datasetDir: dir });
    expect(entry).toMatchObject({ label: 'auto-tag with wd-fake-tagger (skip)', files: 3 });
    await undoCaptionEdit({ datasetDir: dir, id: entry?.id ?? '' });
    expect(await caption(dir, '10_sub/a.txt')).toBeNull();
  });

  it('overwrite replaces existing captions; the trigger word goes first', async () => {
    const dir = await dataset();
    await tagDatasetTask.run(params({ datasetDir: dir, subset: '10_sub', mode: 'overwrite', triggerWord: 'sks', rating: 'last' }), context().ctx);
    expect(await caption(dir, '10_sub/c.txt')).toBe('sks, red theme, solo, ^_^, hatsune miku, explicit\n');
    expect(await caption(dir, 'other/d.txt')).toBeNull();
  });

  it('append keeps existing tags and adds the new ones once; the trigger word still goes first', async () => {
    const dir = await dataset();
    const result = await tagDatasetTask.run(params({ datasetDir: dir, subset: '10_sub', mode: 'append', triggerWord: 'sks', exclude: ['^_^'] }), context().ctx);
    expect(await caption(dir, '10_sub/c.txt')).toBe('sks, mine, solo, red theme, hatsune miku\n');
    expect(await caption(dir, '10_sub/a.txt')).toBe('sks, red theme, solo, hatsune miku\n');
    expect(result).toMatchObject({ tagged: 3, skipped: 0, changed: 3 });
  });

  it('running again with the same settings changes nothing', async () => {
    const dir = await dataset();
    await tagDatasetTask.run(params({ datasetDir: dir, mode: 'overwrite' }), context().ctx);
    const again = await tagDatasetTask.run(params({ datasetDir: dir, mode: 'overwrite' }), context().ctx);
    expect(again).toMatchObject({ changed: 0, undoId: null });
  });

  it('reports an undecodable image by its dataset name and captions the rest', async () => {
    const dir = await dataset();
    await writeFile(path.join(dir, 'other', 'e.png'), 'not a png');
    const result = await tagDatasetTask.run(params({ datasetDir: dir, subset: 'other' }), context().ctx);
    expect(result).toMatchObject({ tagged: 1, failed: [{ image: 'other/e.png', code: 'tagger-image-unreadable' }] });
    expect(await caption(dir, 'other/e.txt')).toBeNull();
  });

  it('a cancel writes no caption and no undo entry', async () => {
    const dir = await dataset();
    const controller = new AbortController();
    const { ctx } = context(controller.signal);
    const cancelling = { ...ctx, progress: (p: { done: number }) => p.done === 1 && controller.abort() };
    await expect(tagDatasetTask.run(params({ datasetDir: dir, batchSize: 1 }), cancelling)).rejects.toMatchObject({ code: 'cancelled' });
    expect(await caption(dir, '10_sub/a.txt')).toBeNull();
    expect(await listCaptionUndo({ datasetDir: dir })).toEqual([]);
  });

  it('params: absolute paths only; mode defaults to skip; unknown keys refused', () => {
    expect(tagDatasetParamsSchema.safeParse({ datasetDir: 'relative', modelDir }).success).toBe(false);
    expect(tagDatasetParamsSchema.parse({ datasetDir: '/data/x', modelDir }).mode).toBe('skip');
    expect(tagDatasetParamsSchema.safeParse({ datasetDir: '/data/x', modelDir, mystery: 1 }).success).toBe(false);
    expect(tagDatasetTask).toMatchObject({ kind: 'dataset-tag', concurrency: 1 });
  });
});

describe('dataset-tag through the task service', () => {
  const opened: OpenDatabaseResult[] = [];
  afterEach(async () => {
    for (const database of opened.splice(0)) await database.close();
  });

  async function until(tasks: TaskService, id: string, states: string[]): Promise<TaskRecord> {
    for (let i = 0; i < 1000; i++) {
      const record = await tasks.get(id);
      if (states.includes(record.state)) return record;
      await sleep(10);
    }
    throw new Error(`task ${id} never reached ${states.join('|')}`);
  }

  it('runs to succeeded with progress and a result', async () => {
    const database = openDatabase(path.join(await mkdtemp(path.join(tmpdir(), 'tag-db-')), 'lorasmith.db'));
    opened.push(database);
    const tasks = new TaskService({ db: database.db, log: quiet });
    tasks.register(tagDatasetTask);
    const dir = await dataset();
    const task = await tasks.start('dataset-tag', { datasetDir: dir, modelDir });
    const done = await until(tasks, task.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ state: 'succeeded', progress: { done: 3, total: 3 }, result: { tagged: 3, changed: 3 } });
  });
});
