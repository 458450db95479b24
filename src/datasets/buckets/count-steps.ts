/**
 * kohya's step arithmetic (reference kohya-sd-scripts.md §2.4), as pure functions over image sizes, so the
 * dataset page and the training planner compute the same numbers sd-scripts will print.
 */
import { LorasmithError } from '../../core/errors.ts';
import { compareCodePoints } from '../captions/dataset-files.ts';
import { balanceRegularisation, type RepeatedImage } from './balance-regularisation.ts';
import { createBucketSelector } from './select-bucket.ts';
import type { BucketingOptions, ImageSize, Size } from './types.ts';

export interface StepsSubset {
  name: string;
  images: readonly ImageSize[];
  /** kohya `num_repeats`; a subset below 1 is skipped, as kohya skips it. */
  repeats: number;
  isReg: boolean;
}

export interface StepsDataset {
  bucketing: BucketingOptions;
  /** kohya `batch_size` (`--train_batch_size`). */
  batchSize: number;
  subsets: readonly StepsSubset[];
}

export interface StepsTraining {
  gradientAccumulationSteps: number;
  numProcesses: number;
  /** `--max_train_epochs`; when given it overrides `maxTrainSteps`. */
  maxTrainEpochs?: number;
  /** `--max_train_steps`; kohya's default is 1600. */
  maxTrainSteps?: number;
}

export interface CountStepsParams {
  /** kohya concatenates datasets; lorasmith usually passes one. */
  datasets: readonly StepsDataset[];
  training: StepsTraining;
}

export interface DatasetSteps {
  /** Buckets in use, sorted by (width, height); `count` includes repeats, as kohya's "make buckets" table. */
  buckets: Array<Size & { count: number }>;
  /** Σ over buckets of ceil(count / batch size). */
  batches: number;
  trainImages: number;
  trainImagesWithRepeats: number;
  /** Reg images × their own repeats, before balancing: what kohya logs and records as `ss_num_reg_images`. */
  regImagesWithRepeats: number;
  /** Reg images balancing actually uses, and their repeats summed after balancing. */
  regImagesUsed: number;
  regImagesUsedWithRepeats: number;
}

export interface StepsPlan {
  datasets: DatasetSteps[];
  /** `len(train_dataloader)` before accelerate shards it across processes. */
  batchesPerEpoch: number;
  /** Optimizer steps per epoch (the progress bar counts these). */
  stepsPerEpoch: number;
  maxTrainSteps: number;
  epochs: number;
}

const KOHYA_DEFAULT_MAX_TRAIN_STEPS = 1600;

function wholeAtLeast(value: number, min: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new LorasmithError({
      code: 'steps-option-invalid',
      message: `${name} is ${value}; it must be a whole number of at least ${min}.`,
      hint: `Set ${name} to a whole number ≥ ${min}.`,
    });
  }
}

const byPath = (a: ImageSize, b: ImageSize): number => compareCodePoints(a.image, b.image);

/** One dataset's buckets and batches per epoch, regularisation balanced as kohya balances it. */
export function countDatasetBatches(dataset: StepsDataset): DatasetSteps {
  wholeAtLeast(dataset.batchSize, 1, 'batch size');
  const select = createBucketSelector(dataset.bucketing);
  const train: RepeatedImage[] = [];
  const reg: RepeatedImage[] = [];
  for (const subset of dataset.subsets) {
    wholeAtLeast(subset.repeats, 0, `repeats of subset "${subset.name}"`);
    if (subset.repeats < 1) continue;
    for (const image of [...subset.images].sort(byPath)) (subset.isReg ? reg : train).push({ image, repeats: subset.repeats });
  }
  const trainTotal = train.reduce((sum, entry) => sum + entry.repeats, 0);
  const regUsed = balanceRegularisation({ trainTotal, reg });

  const counts = new Map<string, Size & { count: number }>();
  for (const entry of [...train, ...regUsed]) {
    const { bucket } = select(entry.image);
    const key = `${bucket.width}x${bucket.height}`;
    const slot = counts.get(key) ?? { ...bucket, count: 0 };
    slot.count += entry.repeats;
    counts.set(key, slot);
  }
  const buckets = [...counts.values()].sort((a, b) => a.width - b.width || a.height - b.height);
  return {
    buckets,
    batches: buckets.reduce((sum, bucket) => sum + Math.ceil(bucket.count / dataset.batchSize), 0),
    trainImages: train.length,
    trainImagesWithRepeats: trainTotal,
    regImagesWithRepeats: reg.reduce((sum, entry) => sum + entry.repeats, 0),
    regImagesUsed: regUsed.length,
    regImagesUsedWithRepeats: regUsed.reduce((sum, entry) => sum + entry.repeats, 0),
  };
}

/**
 * Steps and epochs as train_network.py computes them: `--max_train_epochs` sets
 * `max_train_steps = epochs × ceil(batches / processes / grad_accum)`; otherwise `max_train_steps` (default
 * 1600) stands and the epoch count is `ceil(max_train_steps / steps_per_epoch)`. Steps per epoch use the
 * dataloader after accelerate shards it, ceil(batches / processes), which is the same number for one process.
 */
export function countSteps(params: CountStepsParams): StepsPlan {
  const { training } = params;
  wholeAtLeast(training.gradientAccumulationSteps, 1, 'gradient_accumulation_steps');
  wholeAtLeast(training.numProcesses, 1, 'the number of processes');
  const datasets = params.datasets.map(countDatasetBatches);
  const batchesPerEpoch = datasets.reduce((sum, dataset) => sum + dataset.batches, 0);
  if (batchesPerEpoch === 0) {
    throw new LorasmithError({
      code: 'steps-no-images',
      message: 'There is nothing to train on: no subset has images with repeats of at least 1 (kohya stops with "No data found").',
      hint: 'Add images to a training subset and give it repeats of 1 or more.',
    });
  }
  const stepsPerEpoch = Math.ceil(Math.ceil(batchesPerEpoch / training.numProcesses) / training.gradientAccumulationSteps);
  let maxTrainSteps: number;
  if (training.maxTrainEpochs !== undefined) {
    wholeAtLeast(training.maxTrainEpochs, 1, 'max_train_epochs');
    maxTrainSteps = training.maxTrainEpochs * stepsPerEpoch;
  } else {
    maxTrainSteps = training.maxTrainSteps ?? KOHYA_DEFAULT_MAX_TRAIN_STEPS;
    wholeAtLeast(maxTrainSteps, 1, 'max_train_steps');
  }
  return { datasets, batchesPerEpoch, stepsPerEpoch, maxTrainSteps, epochs: Math.ceil(maxTrainSteps / stepsPerEpoch) };
}
