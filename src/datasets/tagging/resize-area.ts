/**
 * OpenCV's `cv2.resize(..., interpolation=cv2.INTER_AREA)` for shrinking 8-bit, 3-channel pixels, ported
 * from `imgproc/src/resize.cpp`: sd-scripts shrinks with it (reference §A3) and sharp has no area kernel.
 * Integer factors take OpenCV's fast box path (2× with its SIMD rounding, `(sum + 2) >> 2`); other factors
 * its area-weighted path, computed in float32 as OpenCV does (Math.fround on every step) and rounded half
 * to even as `saturate_cast<uchar>` does.
 *
 * The source comes row by row through `readRow`, so a padded square is never held whole in memory.
 */

export interface AreaSource {
  width: number;
  height: number;
  /** Fill `out` (width × 3 bytes) with row `y`. */
  readRow(y: number, out: Uint8Array): void;
}

const f32 = Math.fround;

function roundHalfEven(value: number): number {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

function saturate(value: number): number {
  return Math.min(255, Math.max(0, roundHalfEven(value)));
}

interface AreaTap {
  out: number;
  src: number;
  weight: number;
}

/** OpenCV's `computeResizeAreaTab`: which source pixels feed each output pixel, and with what weight. */
function areaTaps(inSize: number, outSize: number, scale: number): AreaTap[] {
  const taps: AreaTap[] = [];
  for (let out = 0; out < outSize; out++) {
    const fsx1 = out * scale;
    const fsx2 = fsx1 + scale;
    const cellWidth = Math.min(scale, inSize - fsx1);
    const sx2 = Math.min(Math.floor(fsx2), inSize - 1);
    const sx1 = Math.min(Math.ceil(fsx1), sx2);
    if (sx1 - fsx1 > 1e-3) taps.push({ out, src: sx1 - 1, weight: f32((sx1 - fsx1) / cellWidth) });
    for (let sx = sx1; sx < sx2; sx++) taps.push({ out, src: sx, weight: f32(1 / cellWidth) });
    if (fsx2 - sx2 > 1e-3) taps.push({ out, src: sx2, weight: f32(Math.min(fsx2 - sx2, 1, cellWidth) / cellWidth) });
  }
  return taps;
}

function resizeAreaFast(source: AreaSource, size: number, factor: number): Uint8Array {
  const output = new Uint8Array(size * size * 3);
  const row = new Uint8Array(source.width * 3);
  const sums = new Float64Array(size * 3);
  const inverseArea = f32(1 / (factor * factor));
  for (let oy = 0; oy < size; oy++) {
    sums.fill(0);
    for (let y = oy * factor; y < (oy + 1) * factor; y++) {
      source.readRow(y, row);
      for (let x = 0; x < size * factor; x++) {
        const o = Math.floor(x / factor) * 3;
        sums[o] = (sums[o] ?? 0) + (row[x * 3] ?? 0);
        sums[o + 1] = (sums[o + 1] ?? 0) + (row[x * 3 + 1] ?? 0);
        sums[o + 2] = (sums[o + 2] ?? 0) + (row[x * 3 + 2] ?? 0);
      }
    }
    for (let i = 0; i < size * 3; i++) {
      const sum = sums[i] ?? 0;
      output[oy * size * 3 + i] = factor === 2 ? (sum + 2) >> 2 : saturate(f32(sum * inverseArea));
    }
  }
  return output;
}

function resizeAreaWeighted(source: AreaSource, size: number, scale: number): Uint8Array {
  const output = new Uint8Array(size * size * 3);
  const xTaps = areaTaps(source.width, size, scale);
  const yTaps = areaTaps(source.height, size, scale);
  const row = new Uint8Array(source.width * 3);
  const buf = new Float32Array(size * 3);
  const sum = new Float32Array(size * 3);
  let previous = yTaps[0]?.out ?? 0;
  for (const yTap of yTaps) {
    source.readRow(yTap.src, row);
    buf.fill(0);
    for (const xTap of xTaps) {
      const d = xTap.out * 3;
      const s = xTap.src * 3;
      buf[d] = (buf[d] ?? 0) + f32((row[s] ?? 0) * xTap.weight);
      buf[d + 1] = (buf[d + 1] ?? 0) + f32((row[s + 1] ?? 0) * xTap.weight);
      buf[d + 2] = (buf[d + 2] ?? 0) + f32((row[s + 2] ?? 0) * xTap.weight);
    }
    if (yTap.out !== previous) {
      for (let i = 0; i < size * 3; i++) {
        output[previous * size * 3 + i] = saturate(sum[i] ?? 0);
        sum[i] = f32(yTap.weight * (buf[i] ?? 0));
      }
      previous = yTap.out;
    } else {
      for (let i = 0; i < size * 3; i++) sum[i] = (sum[i] ?? 0) + f32(yTap.weight * (buf[i] ?? 0));
    }
  }
  for (let i = 0; i < size * 3; i++) output[previous * size * 3 + i] = saturate(sum[i] ?? 0);
  return output;
}

/** Shrink a square source (side ≥ `size`) to `size`×`size`. */
export function resizeArea(params: { source: AreaSource; size: number }): Uint8Array {
  const { source, size } = params;
  const scale = source.width / size;
  const factor = Math.round(scale);
  return Math.abs(scale - factor) < Number.EPSILON ? resizeAreaFast(source, size, factor) : resizeAreaWeighted(source, size, scale);
}
