import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectDiffusersFolder } from './diffusers.ts';
import type { DiffusersInspection } from './diffusers.ts';
import { buildSafetensors } from './safetensors/testing.ts';

const code = (result: DiffusersInspection): string => (result.ok ? 'ok' : result.reason.code);

const MODEL_INDEX = {
  _class_name: 'StableDiffusionPipeline',
  _diffusers_version: '0.32.1',
  requires_safety_checker: false,
  safety_checker: [null, null],
  scheduler: ['diffusers', 'PNDMScheduler'],
  unet: ['diffusers', 'UNet2DConditionModel'],
  vae: ['diffusers', 'AutoencoderKL'],
};

describe('inspectDiffusersFolder', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-diffusers-'));
    await writeFile(path.join(dir, 'model_index.json'), JSON.stringify(MODEL_INDEX));
    const weights = buildSafetensors({ tensors: [{ name: 'conv.weight', dtype: 'F16', shape: [4] }] });
    for (const name of ['unet', 'vae']) {
      await mkdir(path.join(dir, name));
      await writeFile(path.join(dir, name, 'config.json'), '{"_class_name":"X"}');
      // The extension says nothing: detection reads the content.
      await writeFile(path.join(dir, name, 'diffusion_pytorch_model.fp16.bin'), weights);
    }
    await mkdir(path.join(dir, 'scheduler'));
    await writeFile(path.join(dir, 'scheduler', 'scheduler_config.json'), '{}');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('recognises the pipeline by model_index.json and lists components, configs and weight files with their format', async () => {
    const result = await inspectDiffusersFolder({ dir });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.pipeline.className).toBe('StableDiffusionPipeline');
    expect(result.pipeline.diffusersVersion).toBe('0.32.1');
    expect(result.pipeline.components.map((c) => [c.name, c.className, c.configFiles])).toEqual([
      ['scheduler', 'PNDMScheduler', ['scheduler_config.json']],
      ['unet', 'UNet2DConditionModel', ['config.json']],
      ['vae', 'AutoencoderKL', ['config.json']],
    ]);
    const unet = result.pipeline.components.find((c) => c.name === 'unet');
    expect(unet?.weightFiles.map((f) => [f.name, f.format])).toEqual([['diffusion_pytorch_model.fp16.bin', 'safetensors']]);
  });

  it('is not a pipeline without model_index.json or without _class_name/_diffusers_version', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'lorasmith-empty-'));
    expect(code(await inspectDiffusersFolder({ dir: empty }))).toBe('diffusers.not_a_pipeline');
    await rm(empty, { recursive: true });
    await writeFile(path.join(dir, 'model_index.json'), JSON.stringify({ _class_name: 'X' }));
    expect(code(await inspectDiffusersFolder({ dir }))).toBe('diffusers.not_a_pipeline');
    await writeFile(path.join(dir, 'model_index.json'), '{"_class_name":"X","_class_name":"Y","_diffusers_version":"1"}');
    expect(code(await inspectDiffusersFolder({ dir }))).toBe('diffusers.index');
  });

  it('refuses component names that are paths, and missing component folders', async () => {
    for (const name of ['../outside', '/etc', 'a/b', '..', '.hidden', 'a\\b']) {
      await writeFile(path.join(dir, 'model_index.json'), JSON.stringify({ ...MODEL_INDEX, [name]: ['diffusers', 'X'] }));
      expect(code(await inspectDiffusersFolder({ dir })), name).toBe('diffusers.component_name');
    }
    await writeFile(path.join(dir, 'model_index.json'), JSON.stringify({ ...MODEL_INDEX, text_encoder: ['transformers', 'CLIPTextModel'] }));
    expect(code(await inspectDiffusersFolder({ dir }))).toBe('diffusers.missing_component');
  });

  it('refuses symbolic links for components and files inside them', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'lorasmith-outside-'));
    await writeFile(path.join(outside, 'secret'), 'x');
    await symlink(path.join(outside, 'secret'), path.join(dir, 'unet', 'weights.safetensors'));
    expect(code(await inspectDiffusersFolder({ dir }))).toBe('diffusers.symlink');
    await rm(path.join(dir, 'unet', 'weights.safetensors'));
    await rm(path.join(dir, 'vae'), { recursive: true });
    await symlink(outside, path.join(dir, 'vae'));
    expect(code(await inspectDiffusersFolder({ dir }))).toBe('diffusers.symlink');
    await rm(outside, { recursive: true });
  });

  it('bounds the index size and component count', async () => {
    expect(code(await inspectDiffusersFolder({ dir, limits: { maxIndexBytes: 10 } }))).toBe('diffusers.index');
    expect(code(await inspectDiffusersFolder({ dir, limits: { maxComponents: 2 } }))).toBe('diffusers.too_many');
  });
});
