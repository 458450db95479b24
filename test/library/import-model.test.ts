/** The library import pipeline (DESIGN.md §3, PKL-R02) on real files in a real workspace. */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSafetensorsFile } from '../../src/formats/safetensors/index.ts';
import { importModel } from '../../src/library/import-model.ts';
import { openStudio, type Studio } from '../../src/studio/studio.ts';
import { createLogger } from '../../src/core/logger.ts';
import { Writable } from 'node:stream';
import { maliciousPickle, sd1LoraSafetensors } from '../helpers/model-files.ts';
import { makeHome } from '../helpers/studio.ts';

let studio: Studio;
const fixtures = path.resolve('test/fixtures/torch');
const expected = JSON.parse(await readFile(path.join(fixtures, 'expected.json'), 'utf8')) as Record<string, Record<string, { hex?: string }>>;

beforeAll(async () => {
  studio = await openStudio({ home: await makeHome(), log: createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) }) });
});
afterAll(async () => studio.close());

async function stage(name: string, bytes: Uint8Array | string): Promise<string> {
  const dir = path.join(studio.workspace.paths.areas.quarantine, 'test', String(Math.random()).slice(2));
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  if (typeof bytes === 'string') await copyFile(bytes, file);
  else await writeFile(file, bytes);
  return file;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

const deps = () => ({ workspace: studio.workspace, library: studio.library, securityEvents: studio.securityEvents });

describe('importModel', () => {
  it('a safetensors LoRA enters models/lora/local/<sha12>/-/ with fingerprint and hashes', async () => {
    const bytes = sd1LoraSafetensors();
    const staged = await stage('sks_dog.safetensors', bytes);
    const steps: string[] = [];
    const { model, duplicate } = await importModel({ ...deps(), file: staged, name: 'sks_dog.safetensors', source: { type: 'local' }, step: (s) => steps.push(s) });
    expect(duplicate).toBe(false);
    expect(steps).toEqual(['scanning', 'fingerprinting', 'hashing', 'storing']);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(model).toMatchObject({ kind: 'lora', family: 'sd1', format: 'safetensors', tensorCount: 12, hashes: { sha256, autoV2: sha256.slice(0, 10) } });
    expect(model.lora).toMatchObject({ rank: 4, alpha: 2, naming: 'kohya' });
    expect(model.lora?.targets).toMatchObject({ unet: 3, lora_te: 1 });
    const file = await studio.library.fileOf(model.id);
    expect(file).toBe(path.join(studio.workspace.paths.areas.models, 'lora', 'local', sha256.slice(0, 12), '-', 'sks_dog.safetensors'));
    expect((await readFile(file)).equals(bytes)).toBe(true);
    expect(await filesUnder(path.dirname(staged))).toEqual([]);
  });

  it('the same bytes again are a duplicate: nothing new stored, the copy removed', async () => {
    const staged = await stage('again.safetensors', sd1LoraSafetensors());
    const before = await studio.library.list();
    const { duplicate, model } = await importModel({ ...deps(), file: staged, name: 'again.safetensors', source: { type: 'upload' } });
    expect(duplicate).toBe(true);
    expect(model.name).toBe('sks_dog.safetensors');
    expect(await studio.library.list()).toHaveLength(before.length);
    expect(await filesUnder(path.dirname(staged))).toEqual([]);
  });

  it('PKL-R02: a genuine torch.save checkpoint is converted; the library holds safetensors with the original’s hash', async () => {
    const original = path.join(fixtures, 'state-dict.pt');
    const staged = await stage('state-dict.pt', original);
    const { model } = await importModel({ ...deps(), file: staged, name: 'state-dict.pt', source: { type: 'local' } });
    expect(model.name).toBe('state-dict.safetensors');
    expect(model.format).toBe('safetensors');
    expect(model.source.converted).toEqual({ from: 'torch-zip', originalName: 'state-dict.pt', originalSha256: createHash('sha256').update(await readFile(original)).digest('hex') });
    // No original left in quarantine, and the converted values are the saved ones.
    expect(await filesUnder(path.dirname(staged))).toEqual([]);
    const stored = await readFile(await studio.library.fileOf(model.id));
    const validation = await validateSafetensorsFile({ path: await studio.library.fileOf(model.id) });
    if (!validation.ok) throw new Error(validation.reason.message);
    const want = expected['state-dict'] ?? {};
    expect(Object.keys(want).length).toBeGreaterThan(5);
    for (const tensor of validation.header.tensors) {
      const bytes = stored.subarray(validation.header.dataStart + Number(tensor.begin), validation.header.dataStart + Number(tensor.end));
      if (want[tensor.name]?.hex !== undefined) expect(bytes.toString('hex'), tensor.name).toBe(want[tensor.name]?.hex);
    }
  });

  it('with keepOriginal the converted checkpoint’s original stays in quarantine', async () => {
    const staged = await stage('legacy.pt', path.join(fixtures, 'state-dict-legacy.pt'));
    const { model } = await importModel({ ...deps(), file: staged, name: 'legacy.pt', source: { type: 'local' }, keepOriginal: true });
    expect(model.source.converted?.from).toBe('torch-legacy');
    expect(await filesUnder(path.dirname(staged))).toEqual([staged]);
  });

  it('PKL-A02 served as .ckpt is refused as unsafe with the label; nothing enters models/, the copy is deleted', async () => {
    const before = await filesUnder(studio.workspace.paths.areas.models);
    const staged = await stage('model.ckpt', maliciousPickle());
    const failure = await importModel({ ...deps(), file: staged, name: 'model.ckpt', source: { type: 'upload' } }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'unsafe', exitCode: 1 });
    expect(String((failure as Error).message)).toContain('posix.system');
    expect(await filesUnder(studio.workspace.paths.areas.models)).toEqual(before);
    expect(await filesUnder(path.dirname(staged))).toEqual([]);
    expect((await studio.securityEvents.list()).find((event) => event.kind === 'file-refused')?.detail).toContain('model.ckpt: unsafe');
  });

  it('a malformed safetensors file is invalid; HTML served as a model is unsupported; a raw pickle has nothing to convert', async () => {
    const broken = sd1LoraSafetensors().subarray(0, 200);
    for (const [name, bytes, code] of [
      ['broken.safetensors', broken, 'invalid'],
      ['model.safetensors', Buffer.from('<!DOCTYPE html><html><body>Sign in</body></html>'), 'unsupported'],
      ['dict.pkl', await readFile(path.join(fixtures, 'dict-p4.pkl')), 'unsupported'],
    ] as const) {
      const staged = await stage(name, bytes);
      await expect(importModel({ ...deps(), file: staged, name, source: { type: 'upload' } })).rejects.toMatchObject({ code });
      expect(await filesUnder(path.dirname(staged))).toEqual([]);
    }
  });

  it('--kind is a check, never an override', async () => {
    const staged = await stage('lora.safetensors', sd1LoraSafetensors());
    await expect(importModel({ ...deps(), file: staged, name: 'lora.safetensors', source: { type: 'local' }, expectedKind: 'checkpoint' })).rejects.toMatchObject({ code: 'kind-mismatch' });
  });

  it('remove deletes the record and its folder', async () => {
    const [model] = await studio.library.list();
    if (model === undefined) throw new Error('library empty');
    const file = await studio.library.fileOf(model.id);
    await studio.library.remove(model.id);
    await expect(studio.library.get(model.id)).rejects.toMatchObject({ code: 'model-not-found' });
    await expect(readFile(file)).rejects.toThrow();
  });
});
