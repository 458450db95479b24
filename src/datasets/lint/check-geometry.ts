import { resolveBucketRange } from '../buckets/bucket-range.ts';
import { makeBucketResolutions } from '../buckets/make-bucket-resolutions.ts';
import { createBucketSelector } from '../buckets/select-bucket.ts';
import type { BucketingOptions, Size } from '../buckets/types.ts';
import type { LintFinding } from './types.ts';

/** Without buckets every image is centre-cropped to the one resolution; beyond this share lost, say so. */
export const MAX_CROP_WITHOUT_BUCKETS = 0.25;

const percent = (fraction: number): string => `${Math.round(fraction * 100)}%`;
const ratio = (size: Size): number => size.width / size.height;

/**
 * The aspect ratios the bucket set covers (predefined buckets only): an image outside it is cropped more
 * than bucketing is meant to allow. With bucket_no_upscale every image gets its own bucket, so none is out.
 */
function aspectRange(bucketing: BucketingOptions): { min: number; max: number } | undefined {
  if (!bucketing.enableBucket || bucketing.bucketNoUpscale) return undefined;
  const range = resolveBucketRange(bucketing);
  const ratios = makeBucketResolutions({ ...range, resolution: bucketing.resolution, bucketResoSteps: bucketing.bucketResoSteps }).map(ratio);
  return { min: Math.min(...ratios), max: Math.max(...ratios) };
}

/** Size and shape findings for one image; throws at once, before any image is read, on a bad bucket range. */
export function createGeometryCheck(bucketing: BucketingOptions): (image: string, size: Size) => LintFinding[] {
  const select = createBucketSelector(bucketing);
  const range = aspectRange(bucketing);
  const { width: targetW, height: targetH } = bucketing.resolution;
  return (image, size) => {
    const findings: LintFinding[] = [];
    const { bucket } = select(size);
    const dimensions = `${size.width}×${size.height}`;
    if (bucket.width === 0 || bucket.height === 0) {
      findings.push({
        code: 'image-below-resolution',
        severity: 'error',
        message: `${image} is ${dimensions}: a side is shorter than bucket_reso_steps ${bucketing.bucketResoSteps}, so its bucket would be ${bucket.width}×${bucket.height}.`,
        hint: 'Remove the image or replace it with a larger one.',
        image,
      });
      return findings;
    }
    const share = (size.width * size.height) / (targetW * targetH);
    if (share < 1) {
      findings.push({
        code: 'image-below-resolution',
        severity: 'warning',
        message: `${image} is ${dimensions}, ${percent(share)} of the pixels of the ${targetW}×${targetH} training resolution; ${
          bucketing.enableBucket && bucketing.bucketNoUpscale ? `it trains in a smaller ${bucket.width}×${bucket.height} bucket` : 'kohya upscales it'
        }.`,
        hint: 'Use a larger original if you have one; upscaled images teach softness. Or lower the training resolution.',
        image,
      });
    }
    const crop = 1 - Math.min(ratio(size) / ratio(bucket), ratio(bucket) / ratio(size));
    const outside =
      range === undefined
        ? !bucketing.enableBucket && crop > MAX_CROP_WITHOUT_BUCKETS
        : ratio(size) < range.min || ratio(size) > range.max;
    if (outside) {
      findings.push({
        code: 'extreme-aspect-ratio',
        severity: 'warning',
        message: `${image} (${dimensions}, aspect ${ratio(size).toFixed(2)}) is ${
          range === undefined ? 'far from the training resolution’s shape' : `beyond the bucket range ${range.min.toFixed(2)}–${range.max.toFixed(2)}`
        }; the ${bucket.width}×${bucket.height} bucket crops ${percent(crop)} of it away.`,
        hint: bucketing.enableBucket
          ? 'Crop the image to a less extreme shape yourself, so you choose what is kept, or widen the bucket range (min/max_bucket_reso).'
          : 'Enable aspect-ratio bucketing, or crop the image to the training shape yourself.',
        image,
      });
    }
    return findings;
  };
}
