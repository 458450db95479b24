/** The run manifest over real files: taken once, rechecked at start, every change named. */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRecord } from '../library/model-record.ts';
import type { RunConfig } from '../training/schema/index.ts';
import { manifestDigest, recheckManifest, takeManifest, type RunInputs } from './run-manifest.ts';

let dir: string;
let modelFile: string;
const record = { id: 'm1', name: 'base.safetensors', size: 4, hashes: { sha256: 'a'.repeat(64), autoV2: '', autoV1: null, sshsModelHash: null } } as unknown as ModelRecord;
const library = { get: async (id: string) => (id === 'm1' ? record : Promise.reject(new Error('gone'))), fileOf: async () => modelFile };

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-manifest-'));
  await mkdir(path.join(dir, 'dogs', 'dog'), { recursive: true });
  await writeFile(path.join(dir, 'dogs', 'dog', '1.png'), 'png-bytes');
  await writeFile(path.join(dir, 'dogs', 'dog', '1.txt'), 'a dog');
  modelFile = path.join(dir, 'base.safetensors');
  await writeFile(modelFile, 'abcd');
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const inputs = (files = ['dog/1.png', 'dog/1.txt']): RunInputs => ({ models: [{ role: 'base', id: 'm1' }], datasets: [{ name: 'dogs', dir: path.join(dir, 'dogs'), files }] });

describe('run manifest', () => {
  it('records hashes of the dataset files, the model, config, engine commit and seed', async () => {
    const manifest = await takeManifest({ jobId: 'j', engine: { id: 'kohya', commit: 'c0ffee' }, seed: 7, config: { kind: 'kohya' } as RunConfig, inputs: inputs(), library });
    expect(manifest).toMatchObject({ version: 1, jobId: 'j', seed: 7, engine: { commit: 'c0ffee' }, models: [{ role: 'base', id: 'm1', sha256: 'a'.repeat(64), size: 4 }] });
    expect(manifest.datasets[0]?.files).toEqual([
      { path: 'dog/1.png', size: 9, sha256: createHash('sha256').update('png-bytes').digest('hex') },
      { path: 'dog/1.txt', size: 5, sha256: createHash('sha256').update('a dog').digest('hex') },
    ]);
    await expect(recheckManifest({ manifest, inputs: inputs(), library })).resolves.toBeUndefined();
    expect(manifestDigest(manifest)).toBe(manifestDigest(await takeManifest({ jobId: 'other', engine: { id: 'kohya', commit: null }, seed: 1, config: { kind: 'kohya' } as RunConfig, inputs: inputs(), library })));
  });

  it('a caption edited, an image added or the model gone fails the recheck, naming each', async () => {
    const manifest = await takeManifest({ jobId: 'j', engine: { id: 'kohya', commit: null }, seed: 7, config: { kind: 'kohya' } as RunConfig, inputs: inputs(), library });
    await writeFile(path.join(dir, 'dogs', 'dog', '1.txt'), 'a cat');
    await writeFile(path.join(dir, 'dogs', 'dog', '2.png'), 'more');
    const error = await recheckManifest({ manifest, inputs: inputs(['dog/1.png', 'dog/1.txt', 'dog/2.png']), library: { ...library, get: async () => Promise.reject(new Error('gone')) } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'manifest-mismatch', details: { changes: ['model base.safetensors (base) is gone from the library', 'dogs/dog/1.txt changed', 'dogs/dog/2.png added'] } });
  });
});
