/**
 * A small BMP decoder: the sharp build has no BMP loader, and kohya reads .bmp, so ARC-R06 converts BMP to
 * PNG. Covers what cameras, scanners and Paint write: OS/2 core and Windows info headers (v3–v5),
 * 1/4/8-bit palettes, 16/24/32-bit pixels, bit-field masks. RLE and embedded JPEG/PNG are refused.
 * The caller has checked the declared dimensions already; here every read is bounded by the buffer.
 */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

export class BmpError extends Error {}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

interface Mask {
  mask: number;
  shift: number;
  max: number;
}

function maskOf(mask: number): Mask {
  if (mask === 0) return { mask, shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { mask, shift, max: mask >>> shift };
}

const channel = (value: number, m: Mask): number => (m.max === 0 ? 0 : Math.round((((value & m.mask) >>> m.shift) * 255) / m.max));

export function decodeBmp(bytes: Uint8Array): RawImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (end: number, what: string): void => {
    if (end > bytes.length) throw new BmpError(`the file ends inside its ${what} (truncated)`);
  };
  need(26, 'header');
  const pixelOffset = view.getUint32(10, true);
  const dibSize = view.getUint32(14, true);
  const core = dibSize === 12;
  if (!core && dibSize < 40) throw new BmpError(`its header size ${dibSize} is not a known BMP header`);
  need(14 + dibSize, 'header');
  const width = core ? view.getUint16(18, true) : view.getInt32(18, true);
  const rawHeight = core ? view.getUint16(20, true) : view.getInt32(22, true);
  const bpp = view.getUint16(core ? 24 : 28, true);
  const compression = core ? BI_RGB : view.getUint32(30, true);
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width <= 0 || height === 0) throw new BmpError('its width or height is zero or negative');
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    throw new BmpError(`it uses BMP compression ${compression} (RLE or embedded JPEG/PNG), which is not read`);
  }

  let masks: [Mask, Mask, Mask, Mask] | undefined;
  let paletteOffset = 14 + dibSize;
  if (compression !== BI_RGB) {
    if (bpp !== 16 && bpp !== 32) throw new BmpError(`it has bit-field masks with ${bpp} bits per pixel`);
    // Version 3 headers keep the masks after the header; v4/v5 hold them inside.
    const at = 54;
    const count = compression === BI_ALPHABITFIELDS || dibSize >= 56 ? 4 : 3;
    need(at + count * 4, 'colour masks');
    const read = (i: number): number => (i < count ? view.getUint32(at + i * 4, true) : 0);
    masks = [maskOf(read(0)), maskOf(read(1)), maskOf(read(2)), maskOf(read(3))];
    if (dibSize === 40) paletteOffset += count * 4;
  } else if (bpp === 16) {
    masks = [maskOf(0x7c00), maskOf(0x03e0), maskOf(0x001f), maskOf(0)];
  }

  let palette: Uint8Array[] = [];
  if (bpp <= 8) {
    if (bpp !== 1 && bpp !== 4 && bpp !== 8) throw new BmpError(`it has ${bpp} bits per pixel`);
    const used = core ? 0 : view.getUint32(46, true);
    const count = used === 0 ? 1 << bpp : Math.min(used, 1 << bpp);
    const entry = core ? 3 : 4;
    need(paletteOffset + count * entry, 'palette');
    palette = Array.from({ length: count }, (_, i) => bytes.subarray(paletteOffset + i * entry, paletteOffset + i * entry + 3));
  } else if (bpp !== 16 && bpp !== 24 && bpp !== 32) {
    throw new BmpError(`it has ${bpp} bits per pixel`);
  }

  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  need(pixelOffset + stride * height, 'pixel data');
  const alpha = masks !== undefined && masks[3].mask !== 0;
  const channels = alpha ? 4 : 3;
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const out = (y * width + x) * channels;
      let r: number;
      let g: number;
      let b: number;
      let a = 255;
      if (bpp <= 8) {
        const bit = x * bpp;
        const index = ((bytes[row + (bit >> 3)] ?? 0) >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        const colour = palette[index];
        if (colour === undefined) throw new BmpError('a pixel refers to a colour outside the palette');
        [b, g, r] = [colour[0] ?? 0, colour[1] ?? 0, colour[2] ?? 0];
      } else if (bpp === 24) {
        [b, g, r] = [bytes[row + x * 3] ?? 0, bytes[row + x * 3 + 1] ?? 0, bytes[row + x * 3 + 2] ?? 0];
      } else if (masks !== undefined) {
        const value = bpp === 16 ? view.getUint16(row + x * 2, true) : view.getUint32(row + x * 4, true);
        [r, g, b, a] = [channel(value, masks[0]), channel(value, masks[1]), channel(value, masks[2]), alpha ? channel(value, masks[3]) : 255];
      } else {
        // 32 bits without masks: BGRX, the fourth byte unused.
        [b, g, r] = [bytes[row + x * 4] ?? 0, bytes[row + x * 4 + 1] ?? 0, bytes[row + x * 4 + 2] ?? 0];
      }
      data[out] = r;
      data[out + 1] = g;
      data[out + 2] = b;
      if (alpha) data[out + 3] = a;
    }
  }
  return { data, width, height, channels };
}
