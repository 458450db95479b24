/**
 * Valid runs for the specs of this folder and of ../presets: each family with the model files it needs and a
 * config that draws no finding, so a test changes one thing and sees exactly the rule it is about.
 */
import { type FluxflowRunConfig, type KohyaFamily, type KohyaRunConfig, parseKohyaRunConfig, parseRunConfig } from '../schema/index.ts';
import type { ResolvedDataset, ResolvedModel, RunResolver } from './types.ts';

const COMPONENTS: Record<KohyaFamily, Partial<Record<'vae' | 'clipL' | 'clipG' | 't5xxl' | 'gemma2', string>>> = {
  sd1: {},
  sd2: {},
  sdxl: {},
  sd3: { clipL: 'clip-l', clipG: 'clip-g', t5xxl: 't5' },
  flux1: { vae: 'flux-ae', clipL: 'clip-l', t5xxl: 't5' },
  chroma: { vae: 'flux-ae', t5xxl: 't5' },
  lumina2: { vae: 'lumina-ae', gemma2: 'gemma' },
};

export function kohyaModels(family: KohyaFamily): KohyaRunConfig['model'] {
  return { base: `${family}-base`, vPrediction: false, noHalfVae: false, ...COMPONENTS[family] };
}

export function kohyaRun(family: KohyaFamily, change?: (config: KohyaRunConfig) => void): KohyaRunConfig {
  const small = family === 'sd1' || family === 'sd2';
  const config = parseKohyaRunConfig({
    schema: 'lorasmith/run@1',
    kind: 'kohya',
    family,
    model: kohyaModels(family),
    datasets: [{ dataset: 'dogs' }],
    resolution: small ? { width: 512, height: 512 } : { width: 1024, height: 1024 },
    buckets: { enabled: true, maxReso: small ? 1024 : 2048 },
    saving: { saveState: true, everyNEpochs: 1 },
  });
  change?.(config);
  return config;
}

export function fluxflowRun(change?: (config: FluxflowRunConfig) => void): FluxflowRunConfig {
  const config = parseRunConfig({
    schema: 'lorasmith/run@1',
    kind: 'fluxflow',
    data: { dataset: 'pictures' },
    pipeline: {
      steps: [
        { name: 'vae', nEpochs: 2, trainVae: true, optimizers: { vae: { type: 'AdamW', lr: 1e-5 } } },
        { name: 'flow', nEpochs: 4, trainDiff: true, optimizers: { flow: { type: 'Lion', lr: 5e-7 } } },
      ],
    },
  });
  if (config.kind !== 'fluxflow') throw new Error('fixture is a fluxflow run');
  change?.(config);
  return config;
}

/** A workspace where every model a fixture names exists with the right kind and family, and every dataset has images. */
export function workspace(
  family: KohyaFamily | 'fluxflow',
  models: Record<string, ResolvedModel | null> = {},
  datasets: Record<string, ResolvedDataset | null> = {},
): RunResolver {
  const defaults: Record<string, ResolvedModel> = {
    [`${family}-base`]: { kind: 'checkpoint', family },
    'clip-l': { kind: 'text-encoder', family: 'unknown' },
    'clip-g': { kind: 'text-encoder', family: 'unknown' },
    t5: { kind: 'text-encoder', family: 'unknown' },
    gemma: { kind: 'text-encoder', family: 'unknown' },
    'flux-ae': { kind: 'vae', family: 'flux1' },
    'lumina-ae': { kind: 'vae', family: 'lumina2' },
  };
  return {
    model: (id) => (id in models ? (models[id] ?? null) : (defaults[id] ?? null)),
    dataset: async (name) => (name in datasets ? (datasets[name] ?? null) : { imageCount: 20 }),
  };
}
