/** Shared by the FluxFlow adapter's specs: run configs and resolved inputs that need no workspace. */
import { parseRunConfig, type FluxflowRunConfig, type FluxflowRunInput } from '../../schema/index.ts';
import type { FluxflowResolvedRun } from './resolve-run.ts';

export const DATASET_DIR = '/ws/datasets/pics';

/** A FluxFlow run config, parsed (defaults filled); `overrides` are merged over a two-step VAE → flow pipeline. */
export function fluxflowConfig(overrides: Partial<FluxflowRunInput> = {}): FluxflowRunConfig {
  const config = parseRunConfig({
    schema: 'lorasmith/run@1',
    kind: 'fluxflow',
    data: { dataset: 'pics' },
    pipeline: {
      steps: [
        { name: 'vae', nEpochs: 2, trainVae: true, optimizers: { vae: { type: 'AdamW', lr: 1e-5 } } },
        { name: 'flow', nEpochs: 1, trainDiff: true, optimizers: { flow: { type: 'Lion', lr: 5e-7 } } },
      ],
    },
    ...overrides,
  });
  if (config.kind !== 'fluxflow') throw new Error('fixture is a FluxFlow run');
  return config;
}

/** The run resolved as if the workspace held `pics` (and any other dataset a step names) with three images. */
export function fluxflowInput(config: FluxflowRunConfig = fluxflowConfig(), extra: Partial<FluxflowResolvedRun> = {}): FluxflowResolvedRun {
  const names = [config.data.dataset, ...config.pipeline.steps.flatMap((step) => (step.dataset === undefined ? [] : [step.dataset]))];
  const datasets = [...new Set(names)].map((name) => ({
    name,
    dir: name === 'pics' ? DATASET_DIR : `/ws/datasets/${name}`,
    entries: ['001', '002', '003'].map((stem) => ({ image: `photos/${stem}.png`, caption: `a photo, number ${stem}` })),
    skipped: [],
  }));
  return { config, datasets, testImages: [], fineTune: null, resume: null, ...extra };
}
