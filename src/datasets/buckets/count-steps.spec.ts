import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { countDatasetBatches, countSteps, type StepsSubset } from './count-steps.ts';
import { KOHYA_BUCKET_DEFAULTS, type BucketingOptions, type ImageSize } from './types.ts';

const images = (prefix: string, specs: Array<[number, number, number]>): ImageSize[] =>
  specs.flatMap(([count, width, height], group) =>
    Array.from({ length: count }, (_, i) => ({ image: `${prefix}/${group}-${i}.png`, width, height })),
  );

// Reference kohya-sd-scripts.md §2.4 "Test fixture".
const fixtureImages = images('train', [
  [3, 1024, 1024],
  [2, 832, 1216],
  [1, 1920, 1080],
  [1, 500, 700],
]);
const fixtureBucketing: BucketingOptions = {
  ...KOHYA_BUCKET_DEFAULTS,
  resolution: { width: 1024, height: 1024 },
  enableBucket: true,
  minBucketReso: 256,
  maxBucketReso: 1024,
  bucketResoSteps: 64,
};
const fixtureTraining = { gradientAccumulationSteps: 2, numProcesses: 1, maxTrainEpochs: 3 };
const fixtureSubset: StepsSubset = { name: 'train', images: fixtureImages, repeats: 2, isReg: false };

describe('countSteps — the reference worked example', () => {
  it('enable_bucket: 7 batches, 4 steps per epoch, 12 steps', () => {
    const plan = countSteps({
      datasets: [{ bucketing: fixtureBucketing, batchSize: 2, subsets: [fixtureSubset] }],
      training: fixtureTraining,
    });
    expect(plan.datasets[0]?.buckets).toEqual([
      { width: 704, height: 1024, count: 6 },
      { width: 1024, height: 576, count: 2 },
      { width: 1024, height: 1024, count: 6 },
    ]);
    expect(plan).toMatchObject({ batchesPerEpoch: 7, stepsPerEpoch: 4, maxTrainSteps: 12, epochs: 3 });
  });

  it('enable_bucket + bucket_no_upscale: per-image buckets, same totals', () => {
    const plan = countSteps({
      datasets: [{ bucketing: { ...fixtureBucketing, bucketNoUpscale: true }, batchSize: 2, subsets: [fixtureSubset] }],
      training: fixtureTraining,
    });
    expect(plan.datasets[0]?.buckets).toEqual([
      { width: 448, height: 640, count: 2 },
      { width: 832, height: 1216, count: 4 },
      { width: 1024, height: 1024, count: 6 },
      { width: 1344, height: 768, count: 2 },
    ]);
    expect(plan).toMatchObject({ batchesPerEpoch: 7, stepsPerEpoch: 4, maxTrainSteps: 12, epochs: 3 });
  });
});

describe('countSteps — kohya arithmetic', () => {
  const square = images('a', [[10, 512, 512]]);
  const plain = (subsets: StepsSubset[], batchSize = 1) => [
    { bucketing: { ...KOHYA_BUCKET_DEFAULTS, resolution: { width: 512, height: 512 } }, batchSize, subsets },
  ];

  it('without bucketing every image is one (W,H) bucket; ceil per bucket with the batch size', () => {
    const mixed = images('a', [[3, 512, 512], [2, 2000, 300]]);
    const plan = countSteps({ datasets: plain([{ name: 'a', images: mixed, repeats: 3, isReg: false }], 4), training: { gradientAccumulationSteps: 1, numProcesses: 1, maxTrainEpochs: 1 } });
    expect(plan.datasets[0]?.buckets).toEqual([{ width: 512, height: 512, count: 15 }]);
    expect(plan.batchesPerEpoch).toBe(4);
  });

  it('max_train_steps alone: default 1600, epochs = ceil(steps / steps per epoch)', () => {
    const subsets = [{ name: 'a', images: square, repeats: 3, isReg: false }];
    expect(countSteps({ datasets: plain(subsets), training: { gradientAccumulationSteps: 1, numProcesses: 1 } })).toMatchObject({
      batchesPerEpoch: 30,
      stepsPerEpoch: 30,
      maxTrainSteps: 1600,
      epochs: 54,
    });
    expect(countSteps({ datasets: plain(subsets), training: { gradientAccumulationSteps: 4, numProcesses: 1, maxTrainSteps: 100 } })).toMatchObject({
      stepsPerEpoch: 8,
      maxTrainSteps: 100,
      epochs: 13,
    });
  });

  it('max_train_epochs overrides max_train_steps and divides by processes and accumulation', () => {
    const subsets = [{ name: 'a', images: square, repeats: 3, isReg: false }];
    const plan = countSteps({ datasets: plain(subsets), training: { gradientAccumulationSteps: 2, numProcesses: 4, maxTrainEpochs: 5, maxTrainSteps: 9999 } });
    // 30 batches / 4 processes = 7.5 → 8 per process; / 2 → 4 steps per epoch.
    expect(plan).toMatchObject({ batchesPerEpoch: 30, stepsPerEpoch: 4, maxTrainSteps: 20, epochs: 5 });
  });

  it('skips subsets with repeats below 1 and concatenates datasets', () => {
    const plan = countSteps({
      datasets: [
        ...plain([{ name: 'a', images: square, repeats: 1, isReg: false }, { name: 'off', images: square, repeats: 0, isReg: false }], 3),
        ...plain([{ name: 'b', images: square.slice(0, 5), repeats: 2, isReg: false }], 4),
      ],
      training: { gradientAccumulationSteps: 1, numProcesses: 1, maxTrainEpochs: 1 },
    });
    expect(plan.datasets.map((d) => d.batches)).toEqual([4, 3]);
    expect(plan.batchesPerEpoch).toBe(7);
  });

  it('refuses a plan with nothing to train and bad numbers, saying which', () => {
    const codeOf = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        if (isLorasmithError(error)) return error.code;
        throw error;
      }
      return undefined;
    };
    const training = { gradientAccumulationSteps: 1, numProcesses: 1 };
    expect(codeOf(() => countSteps({ datasets: plain([{ name: 'a', images: [], repeats: 1, isReg: false }]), training }))).toBe('steps-no-images');
    expect(codeOf(() => countSteps({ datasets: plain([{ name: 'a', images: square, repeats: 1, isReg: false }], 0), training }))).toBe('steps-option-invalid');
    expect(codeOf(() => countSteps({ datasets: plain([{ name: 'a', images: square, repeats: 1.5, isReg: false }]), training }))).toBe('steps-option-invalid');
    expect(codeOf(() => countSteps({ datasets: plain([{ name: 'a', images: square, repeats: 1, isReg: false }]), training: { ...training, gradientAccumulationSteps: 0 } }))).toBe('steps-option-invalid');
  });
});

describe('regularisation balancing', () => {
  const bucketing = { ...KOHYA_BUCKET_DEFAULTS, resolution: { width: 512, height: 512 } };

  it('a large reg pool is only partly used, overshooting by up to repeats − 1', () => {
    // T = 5 × 2 = 10. Reg images with repeats 3: 3, 6, 9, 12 ≥ 10 → four images, 12 entries.
    const result = countDatasetBatches({
      bucketing,
      batchSize: 1,
      subsets: [
        { name: 'train', images: images('train', [[5, 512, 512]]), repeats: 2, isReg: false },
        { name: 'reg', images: images('reg', [[20, 512, 512]]), repeats: 3, isReg: true },
      ],
    });
    expect(result).toMatchObject({ trainImagesWithRepeats: 10, regImagesWithRepeats: 60, regImagesUsed: 4, regImagesUsedWithRepeats: 12, batches: 22 });
  });

  it('a small reg pool gets extra repeats, one per image per pass, until it equals the train total', () => {
    // T = 4 × 5 = 20. Three reg images at 2: first pass 6, then +1 each until 20 → 14 more.
    const result = countDatasetBatches({
      bucketing,
      batchSize: 1,
      subsets: [
        { name: 'train', images: images('train', [[4, 512, 512]]), repeats: 5, isReg: false },
        { name: 'reg', images: images('reg', [[3, 512, 512]]), repeats: 2, isReg: true },
      ],
    });
    expect(result).toMatchObject({ regImagesWithRepeats: 6, regImagesUsed: 3, regImagesUsedWithRepeats: 20, batches: 40 });
  });

  it('balanced reg images are bucketed with their final repeats', () => {
    const result = countDatasetBatches({
      bucketing: { ...bucketing, enableBucket: true },
      batchSize: 2,
      subsets: [
        { name: 'train', images: images('train', [[2, 512, 512]]), repeats: 2, isReg: false },
        // Sorted by path, reg/0-0 (wide) comes first and takes all four entries.
        { name: 'reg', images: [{ image: 'reg/1-0.png', width: 512, height: 512 }, { image: 'reg/0-0.png', width: 1024, height: 512 }], repeats: 4, isReg: true },
      ],
    });
    expect(result.buckets).toEqual([
      { width: 512, height: 512, count: 4 },
      { width: 704, height: 320, count: 4 },
    ]);
    expect(result.regImagesUsed).toBe(1);
  });

  it('no train images means no reg images are used', () => {
    const result = countDatasetBatches({
      bucketing,
      batchSize: 1,
      subsets: [{ name: 'reg', images: images('reg', [[3, 512, 512]]), repeats: 1, isReg: true }],
    });
    expect(result).toMatchObject({ regImagesUsed: 0, batches: 0 });
  });
});
