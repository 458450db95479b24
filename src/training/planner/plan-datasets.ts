/**
 * The planner's view of a resolved run's datasets: each subset's image header sizes (what sd-scripts buckets
 * by) with the repeats and regularisation flag the run will use, one `PlanDataset` per `[[datasets]]` (the
 * training subsets, then the regularisation subsets, as the adapter writes them).
 */
import path from 'node:path';
import { LorasmithError } from '../../core/errors.ts';
import { loadSharp } from '../../core/load-sharp.ts';
import type { ImageSize } from '../../datasets/buckets/index.ts';
import type { ResolvedRunDataset, ResolvedRunSubset } from '../engines/kohya/map-run-config.ts';
import type { PlanDataset } from './plan-run.ts';

async function subsetSizes(subset: ResolvedRunSubset): Promise<ImageSize[]> {
  const sharp = await loadSharp();
  const sizes: ImageSize[] = [];
  // One at a time: headers are cheap, thousands of open files are not. Stored size, before EXIF rotation, as kohya reads it.
  for (const file of subset.files) {
    const full = path.join(subset.dir, file);
    try {
      const { width, height } = await sharp(full).metadata();
      sizes.push({ image: `${subset.name}/${file}`, width, height });
    } catch (error) {
      throw new LorasmithError({
        code: 'image-unreadable',
        message: `The image ${full} could not be read: ${error instanceof Error ? error.message : String(error)}.`,
        hint: 'Replace or remove the image (the dataset lint lists broken images), then plan again.',
        exitCode: 1,
        status: 400,
        cause: error,
      });
    }
  }
  return sizes;
}

export async function readPlanDatasets(datasets: readonly ResolvedRunDataset[]): Promise<PlanDataset[]> {
  const planned: PlanDataset[] = [];
  for (const dataset of datasets) {
    const subsets = [...dataset.subsets, ...dataset.regularisation.flatMap((group) => group.subsets)];
    const entries = [];
    for (const subset of subsets) entries.push({ name: subset.name, images: await subsetSizes(subset), repeats: subset.repeats, isReg: subset.isReg });
    planned.push({ subsets: entries });
  }
  return planned;
}
