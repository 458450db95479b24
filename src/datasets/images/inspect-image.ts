/**
 * First look at an image file (ARC-R06): the type by magic bytes, then the header's dimensions against the
 * limits, all before any decoder runs.
 */
import { isLorasmithError } from '../../core/errors.ts';
import { openFileSource } from '../../formats/torch/byte-source.ts';
import { readDeclaredDimensions } from './declared-dimensions.ts';
import { imageRefused } from './image-error.ts';
import type { ImageLimits } from './image-limits.ts';
import { SNIFF_BYTES, TYPE_LABELS, sniffImageType } from './image-types.ts';
import type { ImageType } from './image-types.ts';

export interface InspectedImage {
  type: ImageType;
  /** As the header declares them, before any EXIF orientation. */
  width: number;
  height: number;
}

export async function inspectImage(params: { file: string; name: string; limits: ImageLimits }): Promise<InspectedImage> {
  const { name, limits } = params;
  const source = await openFileSource(params.file);
  try {
    const sniffed = sniffImageType(await source.read(0, Math.min(SNIFF_BYTES, source.size)));
    if (sniffed.type === undefined) throw imageRefused({ file: name, reason: `its content is ${sniffed.label}, not an image type lorasmith imports` });
    const label = TYPE_LABELS[sniffed.type];
    let dimensions;
    try {
      dimensions = await readDeclaredDimensions({ source, type: sniffed.type });
    } catch (error) {
      if (isLorasmithError(error) && error.code === 'formats.read_range') throw imageRefused({ file: name, reason: `it is a truncated ${label} file` });
      throw error;
    }
    if (dimensions === undefined || dimensions.width === 0 || dimensions.height === 0) {
      throw imageRefused({ file: name, reason: `its ${label} header is malformed${sniffed.type === 'heic' ? ' (HEIC could not be read)' : ''}` });
    }
    const { width, height } = dimensions;
    if (width > limits.maxImageSide || height > limits.maxImageSide || width * height > limits.maxImagePixels) {
      throw imageRefused({
        file: name,
        reason: `its ${label} header declares ${width}×${height} pixels, over the limit of ${limits.maxImagePixels / 1e6} megapixels and ${limits.maxImageSide} pixels a side`,
      });
    }
    return { type: sniffed.type, width, height };
  } finally {
    await source.close();
  }
}
