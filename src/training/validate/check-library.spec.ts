import { describe, expect, it } from 'vitest';
import type { RunConfig } from '../schema/index.ts';
import { checkLibrary } from './check-library.ts';
import { fluxflowRun, kohyaRun, workspace } from './spec-fixtures.ts';
import type { RunResolver, ValidationIssue } from './types.ts';

const findings = async (config: RunConfig, resolve: RunResolver): Promise<Array<[string, string, string]>> =>
  (await checkLibrary(config, resolve)).map((found: ValidationIssue) => [found.code, found.severity, found.path]);

describe('checkLibrary — kohya runs', () => {
  it('a workspace holding every model and dataset draws no finding', async () => {
    for (const family of ['sdxl', 'flux1', 'sd3', 'lumina2', 'chroma'] as const) {
      expect(await checkLibrary(kohyaRun(family), workspace(family))).toEqual([]);
    }
  });

  it('model-missing: a base model or component not in the library', async () => {
    expect(await findings(kohyaRun('flux1'), workspace('flux1', { t5: null }))).toEqual([['model-missing', 'error', 'model.t5xxl']]);
    expect(await findings(kohyaRun('sdxl'), workspace('sdxl', { 'sdxl-base': null }))).toEqual([['model-missing', 'error', 'model.base']]);
  });

  it('model-kind-mismatch: a LoRA as base, a checkpoint as text encoder, a checkpoint to continue from', async () => {
    expect(await findings(kohyaRun('sdxl'), workspace('sdxl', { 'sdxl-base': { kind: 'lora', family: 'sdxl' } }))).toEqual([['model-kind-mismatch', 'error', 'model.base']]);
    expect(await findings(kohyaRun('flux1'), workspace('flux1', { 'clip-l': { kind: 'checkpoint', family: 'sd1' } }))).toEqual([['model-kind-mismatch', 'error', 'model.clipL']]);
    const continued = kohyaRun('sdxl', (c) => (c.network.initialWeights = 'old'));
    expect(await findings(continued, workspace('sdxl', { old: { kind: 'checkpoint', family: 'sdxl' } }))).toEqual([['model-kind-mismatch', 'error', 'network.initialWeights']]);
    expect(await findings(continued, workspace('sdxl', { old: { kind: 'lora', family: 'sdxl' } }))).toEqual([]);
  });

  it('model-family-mismatch: an SD 1.5 checkpoint for an SDXL run, an SDXL LoRA to continue a FLUX run', async () => {
    expect(await findings(kohyaRun('sdxl'), workspace('sdxl', { 'sdxl-base': { kind: 'checkpoint', family: 'sd1' } }))).toEqual([['model-family-mismatch', 'error', 'model.base']]);
    const continued = kohyaRun('flux1', (c) => (c.network.initialWeights = 'old'));
    expect(await findings(continued, workspace('flux1', { old: { kind: 'lora', family: 'sdxl' } }))).toEqual([['model-family-mismatch', 'error', 'network.initialWeights']]);
  });

  it('encoders and VAEs are not held to the run family', async () => {
    expect(await findings(kohyaRun('sdxl', (c) => (c.model.vae = 'v')), workspace('sdxl', { v: { kind: 'vae', family: 'sd1' } }))).toEqual([]);
  });

  it('model-family-unknown: a base model the fingerprint could not place is a warning', async () => {
    expect(await findings(kohyaRun('sd1'), workspace('sd1', { 'sd1-base': { kind: 'checkpoint', family: 'unknown' } }))).toEqual([['model-family-unknown', 'warning', 'model.base']]);
  });

  it('dataset-missing and dataset-empty, for training and regularisation datasets', async () => {
    const config = kohyaRun('sdxl', (c) => c.datasets[0]?.regularisation.push({ dataset: 'reg', subsets: [] }));
    expect(await findings(config, workspace('sdxl', {}, { dogs: { imageCount: 0 }, reg: null }))).toEqual([
      ['dataset-empty', 'error', 'datasets[0].dataset'],
      ['dataset-missing', 'error', 'datasets[0].regularisation[0].dataset'],
    ]);
    expect(await findings(config, workspace('sdxl'))).toEqual([]);
  });
});

describe('checkLibrary — FluxFlow runs', () => {
  it('checks the run dataset, step datasets and the checkpoint to fine-tune from', async () => {
    const config = fluxflowRun((c) => {
      c.fineTuneFrom = 'ff';
      const first = c.pipeline.steps[0];
      if (first !== undefined) first.dataset = 'extra';
    });
    expect(await findings(config, workspace('fluxflow', { ff: { kind: 'checkpoint', family: 'fluxflow' } }))).toEqual([]);
    expect(await findings(config, workspace('fluxflow', { ff: { kind: 'checkpoint', family: 'sdxl' } }, { extra: null, pictures: { imageCount: 0 } }))).toEqual([
      ['model-family-mismatch', 'error', 'fineTuneFrom'],
      ['dataset-empty', 'error', 'data.dataset'],
      ['dataset-missing', 'error', 'pipeline.steps[0].dataset'],
    ]);
  });
});
