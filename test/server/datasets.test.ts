/** Datasets over HTTP against the real server: zip upload → import task → gallery, captions, bulk edits with undo, lint, plan. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngImage } from '../../src/datasets/images/testing.ts';
import { buildTestZip } from '../../src/formats/zip/testing.ts';
import type { TaskRecord } from '../../src/tasks/task-types.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let cookie: string;
let csrf: string;
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  studio = await startTestStudio();
  cookie = await studio.pair();
  csrf = (await studio.asPage({ path: '/api/session' }, cookie)).json<{ csrfToken: string }>().csrfToken;
});
afterAll(async () => studio.stop());

async function upload(body: Record<string, unknown>, bytes: Buffer) {
  const headers = { 'x-lorasmith-upload': csrf };
  const created = await studio.asPage({ path: '/api/uploads', method: 'POST', headers: { ...headers, ...json }, body: JSON.stringify({ ...body, size: bytes.length }) }, cookie);
  if (created.status !== 200) return created;
  const { id } = created.json<{ id: string }>();
  await studio.asPage({ path: `/api/uploads/${id}`, method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream', 'content-range': `bytes 0-${bytes.length - 1}/${bytes.length}` }, body: bytes }, cookie);
  return studio.asPage({ path: `/api/uploads/${id}/complete`, method: 'POST', headers }, cookie);
}

async function finished(taskId: string): Promise<TaskRecord> {
  for (;;) {
    const task = (await studio.asPage({ path: `/api/tasks/${taskId}` }, cookie)).json<TaskRecord>();
    if (['succeeded', 'failed', 'cancelled', 'interrupted'].includes(task.state)) return task;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const page = (path: string, method = 'GET', body?: unknown) =>
  studio.asPage({ path, method, ...(body === undefined ? {} : { headers: json, body: JSON.stringify(body) }) }, cookie);

describe('datasets API', () => {
  it('a zip upload becomes a dataset through the import task, with the report of what was skipped', async () => {
    const zip = buildTestZip({
      entries: [
        { name: 'a.png', data: await pngImage(64, 48, 1) },
        { name: 'a.txt', data: 'sks dog, grass, sky' },
        { name: '10_sks dog/b.png', data: await pngImage(48, 64, 2) },
        { name: '10_sks dog/b.txt', data: 'sks dog, indoors' },
        { name: '.DS_Store', data: 'junk' },
        { name: 'notes.pdf', data: '%PDF-1.4' },
      ],
    });
    const completed = await upload({ name: 'dogs.zip', kind: 'zip', target: { dataset: 'dogs' } }, zip);
    expect(completed.status).toBe(200);
    const task = await finished(completed.json<{ result: { taskId: string } }>().result.taskId);
    expect(task).toMatchObject({ kind: 'dataset-import', state: 'succeeded' });
    const report = (task.result as { report: { skipped: Array<{ path: string }>; images: unknown[] } }).report;
    expect(report.images).toHaveLength(2);
    expect(report.skipped.map((s) => s.path).sort()).toEqual(['.DS_Store', 'notes.pdf']);
    const shown = (await page('/api/datasets/dogs')).json<{ subsets: Array<{ name: string; repeats: number; classTokens: string }>; images: Array<{ subset: string; file: string; caption: boolean }> }>();
    expect(shown.subsets).toEqual(expect.arrayContaining([expect.objectContaining({ name: '10_sks dog', repeats: 10, classTokens: 'sks dog' }), expect.objectContaining({ name: 'main', repeats: 1 })]));
    expect(shown.images.every((image) => image.caption)).toBe(true);
  });

  it('a zip whose target name is taken is refused before any byte is sent; a traversal zip fails its task and creates nothing', async () => {
    const taken = await upload({ name: 'again.zip', kind: 'zip', target: { dataset: 'dogs' } }, Buffer.from('PK'));
    expect(taken.status).toBeGreaterThanOrEqual(400);
    const evil = buildTestZip({ entries: [{ name: 'a.png', data: await pngImage() }, { name: '../x', data: 'x' }] });
    const completed = await upload({ name: 'evil.zip', kind: 'zip', target: { dataset: 'evil' } }, evil);
    const task = await finished(completed.json<{ result: { taskId: string } }>().result.taskId);
    expect(task.state).toBe('failed');
    expect((await page('/api/datasets')).json<{ datasets: Array<{ name: string }> }>().datasets.map((d) => d.name)).toEqual(['dogs']);
  });

  it('serves thumbnails and images by id, never by path', async () => {
    const thumb = await page('/api/datasets/dogs/thumbs/main/a.png');
    expect(thumb.status).toBe(200);
    expect(thumb.headers['content-type']).toBe('image/webp');
    expect((await page('/api/datasets/dogs/images/main/a.png')).headers['content-type']).toBe('image/png');
    for (const attempt of ['/api/datasets/dogs/images/main/..%2F..%2F..%2Florasmith.db', '/api/datasets/dogs/images/%2E%2E/a.png', '/api/datasets/..%2Fmodels/images/main/a.png', '/api/datasets/dogs/images/.lorasmith/meta.json']) {
      const response = await page(attempt);
      expect([400, 404], attempt).toContain(response.status);
    }
  });

  it('captions: read, write, bulk preview and apply, tag frequencies, filter, exact undo', async () => {
    const caption = (await page('/api/datasets/dogs/captions/main/a.png')).json<{ tags: string[] }>();
    expect(caption.tags).toEqual(['sks dog', 'grass', 'sky']);
    const edit = { op: 'add-trigger', trigger: 'ohwx' };
    const preview = (await page('/api/datasets/dogs/captions/preview', 'POST', { edit })).json<{ changes: Array<{ after: string }> }>();
    expect(preview.changes).toHaveLength(2);
    expect((await page('/api/datasets/dogs/captions/main/a.png')).json<{ text: string }>().text).toBe('sks dog, grass, sky');
    const applied = (await page('/api/datasets/dogs/captions/apply', 'POST', { edit })).json<{ undoId: string }>();
    expect(applied.undoId).toBeTruthy();
    expect((await page('/api/datasets/dogs/captions/main/a.png')).json<{ text: string }>().text).toBe('ohwx, sks dog, grass, sky');
    const frequency = (await page('/api/datasets/dogs/tags')).json<{ tags: Array<{ tag: string; images: number }> }>();
    expect(frequency.tags.slice(0, 2)).toEqual([{ tag: 'ohwx', images: 2 }, { tag: 'sks dog', images: 2 }]);
    expect((await page('/api/datasets/dogs/filter?all=grass')).json<{ images: string[] }>().images).toEqual(['main/a.png']);
    const undone = (await page('/api/datasets/dogs/captions/undo', 'POST', {})).json<{ restored: number }>();
    expect(undone.restored).toBe(2);
    expect((await page('/api/datasets/dogs/captions/main/a.png')).json<{ text: string }>().text).toBe('sks dog, grass, sky');
    const written = await page('/api/datasets/dogs/captions/main/a.png', 'PUT', { text: 'a photo of sks dog' });
    expect(written.status).toBe(200);
  });

  it('a regex replace runs in its worker over the captions (the time budget itself is tested in captions.spec)', async () => {
    const response = await page('/api/datasets/dogs/captions/preview', 'POST', { edit: { op: 'replace', find: 'photo of (\\w+)', replacement: 'picture of $1', regex: true } });
    expect(response.status).toBe(200);
    expect(response.json<{ changes: Array<{ after: string }> }>().changes.map((c) => c.after)).toEqual(['a picture of sks dog']);
    const bad = await page('/api/datasets/dogs/captions/preview', 'POST', { edit: { op: 'replace', find: '(', replacement: '', regex: true } });
    expect(bad.status).toBe(400);
  });

  it('lint and plan answer for the dataset', async () => {
    const lint = (await page('/api/datasets/dogs/lint', 'POST', { resolution: 512, trigger: 'ohwx' })).json<{ findings: Array<{ code: string; image: string }> }>();
    expect(lint.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['image-below-resolution', 'trigger-missing']));
    const plan = (await page('/api/datasets/dogs/plan', 'POST', { resolution: 512, enableBucket: true, minBucketReso: 256, maxBucketReso: 1024, bucketResoSteps: 64, bucketNoUpscale: true, batchSize: 1, gradientAccumulationSteps: 1, maxTrainEpochs: 2 })).json<{ steps: { stepsPerEpoch: number; maxTrainSteps: number }; buckets: unknown[] }>();
    expect(plan.steps.stepsPerEpoch).toBe(11);
    expect(plan.steps.maxTrainSteps).toBe(22);
  });

  it('single images join a subset; rename and delete', async () => {
    const added = await upload({ name: 'c.PNG', kind: 'image', target: { dataset: 'dogs', subset: 'extra' } }, await pngImage(40, 40, 3));
    expect(added.json<{ result: { image: { subset: string; file: string } } }>().result.image).toMatchObject({ subset: 'extra', file: 'c.png' });
    const missing = await upload({ name: 'd.png', kind: 'image', target: { dataset: 'nope' } }, await pngImage());
    expect(missing.status).toBe(404);
    expect((await page('/api/datasets/dogs', 'PATCH', { name: 'good-dogs' })).status).toBe(200);
    expect((await page('/api/datasets/good-dogs', 'DELETE')).status).toBe(204);
    expect((await page('/api/datasets')).json<{ datasets: unknown[] }>().datasets).toEqual([]);
  });
});
