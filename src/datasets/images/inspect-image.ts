/**
 * First look at an image file (ARC-R06): the type by magic bytes, then the header's dimensions against the
 * limits, all before any decoder runs.
 */
import { isLorasmithError } from '../../core/errors.ts';
import { openFileSource, type ByteSource, type FileByteSource } from '../../formats/torch/byte-source.ts';
import { jpegMayHaveExif, readDeclaredDimensions } from './declared-dimensions.ts';
import { imageRefused } from './image-error.ts';
import type { ImageLimits } from './image-limits.ts';
import { SNIFF_BYTES, TYPE_LABELS, sniffImageType } from './image-types.ts';
import type { ImageType } from './image-types.ts';

export interface InspectedImage {
  type: ImageType;
  /** As the header declares them, before any EXIF orientation. */
  width: number;
  height: number;
  /**
   * False when the header proves there is no EXIF, so no orientation to bake in (a JPEG without an APP1
   * segment before its first scan); true when only the decoder can tell.
   */
  mayHaveExif: boolean;
}

/**
 * Read once up front: the sniff and the header walks (a JPEG's markers up to its first scan, a PNG's
 * IHDR) fit in it for all but odd files, which are read further as needed. A header walk is a chain of
 * small dependent reads, each a thread-pool round trip otherwise, queued behind the decoders' work there.
 */
const HEAD_BYTES = 64 * 1024;

function headFirst(source: FileByteSource, head: Uint8Array): ByteSource {
  return {
    size: source.size,
    read: (offset, length) =>
      offset >= 0 && length >= 0 && offset + length <= head.length ? Promise.resolve(head.subarray(offset, offset + length)) : source.read(offset, length),
  };
}

const isReadRange = (error: unknown): boolean => isLorasmithError(error) && error.code === 'formats.read_range';

async function mayHaveExif(type: ImageType, header: ByteSource): Promise<boolean> {
  if (type !== 'jpeg') return true;
  try {
    return await jpegMayHaveExif(header);
  } catch (error) {
    // A JPEG cut short before its first scan fails in the decoder; here it only means "ask the decoder".
    if (isReadRange(error)) return true;
    throw error;
  }
}

export async function inspectImage(params: { file: string; name: string; limits: ImageLimits }): Promise<InspectedImage> {
  const { name, limits } = params;
  const source = await openFileSource(params.file);
  try {
    const head = await source.read(0, Math.min(HEAD_BYTES, source.size));
    const header = headFirst(source, head);
    const sniffed = sniffImageType(head.subarray(0, SNIFF_BYTES));
    if (sniffed.type === undefined) throw imageRefused({ file: name, reason: `its content is ${sniffed.label}, not an image type lorasmith imports` });
    const label = TYPE_LABELS[sniffed.type];
    let dimensions;
    try {
      dimensions = await readDeclaredDimensions({ source: header, type: sniffed.type });
    } catch (error) {
      if (isReadRange(error)) throw imageRefused({ file: name, reason: `it is a truncated ${label} file` });
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
    return { type: sniffed.type, width, height, mayHaveExif: await mayHaveExif(sniffed.type, header) };
  } finally {
    await source.close();
  }
}
