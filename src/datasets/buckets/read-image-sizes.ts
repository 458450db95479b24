import { LorasmithError } from '../../core/errors.ts';
import { loadSharp } from '../../core/load-sharp.ts';
import { listDatasetImages, type DatasetScope } from '../captions/dataset-files.ts';
import type { ImageSize } from './types.ts';

export interface SubsetImageSizes {
  subset: string;
  images: ImageSize[];
}

/**
 * Header sizes of every image, grouped by subset in kohya's order. Like kohya's `imagesize.get`, sharp's
 * metadata is the stored width × height, before any EXIF rotation, so a rotated phone photo buckets as
 * kohya buckets it. Read one at a time: headers are cheap, and thousands of open files are not.
 */
export async function readImageSizes(scope: DatasetScope): Promise<SubsetImageSizes[]> {
  const sharp = await loadSharp();
  const groups = new Map<string, ImageSize[]>();
  for (const entry of await listDatasetImages(scope)) {
    let size: ImageSize;
    try {
      const { width, height } = await sharp(entry.imagePath).metadata();
      size = { image: entry.image, width, height };
    } catch (error) {
      throw new LorasmithError({
        code: 'image-unreadable',
        message: `The image ${entry.image} could not be read: ${error instanceof Error ? error.message : String(error)}.`,
        hint: 'Run the dataset lint to list broken images, then replace or remove them.',
        cause: error,
      });
    }
    const group = groups.get(entry.subset) ?? [];
    group.push(size);
    groups.set(entry.subset, group);
  }
  return [...groups].map(([subset, images]) => ({ subset, images }));
}
