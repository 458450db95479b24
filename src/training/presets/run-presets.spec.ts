import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { validateRun } from '../validate/index.ts';
import { kohyaModels, workspace } from '../validate/spec-fixtures.ts';
import { applyPreset } from './apply-preset.ts';
import { findPreset } from './find-preset.ts';
import { RUN_PRESETS } from './run-presets.ts';

const datasets = [{ dataset: 'dogs' }];

describe('RUN_PRESETS', () => {
  it.each(RUN_PRESETS.map((preset) => [preset.name, preset] as const))('%s plus the required models and a dataset validates with no error or warning', async (_, preset) => {
    const config = applyPreset({ preset, model: kohyaModels(preset.family), datasets });
    const report = await validateRun({ config, resolve: workspace(preset.family) });
    // Notes are allowed: SD3 block swapping is experimental upstream, and the preset says so.
    expect(report.issues.filter((found) => found.severity !== 'info')).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('turn kohya save_state on, every one', () => {
    for (const preset of RUN_PRESETS) expect(applyPreset({ preset, model: kohyaModels(preset.family), datasets }).saving.saveState, preset.name).toBe(true);
  });

  it('cover SD 1.5, SDXL character and style, FLUX.1-dev and SD 3.5, across the 8/12/16/24 GB tiers', () => {
    const keys = new Set(RUN_PRESETS.map((preset) => `${preset.family}:${preset.name.includes('style') ? 'style' : 'character'}`));
    expect([...keys]).toEqual(expect.arrayContaining(['sd1:character', 'sdxl:character', 'sdxl:style', 'flux1:character', 'sd3:character']));
    expect(new Set(RUN_PRESETS.map((preset) => preset.vramGb))).toEqual(new Set([8, 12, 16, 24]));
    expect(RUN_PRESETS.filter((preset) => preset.family === 'flux1').map((preset) => preset.vramGb).sort((a, b) => a - b)).toEqual([8, 12, 16, 24]);
  });

  it('have unique names and say what they are', () => {
    expect(new Set(RUN_PRESETS.map((preset) => preset.name)).size).toBe(RUN_PRESETS.length);
    for (const preset of RUN_PRESETS) {
      expect(preset.name).toMatch(/^[a-z0-9-]+$/);
      expect(preset.name).toContain(`${preset.vramGb}gb`);
      expect(preset.description.length).toBeGreaterThan(40);
    }
  });

  it('follow the reference FLUX.1 memory table (fp8 base; 28/16 blocks swapped at 8/12 GB, none at 24 GB with batch 2)', () => {
    const flux = (gb: number) => applyPreset({ preset: findPreset(`flux1-dev-${gb}gb`), model: kohyaModels('flux1'), datasets });
    expect([8, 12, 16, 24].map((gb) => flux(gb).precision.fp8Base)).toEqual([true, true, true, true]);
    expect(flux(8).memory.blocksToSwap).toBe(28);
    expect(flux(12).memory.blocksToSwap).toBe(16);
    expect(flux(24).memory.blocksToSwap).toBeUndefined();
    expect(flux(24).batchSize).toBe(2);
  });

  it('follow the SDXL 8 GB recipe (U-Net only, cached text-encoder outputs and latents, 8-bit optimizer, low rank)', () => {
    const config = applyPreset({ preset: findPreset('sdxl-character-8gb'), model: kohyaModels('sdxl'), datasets });
    expect(config.network.trainTextEncoders).toBe(false);
    expect(config.memory).toMatchObject({ cacheTextEncoderOutputs: 'memory', cacheLatents: 'memory', gradientCheckpointing: true });
    expect(config.optimizer.type).toBe('AdamW8bit');
    expect(config.network.dim).toBeLessThanOrEqual(8);
  });
});

describe('applyPreset', () => {
  const preset = findPreset('sdxl-character-12gb');

  it('lays the user’s changes over the preset, field by field', () => {
    const config = applyPreset({ preset, model: kohyaModels('sdxl'), datasets, name: 'my-dog', overrides: { network: { dim: 24 }, duration: { epochs: 4 } } });
    expect(config.name).toBe('my-dog');
    expect(config.network).toMatchObject({ dim: 24, alpha: 1, trainTextEncoders: false });
    expect(config.duration).toEqual({ unit: 'epochs', epochs: 4 });
    expect(config.family).toBe('sdxl');
  });

  it('replaces a union variant whole, so the old variant’s arguments do not leak', () => {
    const adafactor = applyPreset({ preset, model: kohyaModels('sdxl'), datasets, overrides: { optimizer: { type: 'AdaFactor' } } });
    expect(adafactor.optimizer).toEqual({ type: 'AdaFactor', args: { relativeStep: false, scaleParameter: false, warmupInit: false } });
    const steps = applyPreset({ preset, model: kohyaModels('sdxl'), datasets, overrides: { duration: { unit: 'steps', steps: 1500 } } });
    expect(steps.duration).toEqual({ unit: 'steps', steps: 1500 });
  });

  it('names the bad field when an override is out of range', () => {
    try {
      applyPreset({ preset, model: kohyaModels('sdxl'), datasets, overrides: { network: { dim: 4096 } } });
      throw new Error('expected a refusal');
    } catch (error) {
      expect(isLorasmithError(error) && error.message).toContain('network.dim');
    }
  });
});

describe('findPreset', () => {
  it('finds by name and refuses an unknown one with the list', () => {
    expect(findPreset('sd35-large-16gb').family).toBe('sd3');
    try {
      findPreset('nope');
      throw new Error('expected a refusal');
    } catch (error) {
      expect(isLorasmithError(error) && error.code).toBe('preset-not-found');
      expect(isLorasmithError(error) && error.hint).toContain('flux1-dev-8gb');
    }
  });
});
