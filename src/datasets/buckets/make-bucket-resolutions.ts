import type { Size } from './types.ts';

export interface MakeBucketResolutionsParams {
  resolution: Size;
  /** Already adjusted to multiples of the step (resolveBucketRange). */
  minBucketReso: number;
  maxBucketReso: number;
  bucketResoSteps: number;
}

/**
 * kohya's `model_util.make_bucket_resolutions`: the square of the resolution's area, plus for every width
 * from min to max in steps the tallest height that keeps the area (capped at max), both orientations,
 * de-duplicated and sorted by (width, height).
 */
export function makeBucketResolutions(params: MakeBucketResolutionsParams): Size[] {
  const { minBucketReso: min, maxBucketReso: max, bucketResoSteps: step } = params;
  const area = params.resolution.width * params.resolution.height;
  const keys = new Set<string>();
  const resos: Size[] = [];
  const add = (width: number, height: number): void => {
    const key = `${width}x${height}`;
    if (keys.has(key)) return;
    keys.add(key);
    resos.push({ width, height });
  };
  const side = Math.floor(Math.sqrt(area) / step) * step;
  add(side, side);
  for (let width = min; width <= max; width += step) {
    const height = Math.min(max, Math.floor(Math.floor(area / width) / step) * step);
    if (height >= min) {
      add(width, height);
      add(height, width);
    }
  }
  return resos.sort((a, b) => a.width - b.width || a.height - b.height);
}
