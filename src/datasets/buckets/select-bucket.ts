import { LorasmithError } from '../../core/errors.ts';
import { checkBucketingOptions, resolveBucketRange } from './bucket-range.ts';
import { makeBucketResolutions } from './make-bucket-resolutions.ts';
import type { BucketChoice, BucketingOptions, Size } from './types.ts';

export type BucketSelector = (image: Size) => BucketChoice;

/** Python's `int(x + 0.5)` for the non-negative sizes used here. */
const roundHalfUp = (x: number): number => Math.floor(x + 0.5);

/**
 * kohya's BucketManager.select_bucket with predefined buckets (train_util.py:286-306): an exact size match
 * wins, else the bucket with the nearest aspect ratio (ties go to the first in sorted order); the image is
 * scaled so it covers the bucket, to be centre-cropped.
 */
function selectPredefined(buckets: readonly Size[]): BucketSelector {
  const exact = new Map(buckets.map((bucket) => [`${bucket.width}x${bucket.height}`, bucket]));
  const ratios = buckets.map((bucket) => bucket.width / bucket.height);
  return (image) => {
    const aspect = image.width / image.height;
    let bucket = exact.get(`${image.width}x${image.height}`);
    if (bucket === undefined) {
      let best = 0;
      for (let i = 1; i < ratios.length; i++) {
        if (Math.abs((ratios[i] as number) - aspect) < Math.abs((ratios[best] as number) - aspect)) best = i;
      }
      bucket = buckets[best] as Size;
    }
    const scale = aspect > bucket.width / bucket.height ? bucket.height / image.height : bucket.width / image.width;
    return { bucket, resized: { width: roundHalfUp(image.width * scale), height: roundHalfUp(image.height * scale) } };
  };
}

/**
 * kohya's select_bucket with `bucket_no_upscale` (train_util.py:307-341): each image makes its own bucket.
 * Images within the resolution's area keep their size; larger ones are scaled to that area, rounding
 * whichever side gives the smaller aspect error. Both sides are then floored to the step (crop, no padding).
 */
function selectNoUpscale(resolution: Size, step: number): BucketSelector {
  const maxArea = resolution.width * resolution.height;
  const roundToSteps = (x: number): number => {
    const rounded = roundHalfUp(x);
    return rounded - (rounded % step);
  };
  return (image) => {
    let resized: Size = { width: image.width, height: image.height };
    if (image.width * image.height > maxArea) {
      const aspect = image.width / image.height;
      const resizedWidth = Math.sqrt(maxArea * aspect);
      const resizedHeight = maxArea / resizedWidth;
      const widthRounded = roundToSteps(resizedWidth);
      const heightInWidthRounded = roundToSteps(widthRounded / aspect);
      const heightRounded = roundToSteps(resizedHeight);
      const widthInHeightRounded = roundToSteps(heightRounded * aspect);
      const errorA = Math.abs(widthRounded / heightInWidthRounded - aspect);
      const errorB = Math.abs(widthInHeightRounded / heightRounded - aspect);
      resized =
        errorA < errorB
          ? { width: widthRounded, height: roundHalfUp(widthRounded / aspect) }
          : { width: roundHalfUp(heightRounded * aspect), height: heightRounded };
    }
    return {
      bucket: { width: resized.width - (resized.width % step), height: resized.height - (resized.height % step) },
      resized,
    };
  };
}

function checkImageSize(image: Size): void {
  if (!Number.isSafeInteger(image.width) || !Number.isSafeInteger(image.height) || image.width < 1 || image.height < 1) {
    throw new LorasmithError({
      code: 'image-size-invalid',
      message: `An image size of ${image.width}×${image.height} cannot be bucketed; sizes are whole pixels, at least 1×1.`,
      hint: 'Re-read the image header, or remove the broken image from the dataset.',
    });
  }
}

/**
 * Build kohya's bucket selector for one dataset. Without `enableBucket` there is one bucket, the resolution
 * itself. Throws what kohya asserts (bad min/max range) before any image is looked at.
 */
export function createBucketSelector(options: BucketingOptions): BucketSelector {
  checkBucketingOptions(options);
  let select: BucketSelector;
  if (!options.enableBucket) {
    select = selectPredefined([options.resolution]);
  } else {
    const range = resolveBucketRange(options);
    select = options.bucketNoUpscale
      ? selectNoUpscale(options.resolution, options.bucketResoSteps)
      : selectPredefined(makeBucketResolutions({ ...range, resolution: options.resolution, bucketResoSteps: options.bucketResoSteps }));
  }
  return (image) => {
    checkImageSize(image);
    return select(image);
  };
}
