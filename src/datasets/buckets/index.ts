export type { BucketChoice, BucketingOptions, ImageSize, Size } from './types.ts';
export { KOHYA_BUCKET_DEFAULTS } from './types.ts';
export { resolveBucketRange, type BucketRange } from './bucket-range.ts';
export { makeBucketResolutions, type MakeBucketResolutionsParams } from './make-bucket-resolutions.ts';
export { createBucketSelector, type BucketSelector } from './select-bucket.ts';
export { assignBuckets, type AssignBucketsParams, type BucketAssignment } from './assign-buckets.ts';
export { balanceRegularisation, type RepeatedImage } from './balance-regularisation.ts';
export {
  countDatasetBatches,
  countSteps,
  type CountStepsParams,
  type DatasetSteps,
  type StepsDataset,
  type StepsPlan,
  type StepsSubset,
  type StepsTraining,
} from './count-steps.ts';
export { readImageSizes, type SubsetImageSizes } from './read-image-sizes.ts';
