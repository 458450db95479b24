/**
 * importModelSet's explicit main file: a caller that knows which file the entry is (a run's output beside its
 * companions) names it, so a larger companion cannot make the entry something else. Real SQLite, real files:
 * FluxFlow's checkpoint (diffuser keys only) and its text encoder, which is the larger file.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecurityEvents } from '../access/security-events.ts';
import { openDatabase, type OpenDatabaseResult } from '../core/db/open-database.ts';
import { openWorkspace, type Workspace } from '../core/workspace.ts';
import { writeSafetensors, type SafetensorsTensorInput } from '../formats/safetensors/index.ts';
import { importModelSet, sha256OfFile, type ImportModelSetParams } from './import-model-set.ts';
import { ModelLibrary } from './model-library.ts';

const F32 = (name: string, shape: number[], fill: number): SafetensorsTensorInput => {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill);
  return { name, dtype: 'F32', shape, data: new Uint8Array(values.buffer) };
};

let home: string;
let workspace: Workspace;
let database: OpenDatabaseResult;
let library: ModelLibrary;
let securityEvents: SecurityEvents;

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'lorasmith-model-set-'));
  workspace = await openWorkspace({ home });
  database = openDatabase(workspace.paths.db);
  library = new ModelLibrary({ db: database.db, workspace });
  securityEvents = new SecurityEvents(database.db);
});

afterAll(async () => {
  await database.close();
  await rm(home, { recursive: true, force: true });
});

/** A quarantine folder holding one FluxFlow save (seeded, so each test's files differ) and a JSON note. */
async function fluxflowSave(seed: number): Promise<string> {
  const staging = path.join(workspace.paths.areas.quarantine, randomUUID());
  await mkdir(staging, { mode: 0o700 });
  await writeSafetensors({
    path: path.join(staging, 'flxflow_final.safetensors'),
    tensors: [F32('diffuser.flow_processor.vae_to_dmodel.weight', [32, 16], seed), F32('diffuser.compressor.latent_proj.0.0.weight', [80, 16], seed)],
  });
  await writeSafetensors({ path: path.join(staging, 'text_encoder.safetensors'), tensors: [F32('text_encoder.language_model.embeddings.word_embeddings.weight', [4096, 8], seed)] });
  await writeFile(path.join(staging, 'notes.json'), '{"steps": 9}');
  return staging;
}

function params(staging: string, job: string, extra: Partial<ImportModelSetParams> = {}): ImportModelSetParams {
  return {
    workspace,
    library,
    securityEvents,
    staging,
    files: ['flxflow_final.safetensors', 'text_encoder.safetensors', 'notes.json'],
    name: 'flxflow_final.safetensors',
    source: { type: 'run', id: job, rev: 'final' },
    ...extra,
  };
}

describe('importModelSet with a named main file', () => {
  it('without one, the largest weight file decides: a FluxFlow save would enter as its text encoder', async () => {
    const { model } = await importModelSet(params(await fluxflowSave(1), 'job-largest'));
    expect(model).toMatchObject({ kind: 'text-encoder', family: 'fluxflow' });
    expect(model.files.find((file) => file.main)?.path).toBe('text_encoder.safetensors');
    await library.remove(model.id);
  });

  it('the named file is the main file and decides kind and family; every file goes along in one folder', async () => {
    const staging = await fluxflowSave(2);
    const sha = { checkpoint: await sha256OfFile(path.join(staging, 'flxflow_final.safetensors')), encoder: await sha256OfFile(path.join(staging, 'text_encoder.safetensors')) };
    const { model, duplicate } = await importModelSet(params(staging, 'job-named', { main: 'flxflow_final.safetensors', expectedKind: 'checkpoint' }));
    expect(duplicate).toBe(false);
    expect(model).toMatchObject({ kind: 'checkpoint', family: 'fluxflow', format: 'safetensors', name: 'flxflow_final.safetensors', hashes: { sha256: sha.checkpoint } });
    expect(model.evidence[0]).toBe('main file flxflow_final.safetensors (named by the import)');
    expect(model.files.map((file) => [file.path, file.main, file.sha256])).toEqual([
      ['flxflow_final.safetensors', true, sha.checkpoint],
      ['notes.json', false, expect.any(String)],
      ['text_encoder.safetensors', false, sha.encoder],
    ]);
    const main = await library.fileOf(model.id);
    expect(main).toBe(path.join(workspace.paths.areas.models, 'checkpoint', 'run', 'job-named', 'final', 'flxflow_final.safetensors'));
    expect((await readdir(path.dirname(main))).sort()).toEqual(['flxflow_final.safetensors', 'notes.json', 'text_encoder.safetensors']);
    expect(await readdir(workspace.paths.areas.quarantine)).not.toContain(path.basename(staging));
  });

  it('a main file that is not a weight file is refused, and nothing reaches models/', async () => {
    const staging = await fluxflowSave(3);
    await expect(importModelSet(params(staging, 'job-note', { main: 'notes.json' }))).rejects.toMatchObject({ code: 'unsupported', message: expect.stringContaining('notes.json is not a model file') });
    await expect(readdir(path.join(workspace.paths.areas.models, 'checkpoint', 'run', 'job-note'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(workspace.paths.areas.quarantine)).not.toContain(path.basename(staging));
  });

  it('a main file outside the set is a caller error', async () => {
    const staging = await fluxflowSave(4);
    await expect(importModelSet(params(staging, 'job-missing', { main: 'D_img.safetensors' }))).rejects.toThrow('"D_img.safetensors" is not one of the set\'s files');
    await rm(staging, { recursive: true, force: true });
  });
});
