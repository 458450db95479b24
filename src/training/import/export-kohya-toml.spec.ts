import { describe, expect, it } from 'vitest';
import { kohyaDatasetConfigSchema } from '../engines/kohya/dataset-toml-schema.ts';
import { kohyaDryRun } from '../engines/kohya/launch.ts';
import { mapKohyaRun, type ResolvedRunDataset } from '../engines/kohya/map-run-config.ts';
import { parseTomlTyped } from '../engines/kohya/toml-format.ts';
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
  const text = exportKohyaToml(config).configToml;
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
    const exported = exportKohyaToml(config, { pathFor: (id, role) => `/${role}/${id}` });
    expect(exported.datasetToml).toBeUndefined();
    const text = exported.configToml;
    expect(text).toContain('train_data_dir = "/train-data-dir/dogs"');
    expect(text).toContain('# datasets[1] cats: needs a --dataset_config');
    expect(text).toContain('subset "close-ups" override');
    expect(text).toContain('# 1 sample prompt(s)');
  });

  describe('with the resolved datasets', () => {
    const subset = (dir: string, name: string, repeats: number, classTokens: string, isReg = false): ResolvedRunDataset['subsets'][number] => ({
      name,
      dir: `${dir}/${name}`,
      repeats,
      classTokens,
      isReg,
      captionExtension: '.txt',
      files: ['1.png'],
    });
    // As resolve-run.ts hands them over: the run's overrides applied, the regularisation subsets marked.
    const resolved: ResolvedRunDataset[] = [
      {
        name: 'dogs',
        dir: '/ws/datasets/dogs',
        subsets: [subset('/ws/datasets/dogs', 'dog', 10, 'sks dog'), subset('/ws/datasets/dogs', 'close-ups', 4, '')],
        regularisation: [{ name: 'dogs-reg', dir: '/ws/datasets/dogs-reg', subsets: [subset('/ws/datasets/dogs-reg', 'dog', 1, 'dog', true)] }],
      },
      { name: 'cats', dir: '/ws/datasets/cats', subsets: [subset('/ws/datasets/cats', 'cat', 3, 'sks cat')], regularisation: [] },
    ];
    const config = parseKohyaRunConfig({
      ...kohyaRun('sdxl'),
      datasets: [{ dataset: 'dogs', subsets: [{ name: 'close-ups', repeats: 4 }], regularisation: [{ dataset: 'dogs-reg' }] }, { dataset: 'cats' }],
      captions: { extension: '.txt', shuffle: true, keepTokens: 1 },
    });
    const file = '/exports/run.dataset.toml';
    const exported = exportKohyaToml(config, { pathFor: (id, role) => `/${role}/${id}`, datasetConfig: { datasets: resolved, file } });

    it('names the dataset config instead of train_data_dir / reg_data_dir, which sd-scripts would ignore', () => {
      const flat = parseTomlTyped(exported.configToml);
      expect(flat.dataset_config).toBe(file);
      expect(flat).not.toHaveProperty('train_data_dir');
      expect(flat).not.toHaveProperty('reg_data_dir');
      expect(exported.configToml).not.toContain('needs a --dataset_config');
      expect(exported.configToml).not.toContain('override');
      expect(exported.script).toBe('sdxl_train_network.py');
    });

    it('writes every subset folder with its repeats, class tokens and is_reg, as sd-scripts validates it', () => {
      const document = parseTomlTyped(exported.datasetToml ?? '');
      const checked = kohyaDatasetConfigSchema.safeParse(document);
      expect(checked.success, JSON.stringify(checked.error?.issues)).toBe(true);
      const datasets = document.datasets as Array<{ subsets: Array<Record<string, unknown>> }>;
      expect(datasets.map((dataset) => dataset.subsets.map(({ image_dir, num_repeats, class_tokens, is_reg }) => ({ image_dir, num_repeats, class_tokens, is_reg })))).toEqual([
        [
          { image_dir: '/ws/datasets/dogs/dog', num_repeats: 10n, class_tokens: 'sks dog', is_reg: undefined },
          { image_dir: '/ws/datasets/dogs/close-ups', num_repeats: 4n, class_tokens: undefined, is_reg: undefined },
          { image_dir: '/ws/datasets/dogs-reg/dog', num_repeats: 1n, class_tokens: 'dog', is_reg: true },
        ],
        [{ image_dir: '/ws/datasets/cats/cat', num_repeats: 3n, class_tokens: 'sks cat', is_reg: undefined }],
      ]);
      expect(document.general).toMatchObject({ caption_extension: '.txt', shuffle_caption: true, keep_tokens: 1n, resolution: 1024n });
    });

    it('is the dataset.toml a lorasmith launch writes, but for image_dir', () => {
      const input = mapKohyaRun({ config, resolved: { models: { base: '/model/base', clipL: '/te/l', clipG: '/te/g' }, datasets: resolved } });
      const launch = kohyaDryRun(input, { engine: { python: '/e/venv/bin/python', venvDir: '/e/venv', engineRoot: '/e/sd-scripts', tokenizerCacheDir: '/e/cache' } });
      const launched = launch.files['<run>/dataset.toml'] ?? '';
      expect(launched).toContain('image_dir = "<run>/work/images/0/dog"');
      const dirless = (text: string): string => text.replace(/^image_dir = .*$/gm, '');
      expect(dirless(exported.datasetToml ?? '')).toBe(dirless(launched));
    });

    it('imports again: the config file names the dataset config, everything else maps as before', () => {
      const result = importKohyaToml(exported.configToml);
      if (!result.ok) throw new Error(result.error.message);
      expect(result.unmapped).toEqual([]);
      expect(result.operatorPaths).toContainEqual(expect.objectContaining({ field: 'datasets[0].dataset', path: file, role: 'dataset-config' }));
      const back = parseKohyaRunConfig(substituteOperatorPaths(result, (entry) => ('path' in entry ? entry.path.replace(/^\/[a-z-]+\//, '') : undefined)));
      const settings = (run: KohyaRunConfig): unknown => mappedPart({ ...run, datasets: [] });
      expect(settings(back)).toEqual(settings(config));
    });
  });
});
