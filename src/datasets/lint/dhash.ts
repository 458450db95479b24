import { loadSharp } from '../../core/load-sharp.ts';

/**
 * 64-bit difference hash: the image shrunk to 9×8 grey pixels, one bit per horizontal neighbour pair
 * (left brighter than right). Re-encoded, resized or slightly recoloured copies land within a few bits of
 * each other; different pictures differ in about half of them. Kept as two 32-bit halves so comparing
 * thousands of pairs stays in plain integer arithmetic.
 */
export interface DHash {
  high: number;
  low: number;
}

export async function dHash(image: Uint8Array): Promise<DHash> {
  const sharp = await loadSharp();
  const { data, info } = await sharp(image)
    .flatten({ background: '#ffffff' })
    .grayscale()
    .resize(9, 8, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  let high = 0;
  let low = 0;
  for (let row = 0; row < 8; row++) {
    for (let col = 0; col < 8; col++) {
      const at = (row * 9 + col) * info.channels;
      const bit = (data[at] ?? 0) > (data[at + info.channels] ?? 0) ? 1 : 0;
      if (row < 4) high = ((high << 1) | bit) >>> 0;
      else low = ((low << 1) | bit) >>> 0;
    }
  }
  return { high, low };
}

function popcount32(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

export function hammingDistance(a: DHash, b: DHash): number {
  return popcount32((a.high ^ b.high) >>> 0) + popcount32((a.low ^ b.low) >>> 0);
}
