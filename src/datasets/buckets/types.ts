/** A width × height pair in pixels: an image's header size, a bucket, or a resize target. */
export interface Size {
  width: number;
  height: number;
}

/**
 * kohya sd-scripts' dataset-level bucket keys (reference kohya-sd-scripts.md §2.1), camel-cased.
 * `resolution` is the training resolution `(W, H)`; an int `n` in kohya means `{ width: n, height: n }`.
 */
export interface BucketingOptions {
  resolution: Size;
  enableBucket: boolean;
  minBucketReso: number;
  maxBucketReso: number;
  bucketResoSteps: number;
  bucketNoUpscale: boolean;
}

/** sd-scripts' defaults for everything but the resolution, which it requires. */
export const KOHYA_BUCKET_DEFAULTS: Omit<BucketingOptions, 'resolution'> = {
  enableBucket: false,
  minBucketReso: 256,
  maxBucketReso: 1024,
  bucketResoSteps: 64,
  bucketNoUpscale: false,
};

/** One image as the bucket and step functions see it: its path relative to the dataset and header size. */
export interface ImageSize extends Size {
  image: string;
}

/** Where kohya puts one image: the bucket, and the size it is resized to before the centre crop. */
export interface BucketChoice {
  bucket: Size;
  resized: Size;
}
