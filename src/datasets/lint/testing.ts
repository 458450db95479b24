import sharp from 'sharp';

/**
 * A test picture: smooth, seeded waves, so each seed is a different picture to a perceptual hash while
 * resized or re-encoded copies of it stay close. Only for specs; it writes nothing itself.
 */
export async function wavePicture(params: { seed: number; width: number; height: number; format?: 'png' | 'jpeg' | 'webp' }): Promise<Buffer> {
  const { seed, width, height } = params;
  const pixels = Buffer.alloc(width * height * 3);
  const a = 1 + (seed % 5);
  const b = 1 + ((seed * 7) % 4);
  const phase = seed * 1.7;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const v = y / height;
      const value = 127.5 + 127.5 * Math.sin(2 * Math.PI * (a * u + phase)) * Math.cos(2 * Math.PI * (b * v - phase / 2));
      const at = (y * width + x) * 3;
      pixels[at] = value;
      pixels[at + 1] = 255 - value;
      pixels[at + 2] = (value + seed * 40) % 256;
    }
  }
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  const format = params.format ?? 'png';
  return format === 'png' ? image.png().toBuffer() : format === 'jpeg' ? image.jpeg({ quality: 80 }).toBuffer() : image.webp().toBuffer();
}
