import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeDatasetMeta } from '../../../datasets/store/index.ts';
import { buildSafetensors } from '../../../formats/safetensors/testing.ts';
import { modelNotFound } from '../../../library/model-library.ts';
import type { ModelFamily, ModelKind } from '../../../formats/fingerprint/index.ts';
import { resolveFluxflowRun, type FluxflowWorkspace } from './resolve-run.ts';
import { fluxflowConfig } from './spec-fixtures.ts';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

let root: string;
let workspace: FluxflowWorkspace;
const models = new Map<string, { kind: ModelKind; family: ModelFamily; file: string }>();

async function dataset(name: string, subsets: Record<string, Record<string, string | null>>, meta: Array<{ name: string; isReg?: boolean; classTokens?: string }> = []): Promise<string> {
  const dir = path.join(root, 'datasets', name);
  for (const [subset, images] of Object.entries(subsets)) {
    await mkdir(path.join(dir, subset), { recursive: true });
    for (const [image, caption] of Object.entries(images)) {
      await writeFile(path.join(dir, subset, image), PNG);
      if (caption !== null) await writeFile(path.join(dir, subset, image.replace(/\.\w+$/, '.txt')), caption);
    }
  }
  await writeDatasetMeta(dir, { version: 1, createdAt: new Date(0).toISOString(), subsets: meta.map((entry) => ({ repeats: 1, classTokens: '', isReg: false, captionExtension: '.txt', ...entry })) });
  return dir;
}

/** A checkpoint with the key layout and shapes fluxflow-training writes (fluxflow.md §1.6). */
async function checkpoint(dir: string, dims: { vae: number; feat: number; text: number }, withTextEncoder: boolean): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'flxflow_final.safetensors');
  await writeFile(
    file,
    buildSafetensors({
      tensors: [
        { name: 'diffuser.compressor.latent_proj.0.0.weight', dtype: 'F32', shape: [dims.vae * 5, 4] },
        { name: 'diffuser.flow_processor.vae_to_dmodel.weight', dtype: 'F32', shape: [dims.feat, dims.vae] },
        { name: 'diffuser.flow_processor.text_proj.weight', dtype: 'F32', shape: [dims.feat, dims.text] },
      ],
    }),
  );
  if (withTextEncoder) await writeFile(path.join(dir, 'text_encoder.safetensors'), buildSafetensors({ tensors: [{ name: 'text_encoder.language_model.x.weight', dtype: 'F32', shape: [2] }] }));
  return file;
}

beforeEach(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'lorasmith-fluxflow-resolve-')));
  models.clear();
  await mkdir(path.join(root, 'datasets'));
  workspace = {
    datasets: { root: path.join(root, 'datasets') },
    library: {
      async get(id) {
        const found = models.get(id);
        if (found === undefined) throw modelNotFound(id);
        return { kind: found.kind, family: found.family };
      },
      async fileOf(id) {
        const found = models.get(id);
        if (found === undefined) throw modelNotFound(id);
        return found.file;
      },
    },
  };
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('resolveFluxflowRun', () => {
  it('turns the dataset into captions-file entries: captions normalised, class tokens for the uncaptioned, regularisation left out', async () => {
    const dir = await dataset(
      'pics',
      { '10_sks dog': { '001.png': 'sks dog,\nsitting', '002.png': null }, cats: { 'a.png': null }, reg: { 'r.png': 'a dog' } },
      [{ name: '10_sks dog', classTokens: 'sks dog' }, { name: 'reg', isReg: true }],
    );
    const resolved = await resolveFluxflowRun({ workspace, config: fluxflowConfig() });
    expect(resolved.datasets).toEqual([
      {
        name: 'pics',
        dir,
        entries: [
          { image: '10_sks dog/001.png', caption: 'sks dog, sitting' },
          { image: '10_sks dog/002.png', caption: 'sks dog' },
        ],
        skipped: [
          { image: 'cats/a.png', reason: 'no caption and no class tokens' },
          { image: 'reg/r.png', reason: 'regularisation subset (FluxFlow has no regularisation images)' },
        ],
        // The caption files read, for the run's manifest (a regularisation subset's are not).
        captionFiles: ['10_sks dog/001.txt'],
      },
    ]);
    expect(resolved.fineTune).toBeNull();
    expect(resolved.resume).toBeNull();
  });

  it('adds each other dataset a step names once, and resolves test images inside the run\'s dataset', async () => {
    const dir = await dataset('pics', { photos: { '001.png': 'one' } });
    await dataset('faces', { f: { 'x.png': 'a face' } });
    const config = fluxflowConfig({
      output: { testImages: [{ subset: 'photos', file: '001.png' }] },
      pipeline: { steps: [{ name: 'a', nEpochs: 1, trainVae: true, dataset: 'faces' }, { name: 'b', nEpochs: 1, trainDiff: true, dataset: 'faces' }, { name: 'c', nEpochs: 1, trainDiff: true, dataset: 'pics' }] },
    });
    const resolved = await resolveFluxflowRun({ workspace, config });
    expect(resolved.datasets.map((entry) => entry.name)).toEqual(['pics', 'faces']);
    expect(resolved.testImages).toEqual([path.join(dir, 'photos', '001.png')]);
    const missing = fluxflowConfig({ output: { testImages: [{ subset: 'photos', file: '404.png' }] } });
    await expect(resolveFluxflowRun({ workspace, config: missing })).rejects.toMatchObject({ code: 'run-test-image-missing', details: { path: 'output.testImages[0]' } });
  });

  it('refuses a missing dataset, one without captioned images, and a test image that leads out through a link', async () => {
    await expect(resolveFluxflowRun({ workspace, config: fluxflowConfig() })).rejects.toMatchObject({ code: 'run-dataset-missing', details: { path: 'data.dataset' } });
    const dir = await dataset('pics', { photos: { '001.png': null } });
    await expect(resolveFluxflowRun({ workspace, config: fluxflowConfig() })).rejects.toMatchObject({ code: 'run-dataset-empty' });
    await writeFile(path.join(dir, 'photos', '001.txt'), 'one');
    await symlink(path.join(root, 'outside'), path.join(dir, 'link'));
    await mkdir(path.join(root, 'outside'));
    await writeFile(path.join(root, 'outside', 'x.png'), PNG);
    await expect(resolveFluxflowRun({ workspace, config: fluxflowConfig({ output: { testImages: [{ subset: 'link', file: 'x.png' }] } }) })).rejects.toMatchObject({ code: 'path-refused' });
  });

  it('fine-tunes from a FluxFlow checkpoint with its text encoder beside it, when the dims match', async () => {
    await dataset('pics', { photos: { '001.png': 'one' } });
    const file = await checkpoint(path.join(root, 'models', 'checkpoint', 'run', 'j0', 'final'), { vae: 128, feat: 128, text: 1024 }, true);
    models.set('ff-1', { kind: 'checkpoint', family: 'fluxflow', file });
    const resolved = await resolveFluxflowRun({ workspace, config: fluxflowConfig({ fineTuneFrom: 'ff-1' }) });
    expect(resolved.fineTune).toEqual({ checkpoint: file, textEncoder: path.join(path.dirname(file), 'text_encoder.safetensors') });

    const bare = await checkpoint(path.join(root, 'models', 'checkpoint', 'local', 'x'), { vae: 64, feat: 96, text: 1024 }, false);
    models.set('ff-2', { kind: 'checkpoint', family: 'fluxflow', file: bare });
    await expect(resolveFluxflowRun({ workspace, config: fluxflowConfig({ fineTuneFrom: 'ff-2' }) })).rejects.toMatchObject({ code: 'fluxflow-dims-mismatch', details: { path: 'model.vaeDim' } });
    const matching = await resolveFluxflowRun({ workspace, config: fluxflowConfig({ fineTuneFrom: 'ff-2', model: { vaeDim: 64, featureMapsDim: 96 } }) });
    expect(matching.fineTune).toEqual({ checkpoint: bare, textEncoder: null });

    models.set('sdxl', { kind: 'checkpoint', family: 'sdxl', file });
    await expect(resolveFluxflowRun({ workspace, config: fluxflowConfig({ fineTuneFrom: 'sdxl' }) })).rejects.toMatchObject({ code: 'run-model-wrong-kind' });
    await expect(resolveFluxflowRun({ workspace, config: fluxflowConfig({ fineTuneFrom: 'nope' }) })).rejects.toMatchObject({ code: 'run-model-missing' });
  });

  it('resumes only a parent whose output folder holds a checkpoint and pipeline-mode state', async () => {
    await dataset('pics', { photos: { '001.png': 'one' } });
    const parent = path.join(root, 'runs', 'job-0');
    const output = path.join(parent, 'work', 'output');
    await mkdir(output, { recursive: true });
    await expect(resolveFluxflowRun({ workspace, config: fluxflowConfig(), resumeFrom: parent })).rejects.toMatchObject({ code: 'fluxflow-resume-no-state' });
    await writeFile(path.join(output, 'flxflow_final.safetensors'), 'w');
    await writeFile(path.join(output, 'training_state.json'), JSON.stringify({ mode: 'legacy' }));
    await expect(resolveFluxflowRun({ workspace, config: fluxflowConfig(), resumeFrom: parent })).rejects.toMatchObject({ code: 'fluxflow-resume-no-state', message: expect.stringContaining('pipeline mode') });
    await writeFile(
      path.join(output, 'training_state.json'),
      JSON.stringify({ version: '2.0', mode: 'pipeline', global_step: 70, pipeline: { current_step_index: 1, current_step_name: 'flow', current_step_epoch: 0, current_batch_idx: 20 } }),
    );
    const resolved = await resolveFluxflowRun({ workspace, config: fluxflowConfig({ fineTuneFrom: 'ignored-on-resume' }), resumeFrom: parent });
    expect(resolved.resume).toEqual({ outputDir: output, state: { stepIndex: 1, stepName: 'flow', epoch: 0, batch: 20, globalStep: 70 } });
    expect(resolved.fineTune).toBeNull();
  });
});
