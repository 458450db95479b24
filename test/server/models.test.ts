/** Models over HTTP: upload → scan → library through the upload protocol and the import task; records and headers. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRecord } from '../../src/library/model-record.ts';
import type { TaskRecord } from '../../src/tasks/task-types.ts';
import { maliciousPickle, sd1LoraSafetensors } from '../helpers/model-files.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let cookie: string;
let csrf: string;
beforeAll(async () => {
  studio = await startTestStudio();
  cookie = await studio.pair();
  csrf = (await studio.asPage({ path: '/api/session' }, cookie)).json<{ csrfToken: string }>().csrfToken;
});
afterAll(async () => studio.stop());

async function upload(name: string, bytes: Uint8Array): Promise<TaskRecord> {
  const headers = { 'x-lorasmith-upload': csrf };
  const created = (await studio.asPage({ path: '/api/uploads', method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name, size: bytes.length, kind: 'model' }) }, cookie)).json<{ id: string }>();
  const put = await studio.asPage(
    { path: `/api/uploads/${created.id}`, method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream', 'content-range': `bytes 0-${bytes.length - 1}/${bytes.length}` }, body: Buffer.from(bytes) },
    cookie,
  );
  expect(put.status).toBe(200);
  const done = (await studio.asPage({ path: `/api/uploads/${created.id}/complete`, method: 'POST', headers }, cookie)).json<{ result: { taskId: string } }>();
  for (;;) {
    const task = (await studio.asPage({ path: `/api/tasks/${done.result.taskId}` }, cookie)).json<TaskRecord>();
    if (['succeeded', 'failed', 'cancelled', 'interrupted'].includes(task.state)) return task;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function libraryFiles(): Promise<string[]> {
  const entries = await readdir(path.join(studio.home, 'models'), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

describe('models API', () => {
  it('an uploaded LoRA is imported by a task and listed with its record and header', async () => {
    const task = await upload('sks_dog.safetensors', sd1LoraSafetensors());
    expect(task).toMatchObject({ kind: 'model-import', state: 'succeeded', detail: 'storing' });
    const model = (task.result as { model: ModelRecord }).model;
    const listed = (await studio.asPage({ path: '/api/models' }, cookie)).json<{ models: ModelRecord[] }>().models;
    expect(listed.map((m) => m.id)).toEqual([model.id]);
    expect(listed[0]).toMatchObject({ kind: 'lora', family: 'sd1', source: { type: 'upload', converted: null } });
    const header = (await studio.asPage({ path: `/api/models/${model.id}/header` }, cookie)).json<{ tensors: Array<{ name: string; shape: number[] }>; metadata: Record<string, string>; dtypes: Record<string, { count: number }> }>();
    expect(header.tensors).toHaveLength(12);
    expect(header.metadata.ss_output_name).toBe('sks_dog');
    expect(header.dtypes.F16?.count).toBe(12);
  });

  it('a booby-trapped .ckpt upload fails its task as unsafe and nothing enters the library or stays in quarantine', async () => {
    const task = await upload('model.ckpt', maliciousPickle());
    expect(task.state).toBe('failed');
    expect(task.error).toMatchObject({ code: 'unsafe', message: expect.stringContaining('posix.system') });
    expect(await libraryFiles()).toEqual(['sks_dog.safetensors']);
    expect(await readdir(path.join(studio.home, 'quarantine', 'uploads'))).toEqual([]);
  });

  it('a real torch checkpoint upload is converted', async () => {
    const { readFile } = await import('node:fs/promises');
    const task = await upload('arange4.pt', await readFile(path.resolve('test/fixtures/torch/arange4.pt')));
    expect(task.state).toBe('succeeded');
    expect((task.result as { model: ModelRecord }).model).toMatchObject({ name: 'arange4.safetensors', source: { converted: { from: 'torch-zip' } } });
  });

  it('DELETE removes a model; unknown ids are 404 in the error shape', async () => {
    const [model] = (await studio.asPage({ path: '/api/models' }, cookie)).json<{ models: ModelRecord[] }>().models;
    expect((await studio.asPage({ path: `/api/models/${model?.id}`, method: 'DELETE' }, cookie)).status).toBe(204);
    const missing = await studio.asPage({ path: `/api/models/${model?.id}` }, cookie);
    expect(missing.status).toBe(404);
    expect(missing.json<{ error: { code: string } }>().error.code).toBe('model-not-found');
  });
});
