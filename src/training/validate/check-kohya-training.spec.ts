import { describe, expect, it } from 'vitest';
import { KOHYA_FAMILIES, type KohyaFamily, type KohyaRunConfig } from '../schema/index.ts';
import { checkKohyaTraining } from './check-kohya-training.ts';
import { kohyaRun } from './spec-fixtures.ts';

const codes = (config: KohyaRunConfig): string[] => checkKohyaTraining(config).map((found) => found.code);

interface RuleCase {
  code: string;
  family?: KohyaFamily;
  bad: (config: KohyaRunConfig) => void;
  good: (config: KohyaRunConfig) => void;
}

const cacheTe = (c: KohyaRunConfig): void => {
  c.memory.cacheTextEncoderOutputs = 'memory';
};

const cases: RuleCase[] = [
  {
    code: 'te-cache-with-te-training',
    bad: (c) => (cacheTe(c), (c.network.trainTextEncoders = true)),
    good: (c) => (cacheTe(c), (c.network.trainTextEncoders = false)),
  },
  { code: 'te-cache-with-caption-changes', bad: (c) => (cacheTe(c), (c.captions.shuffle = true)), good: (c) => (c.captions.shuffle = true) },
  { code: 'te-cache-with-caption-changes', bad: (c) => (cacheTe(c), (c.captions.dropoutRate = 0.1)), good: cacheTe },
  { code: 'te-cache-with-caption-changes', bad: (c) => (cacheTe(c), (c.captions.dropoutEveryNEpochs = 3)), good: cacheTe },
  { code: 'te-cache-with-caption-changes', bad: (c) => (cacheTe(c), (c.captions.tagDropoutRate = 0.2)), good: cacheTe },
  {
    code: 'te-cache-with-caption-changes',
    bad: (c) => (cacheTe(c), c.datasets[0]?.subsets.push({ name: 'main', include: true, shuffleCaption: true })),
    good: (c) => (cacheTe(c), c.datasets[0]?.subsets.push({ name: 'main', include: true, shuffleCaption: false })),
  },
  {
    code: 'te-cache-with-caption-changes',
    bad: (c) => (cacheTe(c), c.datasets[0]?.regularisation.push({ dataset: 'reg', subsets: [{ name: 'r', include: true, shuffleCaption: true }] })),
    good: (c) => (cacheTe(c), c.datasets[0]?.regularisation.push({ dataset: 'reg', subsets: [{ name: 'r', include: true }] })),
  },
  {
    code: 'te-lr-without-te-training',
    bad: (c) => (c.learningRate.textEncoder = 5e-5),
    good: (c) => Object.assign(c, { learningRate: { base: 1e-4, textEncoder: 5e-5 }, network: { ...c.network, trainTextEncoders: true } }),
  },
  { code: 'te-lr-without-te-training', bad: (c) => (cacheTe(c), (c.learningRate.textEncoder = 5e-5)), good: cacheTe },
  { code: 'keep-tokens-without-shuffle', bad: (c) => (c.captions.keepTokens = 1), good: (c) => Object.assign(c.captions, { keepTokens: 1, shuffle: true }) },
  { code: 'latent-cache-with-augmentation', bad: (c) => Object.assign(c, { memory: { ...c.memory, cacheLatents: 'disk' }, augmentation: { ...c.augmentation, color: true } }), good: (c) => (c.augmentation.color = true) },
  { code: 'latent-cache-with-augmentation', bad: (c) => ((c.memory.cacheLatents = 'memory'), (c.augmentation.randomCrop = true)), good: (c) => ((c.memory.cacheLatents = 'memory'), (c.augmentation.flip = true)) },
  { code: 'scheduler-constant-with-warmup', bad: (c) => (c.scheduler.warmupSteps = 100), good: (c) => Object.assign(c.scheduler, { type: 'constant_with_warmup', warmupSteps: 100 }) },
  { code: 'scheduler-constant-with-warmup', bad: (c) => (c.scheduler.warmupRatio = 0.05), good: (c) => Object.assign(c.scheduler, { type: 'cosine', warmupRatio: 0.05 }) },
  { code: 'scheduler-warmup-twice', bad: (c) => Object.assign(c.scheduler, { type: 'cosine', warmupSteps: 10, warmupRatio: 0.1 }), good: (c) => Object.assign(c.scheduler, { type: 'cosine', warmupRatio: 0.1 }) },
  { code: 'scheduler-option-unused', bad: (c) => (c.scheduler.cycles = 3), good: (c) => Object.assign(c.scheduler, { type: 'cosine_with_restarts', cycles: 3 }) },
  { code: 'scheduler-option-unused', bad: (c) => (c.scheduler.power = 2), good: (c) => Object.assign(c.scheduler, { type: 'polynomial', power: 2 }) },
  { code: 'scheduler-option-unused', bad: (c) => (c.scheduler.minLrRatio = 0.1), good: (c) => Object.assign(c.scheduler, { type: 'cosine_with_min_lr', minLrRatio: 0.1 }) },
  { code: 'scheduler-option-unused', bad: (c) => (c.scheduler.decaySteps = 100), good: (c) => Object.assign(c.scheduler, { type: 'warmup_stable_decay', decaySteps: 100 }) },
  {
    code: 'adafactor-relative-step',
    bad: (c) => (c.optimizer = { type: 'AdaFactor', args: { relativeStep: true, scaleParameter: false, warmupInit: false } }),
    good: (c) => (c.optimizer = { type: 'AdaFactor', args: { relativeStep: false, scaleParameter: false, warmupInit: false } }),
  },
  {
    code: 'adaptive-optimizer-low-lr',
    bad: (c) => (c.optimizer = { type: 'Prodigy', args: {} }),
    good: (c) => ((c.optimizer = { type: 'Prodigy', args: {} }), (c.learningRate.base = 1)),
  },
  {
    code: 'adaptive-optimizer-low-lr',
    bad: (c) => ((c.optimizer = { type: 'DAdaptAdam', args: {} }), Object.assign(c.learningRate, { base: 1, unet: 0.05 })),
    good: (c) => ((c.optimizer = { type: 'DAdaptAdam', args: {} }), (c.learningRate.base = 1)),
  },
  {
    code: 'schedule-free-with-scheduler',
    bad: (c) => ((c.optimizer = { type: 'AdamWScheduleFree', args: {} }), (c.scheduler.type = 'cosine')),
    good: (c) => (c.optimizer = { type: 'AdamWScheduleFree', args: { warmupSteps: 100 } }),
  },
  {
    code: 'fused-backward-pass',
    bad: (c) => (c.memory.fusedBackwardPass = true),
    good: (c) => ((c.memory.fusedBackwardPass = true), (c.optimizer = { type: 'AdaFactor', args: { relativeStep: false, scaleParameter: false, warmupInit: false } })),
  },
  {
    code: 'fused-backward-pass',
    bad: (c) => ((c.memory.fusedBackwardPass = true), (c.gradientAccumulationSteps = 2), (c.optimizer = { type: 'AdaFactor', args: { relativeStep: false, scaleParameter: false, warmupInit: false } })),
    good: (c) => (c.gradientAccumulationSteps = 2),
  },
  { code: 'mixed-precision-off', bad: (c) => (c.precision.mixed = 'no'), good: (c) => (c.precision.mixed = 'fp16') },
  { code: 'full-half-needs-mixed-precision', bad: (c) => Object.assign(c.precision, { mixed: 'no', fullHalf: true }), good: (c) => Object.assign(c.precision, { mixed: 'fp16', fullHalf: true }) },
  { code: 'fp8-needs-mixed-precision', family: 'flux1', bad: (c) => Object.assign(c.precision, { mixed: 'no', fp8Base: true }), good: (c) => (c.precision.fp8Base = true) },
  {
    code: 'cpu-offload-with-blocks-to-swap',
    family: 'flux1',
    bad: (c) => Object.assign(c.memory, { cpuOffloadCheckpointing: true, blocksToSwap: 8 }),
    good: (c) => (c.memory.cpuOffloadCheckpointing = true),
  },
  { code: 'adaptive-noise-without-offset', bad: (c) => (c.noise.adaptiveScale = 0.05), good: (c) => Object.assign(c.noise, { adaptiveScale: 0.05, offset: 0.1 }) },
  { code: 'noise-option-unused', bad: (c) => (c.noise.offsetRandomStrength = true), good: (c) => Object.assign(c.noise, { offsetRandomStrength: true, offset: 0.1 }) },
  {
    code: 'sampling-never',
    bad: (c) => (c.sampling.prompts = [{ prompt: 'a dog' }]),
    good: (c) => Object.assign(c.sampling, { prompts: [{ prompt: 'a dog' }], everyNEpochs: 1 }),
  },
  { code: 'sampling-never', bad: (c) => (c.sampling.prompts = [{ prompt: 'a dog' }]), good: (c) => Object.assign(c.sampling, { prompts: [{ prompt: 'a dog' }], atFirst: true }) },
  { code: 'sampling-without-prompts', bad: (c) => (c.sampling.everyNSteps = 200), good: (c) => Object.assign(c.sampling, { prompts: [{ prompt: 'a dog' }], everyNSteps: 200 }) },
  {
    code: 'sampling-epochs-and-steps',
    bad: (c) => Object.assign(c.sampling, { prompts: [{ prompt: 'a dog' }], everyNEpochs: 1, everyNSteps: 100 }),
    good: (c) => Object.assign(c.sampling, { prompts: [{ prompt: 'a dog' }], everyNEpochs: 1 }),
  },
  { code: 'save-state-off', bad: (c) => (c.saving.saveState = false), good: (c) => Object.assign(c.saving, { saveState: false, saveStateOnTrainEnd: true }) },
  { code: 'state-retention-without-state', bad: (c) => Object.assign(c.saving, { saveState: false, keepLastNEpochsState: 2 }), good: (c) => (c.saving.keepLastNEpochsState = 2) },
  { code: 'dataset-duplicate', bad: (c) => c.datasets.push({ dataset: 'dogs', subsets: [], regularisation: [] }), good: (c) => c.datasets.push({ dataset: 'cats', subsets: [], regularisation: [] }) },
  {
    code: 'subset-override-duplicate',
    bad: (c) => c.datasets[0]?.subsets.push({ name: 'a', include: true }, { name: 'a', include: false }),
    good: (c) => c.datasets[0]?.subsets.push({ name: 'a', include: true }, { name: 'b', include: false }),
  },
  {
    code: 'subset-override-duplicate',
    bad: (c) => c.datasets[0]?.regularisation.push({ dataset: 'reg', subsets: [{ name: 'a', include: true }, { name: 'a', include: true }] }),
    good: (c) => c.datasets[0]?.regularisation.push({ dataset: 'reg', subsets: [{ name: 'a', include: true }] }),
  },
];

describe('checkKohyaTraining', () => {
  it.each(KOHYA_FAMILIES)('%s fixture draws no finding', (family) => {
    expect(checkKohyaTraining(kohyaRun(family))).toEqual([]);
  });

  it.each(cases.map((entry, index) => [`${entry.code} #${index}`, entry] as const))('%s fires on its case and not on the fixed one', (_, entry) => {
    const family = entry.family ?? 'sdxl';
    expect(codes(kohyaRun(family, entry.bad))).toContain(entry.code);
    expect(codes(kohyaRun(family, entry.good))).not.toContain(entry.code);
  });

  it('names the exact field that changes captions under a text-encoder cache', () => {
    const config = kohyaRun('flux1', (c) => ((c.memory.cacheTextEncoderOutputs = 'disk'), c.datasets[0]?.subsets.push({ name: 'x', include: true }, { name: 'y', include: true, shuffleCaption: true })));
    expect(checkKohyaTraining(config).map((found) => [found.code, found.severity, found.path])).toEqual([
      ['te-cache-with-caption-changes', 'error', 'datasets[0].subsets[1].shuffleCaption'],
    ]);
  });

  it('grades the caching conflicts as errors and the ignored text-encoder rate as a warning', () => {
    const config = kohyaRun('sdxl', (c) => (cacheTe(c), (c.captions.shuffle = true), (c.network.trainTextEncoders = true), (c.learningRate.textEncoder = 1e-5)));
    expect(checkKohyaTraining(config).map((found) => [found.code, found.severity])).toEqual([
      ['te-cache-with-te-training', 'error'],
      ['te-cache-with-caption-changes', 'error'],
    ]);
    const ignored = kohyaRun('sdxl', (c) => (c.learningRate.textEncoder = 1e-5));
    expect(checkKohyaTraining(ignored).map((found) => [found.code, found.severity])).toEqual([['te-lr-without-te-training', 'warning']]);
  });
});
