import { createBucketSelector } from './select-bucket.ts';
import type { BucketChoice, BucketingOptions, ImageSize, Size } from './types.ts';

export interface AssignBucketsParams {
  bucketing: BucketingOptions;
  images: readonly ImageSize[];
}

export interface BucketAssignment {
  images: Array<ImageSize & BucketChoice>;
  /** Buckets in use, sorted by (width, height) as kohya prints them; counts are images, not repeats. */
  buckets: Array<Size & { images: number }>;
}

/** Which bucket kohya puts each image in, for one dataset at one target resolution. */
export function assignBuckets(params: AssignBucketsParams): BucketAssignment {
  const select = createBucketSelector(params.bucketing);
  const counts = new Map<string, Size & { images: number }>();
  const images = params.images.map((image) => {
    const choice = select(image);
    const key = `${choice.bucket.width}x${choice.bucket.height}`;
    const entry = counts.get(key) ?? { ...choice.bucket, images: 0 };
    entry.images += 1;
    counts.set(key, entry);
    return { ...image, ...choice };
  });
  const buckets = [...counts.values()].sort((a, b) => a.width - b.width || a.height - b.height);
  return { images, buckets };
}
