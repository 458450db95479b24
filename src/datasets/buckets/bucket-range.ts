import { LorasmithError } from '../../core/errors.ts';
import type { BucketingOptions } from './types.ts';

export interface BucketRange {
  minBucketReso: number;
  maxBucketReso: number;
  /** What kohya logs as WARNING when it moves a bound; shown to the user, never fatal. */
  notes: string[];
}

function positiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new LorasmithError({
      code: 'bucket-option-invalid',
      message: `The bucket option ${name} is ${value}; it must be a whole number of at least 1.`,
      hint: `Set ${name} to a positive whole number (kohya's default bucket_reso_steps is 64, min/max 256/1024).`,
    });
  }
}

/** Type checks kohya's voluptuous schema makes before any bucket arithmetic runs. */
export function checkBucketingOptions(options: BucketingOptions): void {
  positiveInteger(options.resolution.width, 'resolution width');
  positiveInteger(options.resolution.height, 'resolution height');
  positiveInteger(options.bucketResoSteps, 'bucket_reso_steps');
  positiveInteger(options.minBucketReso, 'min_bucket_reso');
  positiveInteger(options.maxBucketReso, 'max_bucket_reso');
}

/**
 * kohya's `adjust_min_max_bucket_reso_by_steps` (train_util.py:747-773): `min` is floored and `max` raised to
 * a multiple of the step, then both are checked against the resolution. kohya runs this whenever
 * `enable_bucket` is set, `bucket_no_upscale` included, so a bad range fails there too.
 */
export function resolveBucketRange(options: BucketingOptions): BucketRange {
  checkBucketingOptions(options);
  const step = options.bucketResoSteps;
  const notes: string[] = [];
  let min = options.minBucketReso;
  let max = options.maxBucketReso;
  if (min % step !== 0) {
    min -= min % step;
    notes.push(`min_bucket_reso ${options.minBucketReso} is lowered to ${min}, a multiple of bucket_reso_steps ${step}.`);
  }
  if (max % step !== 0) {
    max += step - (max % step);
    notes.push(`max_bucket_reso ${options.maxBucketReso} is raised to ${max}, a multiple of bucket_reso_steps ${step}.`);
  }
  const { width, height } = options.resolution;
  if (Math.min(width, height) < min) {
    throw new LorasmithError({
      code: 'bucket-min-above-resolution',
      message: `min_bucket_reso ${min} is larger than the smaller side of the resolution ${width}×${height}; kohya stops with "min_bucket_reso must be equal or less than resolution".`,
      hint: `Lower min_bucket_reso to ${Math.min(width, height)} or less, or raise the resolution.`,
    });
  }
  if (Math.max(width, height) > max) {
    throw new LorasmithError({
      code: 'bucket-max-below-resolution',
      message: `max_bucket_reso ${max} is smaller than the larger side of the resolution ${width}×${height}; kohya stops with "max_bucket_reso must be equal or greater than resolution".`,
      hint: `Raise max_bucket_reso to ${Math.max(width, height)} or more, or lower the resolution.`,
    });
  }
  return { minBucketReso: min, maxBucketReso: max, notes };
}
