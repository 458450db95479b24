/**
 * Pillow's `Image.resize(size, Image.LANCZOS)` for 8-bit, 3-channel pixels, ported from Pillow's
 * `libImaging/Resample.c` (same since Pillow 7; the reference used 9.4.0). sd-scripts upscales with it
 * (reference §A3), and sharp's enlargement differs from it by up to 20 levels (§A7), so we port it rather
 * than approximate it: separable passes, horizontal first, with 22-bit fixed-point coefficients and the
 * intermediate image clipped to 8 bits, exactly as Pillow does.
 */

const PRECISION_BITS = 32 - 8 - 2;
const LANCZOS_SUPPORT = 3;

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

function lanczos(x: number): number {
  return x >= -LANCZOS_SUPPORT && x < LANCZOS_SUPPORT ? sinc(x) * sinc(x / LANCZOS_SUPPORT) : 0;
}

interface Coefficients {
  /** Per output pixel: first input pixel and how many follow. */
  bounds: Int32Array;
  /** ksize fixed-point weights per output pixel. */
  weights: Int32Array;
  ksize: number;
}

/** Pillow's `precompute_coeffs` followed by `normalize_coeffs_8bpc`. */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = LANCZOS_SUPPORT * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const row = new Float64Array(ksize);
  // Pillow multiplies by the reciprocal rather than dividing; kept so the last bit agrees.
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero; the clamp to 0 follows.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const count = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < count; x++) {
      row[x] = lanczos((x + xmin - center + 0.5) * ss);
      total += row[x] ?? 0;
    }
    for (let x = 0; x < count; x++) {
      const w = (total === 0 ? (row[x] ?? 0) : (row[x] ?? 0) / total) * (1 << PRECISION_BITS);
      weights[xx * ksize + x] = Math.trunc(w < 0 ? w - 0.5 : w + 0.5);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = count;
  }
  return { bounds, weights, ksize };
}

function clip8(value: number): number {
  if (value >= 1 << (PRECISION_BITS + 8)) return 255;
  if (value <= 0) return 0;
  return value >> PRECISION_BITS;
}

/** One pass along an axis, over `lines` lines of pixels; offsets are in bytes, pixels are 3 bytes. */
function pass(params: {
  input: Uint8Array;
  output: Uint8Array;
  lines: number;
  inLength: number;
  outLength: number;
  /** From one line to the next, and from one pixel to the next along the axis, in input and output. */
  inLine: number;
  inStep: number;
  outLine: number;
  outStep: number;
}): void {
  const { bounds, weights, ksize } = coefficients(params.inLength, params.outLength);
  const half = 1 << (PRECISION_BITS - 1);
  for (let line = 0; line < params.lines; line++) {
    const inBase = line * params.inLine;
    const outBase = line * params.outLine;
    for (let o = 0; o < params.outLength; o++) {
      const first = bounds[o * 2] ?? 0;
      const count = bounds[o * 2 + 1] ?? 0;
      let s0 = half;
      let s1 = half;
      let s2 = half;
      for (let k = 0; k < count; k++) {
        const w = weights[o * ksize + k] ?? 0;
        const at = inBase + (first + k) * params.inStep;
        s0 += (params.input[at] ?? 0) * w;
        s1 += (params.input[at + 1] ?? 0) * w;
        s2 += (params.input[at + 2] ?? 0) * w;
      }
      const out = outBase + o * params.outStep;
      params.output[out] = clip8(s0);
      params.output[out + 1] = clip8(s1);
      params.output[out + 2] = clip8(s2);
    }
  }
}

/** Resize interleaved 3-channel pixels (`width`×`height`) to `outWidth`×`outHeight`. */
export function resizeLanczos(params: { pixels: Uint8Array; width: number; height: number; outWidth: number; outHeight: number }): Uint8Array {
  const { pixels, width, height, outWidth, outHeight } = params;
  let current = pixels;
  let currentWidth = width;
  // Pillow skips a pass whose axis keeps its size; a same-size pass would not be the identity.
  if (outWidth !== width) {
    const next = new Uint8Array(outWidth * height * 3);
    pass({ input: current, output: next, lines: height, inLength: width, outLength: outWidth, inLine: width * 3, inStep: 3, outLine: outWidth * 3, outStep: 3 });
    current = next;
    currentWidth = outWidth;
  }
  if (outHeight !== height) {
    const next = new Uint8Array(currentWidth * outHeight * 3);
    pass({ input: current, output: next, lines: currentWidth, inLength: height, outLength: outHeight, inLine: 3, inStep: currentWidth * 3, outLine: 3, outStep: currentWidth * 3 });
    current = next;
  }
  return current === pixels ? new Uint8Array(pixels) : current;
}
