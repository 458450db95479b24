import { describe, expect, it } from 'vitest';
import { applyPreset } from '../presets/apply-preset.ts';
import { RUN_PRESETS } from '../presets/run-presets.ts';
import { type KohyaRunConfig, isKohyaFamily, networkModuleFor, parseKohyaRunConfig } from '../schema/index.ts';
import { kohyaModels, kohyaRun } from '../validate/spec-fixtures.ts';
import { exportKohyaToml } from './export-kohya-toml.ts';
import { importKohyaToml } from './kohya-toml.ts';
import { substituteOperatorPaths } from './substitute.ts';
import type { ImportSuccess } from './types.ts';

/** Export, import again, and put the ids back (the export writes ids where paths go). */
function roundTrip(config: KohyaRunConfig): { back: KohyaRunConfig; result: ImportSuccess; text: string } {
  const text = exportKohyaToml(config);
  const result = importKohyaToml(text);
  if (!result.ok) throw new Error(result.error.message);
  const back = parseKohyaRunConfig(substituteOperatorPaths(result, (entry) => ('path' in entry ? entry.path : undefined)));
  return { back, result, text };
}

/**
 * What a --config_file carries: not the prompts (a separate file) nor the per-subset overrides (dataset TOML).
 * The import keeps the file's network_module, which is the one lorasmith picks when unset.
 */
function mappedPart(config: KohyaRunConfig): unknown {
  const { module, ...network } = config.network;
  const derived = isKohyaFamily(config.family) && module === networkModuleFor(config.family, config.network.type);
  return {
    ...config,
    network: derived ? network : config.network,
    sampling: { ...config.sampling, prompts: [] },
    datasets: config.datasets.map((entry) => ({ ...entry, subsets: [] })),
  };
}

describe('exportKohyaToml', () => {
  it.each(RUN_PRESETS.map((preset) => [preset.name, preset] as const))('round-trips preset %s through importKohyaToml', (_, preset) => {
    const config = applyPreset({ preset, model: kohyaModels(preset.family), datasets: [{ dataset: 'dogs' }] });
    const { back, result } = roundTrip(config);
    expect(mappedPart(back)).toEqual(mappedPart(config));
    expect(result.unmapped).toEqual([]);
  });

  it.each(['sd1', 'sd2', 'sdxl', 'sd3', 'flux1', 'chroma', 'lumina2'] as const)('round-trips the %s validator fixture', (family) => {
    const config = kohyaRun(family);
    expect(mappedPart(roundTrip(config).back)).toEqual(mappedPart(config));
  });

  it('round-trips network types, optimizer arguments, noise, captions, saving and a regularisation dataset', () => {
    const config = parseKohyaRunConfig({
      schema: 'lorasmith/run@1',
      kind: 'kohya',
      family: 'sdxl',
      name: 'mychar',
      model: { base: 'base-id', vae: 'vae-id', noHalfVae: true },
      datasets: [{ dataset: 'dogs', regularisation: [{ dataset: 'dogs-reg' }] }],
      resolution: { width: 1024, height: 768 },
      buckets: { enabled: true, minReso: 512, maxReso: 2048, stepSize: 64, noUpscale: false },
      batchSize: 2,
      gradientAccumulationSteps: 2,
      maxGradNorm: 0.5,
      duration: { unit: 'steps', steps: 3000 },
      network: { type: 'lokr', dim: 8, alpha: 4, lokrFactor: 8, trainTextEncoders: true, initialWeights: 'lora-id', scaleWeightNorms: 1.5 },
      optimizer: { type: 'Prodigy', args: { weightDecay: 0.01, betas: [0.9, 0.99], decouple: true, useBiasCorrection: true, dCoef: 2 } },
      learningRate: { base: 1, unet: 1, textEncoder: 0.5 },
      scheduler: { type: 'cosine_with_restarts', warmupRatio: 0.05, cycles: 3 },
      precision: { mixed: 'bf16', save: 'fp16' },
      memory: { gradientCheckpointing: true, cacheLatents: 'disk', attention: 'xformers', vaeBatchSize: 4, dataLoaderWorkers: 2, persistentWorkers: true },
      noise: { offset: 0.05, offsetRandomStrength: true, minSnrGamma: 5, multiresIterations: 6, multiresDiscount: 0.25, debiasedEstimation: true },
      captions: { extension: '.caption', shuffle: true, keepTokens: 1, dropoutRate: 0.05, tagDropoutRate: 0.1, maxTokenLength: 225, prefix: 'sks' },
      augmentation: { flip: true },
      saving: { everyNEpochs: 2, keepLastNEpochs: 3, saveState: true },
      seed: 1234,
    });
    const { back, text } = roundTrip(config);
    expect(mappedPart(back)).toEqual(mappedPart(config));
    expect(text).toMatch(/^# Written by lorasmith for sd-scripts sdxl_train_network.py/);
    expect(text).toContain('learning_rate = 1.0\n');
    expect(text).toContain('resolution = "1024,768"\n');
    expect(text).toContain('network_args = ["algo=lokr", "factor=8"]\n');
  });

  it('writes what a --config_file cannot hold as comments', () => {
    const config = parseKohyaRunConfig({
      ...kohyaRun('sd1'),
      datasets: [{ dataset: 'dogs', subsets: [{ name: 'close-ups', repeats: 4 }] }, { dataset: 'cats' }],
      sampling: { prompts: [{ prompt: 'a dog' }] },
    });
    const text = exportKohyaToml(config, { pathFor: (id, role) => `/${role}/${id}` });
    expect(text).toContain('train_data_dir = "/train-data-dir/dogs"');
    expect(text).toContain('# datasets[1] cats: needs a --dataset_config');
    expect(text).toContain('subset "close-ups" override');
    expect(text).toContain('# 1 sample prompt(s)');
  });
});
