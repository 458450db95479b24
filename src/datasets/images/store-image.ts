/**
 * Decode, normalise and store one inspected image (ARC-R06), and cache its thumbnail. PNG, JPEG and WebP
 * are copied byte for byte unless an EXIF orientation must be baked in; the other types are converted to
 * PNG. Every image is fully decoded once (for kept files, by the thumbnail pass), which is what proves it
 * is not truncated or damaged: sharp runs with `failOn: 'warning'` and the pixel limit as a second guard.
 */
import { constants as fsConstants } from 'node:fs';
import { copyFile, link, readFile } from 'node:fs/promises';
import type { Sharp, SharpOptions } from 'sharp';
import { errnoCode, isLorasmithError } from '../../core/errors.ts';
import { loadSharp, type SharpFactory } from '../../core/load-sharp.ts';
import { writeNewFile } from '../store/new-files.ts';
import { BmpError, decodeBmp } from './decode-bmp.ts';
import { imageRefused } from './image-error.ts';
import type { ImageLimits } from './image-limits.ts';
import { TYPE_LABELS, storedFormatOf } from './image-types.ts';
import type { StoredImageFormat } from './image-types.ts';
import type { InspectedImage } from './inspect-image.ts';

export interface StoredImage {
  format: StoredImageFormat;
  /** After orientation: what the UI shows and what kohya's header read sees. */
  width: number;
  height: number;
  /** The pixels were re-encoded (a conversion or a baked orientation). */
  reencoded: boolean;
}

export interface StoreImageParams {
  /** The inspected source file (in quarantine or staging). */
  file: string;
  /** For messages. */
  name: string;
  inspected: InspectedImage;
  /** New file for the stored image; must not exist. */
  output: string;
  /** New file for the thumbnail (webp); must not exist. */
  thumbnail: string;
  limits: ImageLimits;
  /**
   * The source is a private file the caller removes afterwards (an entry extracted into staging): a kept
   * image is then hard-linked into place instead of copied, which costs no new file.
   */
  privateSource?: boolean;
}

/** Errors of a filesystem (or a pair of them) that cannot hard-link: fall back to a copy. */
const NO_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/** Like the copy, link(2) never replaces anything at `output` and does not follow a link there. */
async function placeKept(params: StoreImageParams): Promise<void> {
  if (params.privateSource === true) {
    try {
      await link(params.file, params.output);
      return;
    } catch (error) {
      if (!NO_LINK.has(errnoCode(error) ?? '')) throw error;
    }
  }
  await copyFile(params.file, params.output, fsConstants.COPYFILE_EXCL);
}

async function input(sharp: SharpFactory, params: StoreImageParams, options: SharpOptions): Promise<Sharp> {
  if (params.inspected.type !== 'bmp') return sharp(params.file, options);
  const raw = decodeBmp(await readFile(params.file));
  return sharp(raw.data, { ...options, raw: { width: raw.width, height: raw.height, channels: raw.channels } });
}

async function writeThumbnail(image: Sharp, file: string, size: number): Promise<void> {
  const data = await image.resize(size, size, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 }).toBuffer();
  await writeNewFile(file, data);
}

function encode(image: Sharp, format: StoredImageFormat): Sharp {
  if (format === 'jpeg') return image.jpeg({ quality: 95 });
  if (format === 'webp') return image.webp({ quality: 95 });
  return image.png();
}

async function store(sharp: SharpFactory, params: StoreImageParams): Promise<StoredImage> {
  const { inspected, limits } = params;
  const options: SharpOptions = { limitInputPixels: limits.maxImagePixels, failOn: 'warning' };
  const format = storedFormatOf(inspected.type);
  const kept = format === inspected.type;
  // Only EXIF carries an orientation: when the header shows there is none, the decoder need not look.
  const orientation = kept && inspected.mayHaveExif ? (await sharp(params.file, options).metadata()).orientation : undefined;
  if (kept && (orientation === undefined || orientation === 1)) {
    await writeThumbnail(sharp(params.file, options), params.thumbnail, limits.thumbnailSize);
    await placeKept(params);
    return { format, width: inspected.width, height: inspected.height, reencoded: false };
  }
  // autoOrient bakes the EXIF orientation into the pixels and drops the tag; sharp writes no EXIF by default.
  const { data, info } = await encode((await input(sharp, params, options)).autoOrient(), format).toBuffer({ resolveWithObject: true });
  await writeNewFile(params.output, data);
  await writeThumbnail(sharp(data, options), params.thumbnail, limits.thumbnailSize);
  return { format, width: info.width, height: info.height, reencoded: true };
}

export async function storeImage(params: StoreImageParams): Promise<StoredImage> {
  // Loaded outside the try below, so a failed load is not reported as a damaged image.
  const sharp = await loadSharp();
  try {
    return await store(sharp, params);
  } catch (error) {
    if (isLorasmithError(error) || (typeof error === 'object' && error !== null && 'syscall' in error)) throw error;
    const label = TYPE_LABELS[params.inspected.type];
    const reason =
      error instanceof BmpError
        ? `it is a BMP lorasmith cannot read: ${error.message}`
        : params.inspected.type === 'heic'
          ? 'it is a HEIC image the installed decoder cannot read'
          : `it is a damaged or truncated ${label} file`;
    throw imageRefused({ file: params.name, reason });
  }
}
