/**
 * sd-scripts' WD14 preprocessing (reference §A3, `preprocess_image` at 48d368f): composite on white,
 * RGB → BGR, pad to a square with white (extra pixel right/bottom), resize to the model's side (OpenCV
 * INTER_AREA when shrinking or equal, Pillow LANCZOS when enlarging), then float32 0–255, NHWC.
 *
 * sharp only decodes. Like Pillow, it must neither apply the embedded ICC profile nor the EXIF
 * orientation (no reference implementation calls `exif_transpose`), and the alpha compositing is done here
 * because sharp's `flatten` rounds differently (§A7).
 */
import { LorasmithError } from '../../core/errors.ts';
import { loadSharp } from '../../core/load-sharp.ts';
import { resizeArea } from './resize-area.ts';
import { resizeLanczos } from './resize-lanczos.ts';

export interface PreprocessParams {
  /** An image file, or its bytes. */
  input: string | Uint8Array;
  /** The model's input side (448 for every WD14 tagger; read from the model). */
  size: number;
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels: number;
  /** How the image is named in errors. */
  name: string;
}

/** Pillow's `paste(image, mask=alpha)` on white, exactly: ⌊(c·a + 255·(255−a))/255 + ½⌋ (§A3). */
function onWhite(c: number, a: number): number {
  return Math.floor((2 * (c * a + 255 * (255 - a)) + 255) / 510);
}

async function decodeRgba(params: PreprocessParams): Promise<{ rgba: Buffer; width: number; height: number }> {
  const sharp = await loadSharp();
  try {
    const { data, info } = await sharp(params.input, { ignoreIcc: true, autoOrient: false, limitInputPixels: params.maxPixels })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error(`decoded to ${info.channels} channels, expected 4`);
    return { rgba: data, width: info.width, height: info.height };
  } catch (error) {
    throw new LorasmithError({
      code: 'tagger-image-unreadable',
      message: `The image ${params.name} could not be decoded for tagging: ${error instanceof Error ? error.message : String(error)}.`,
      hint: `Check that the file is a complete PNG, JPEG or WebP of at most ${params.maxPixels} pixels; re-export it if it is damaged.`,
      cause: error,
    });
  }
}

/** One image as the model's input: `size`×`size`×3 float32, BGR, 0–255. */
export async function preprocessImage(params: PreprocessParams): Promise<Float32Array> {
  const { rgba, width, height } = await decodeRgba(params);
  const side = Math.max(width, height);
  const left = Math.floor((side - width) / 2);
  const top = Math.floor((side - height) / 2);
  // Row `y` of the padded BGR square, made on demand so a large padded square is never held whole.
  const readRow = (y: number, out: Uint8Array): void => {
    out.fill(255);
    const sy = y - top;
    if (sy < 0 || sy >= height) return;
    for (let x = 0; x < width; x++) {
      const s = (sy * width + x) * 4;
      const a = rgba[s + 3] ?? 255;
      const d = (left + x) * 3;
      out[d] = onWhite(rgba[s + 2] ?? 0, a);
      out[d + 1] = onWhite(rgba[s + 1] ?? 0, a);
      out[d + 2] = onWhite(rgba[s] ?? 0, a);
    }
  };
  let pixels: Uint8Array;
  if (side >= params.size) {
    pixels = resizeArea({ source: { width: side, height: side, readRow }, size: params.size });
  } else {
    const square = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++) readRow(y, square.subarray(y * side * 3, (y + 1) * side * 3));
    pixels = resizeLanczos({ pixels: square, width: side, height: side, outWidth: params.size, outHeight: params.size });
  }
  return Float32Array.from(pixels);
}
