/**
 * Dataset API shapes the web UI reads as the server declares them: a caption, and the step plan's request and
 * answer. Free of node: imports because the web imports these types too.
 */

export interface CaptionRecord {
  image: string;
  caption: string;
  /** False when the image has no caption file; `text` is then empty. */
  exists: boolean;
  text: string;
  tags: string[];
}

/** The bucketing and step options of `dataset steps` / `POST /api/datasets/:name/plan` (sd-scripts' names). */
export interface PlanParams {
  resolution: number;
  enableBucket: boolean;
  minBucketReso: number;
  maxBucketReso: number;
  bucketResoSteps: number;
  bucketNoUpscale: boolean;
  batchSize: number;
  gradientAccumulationSteps: number;
  maxTrainEpochs?: number;
  maxTrainSteps?: number;
}

export interface DatasetPlan {
  buckets: Array<{ width: number; height: number; images: number }>;
  /** The dataset-wide numbers of buckets/count-steps.ts `StepsPlan`. */
  steps: { batchesPerEpoch: number; stepsPerEpoch: number; maxTrainSteps: number; epochs: number };
}
