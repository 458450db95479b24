import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { preprocessImage } from '../preprocess.ts';
const fx = JSON.parse(readFileSync('/tmp/tg/fixtures.json', 'utf8')) as Record<string, { sum: number; grid: string }>;
function pattern(w: number, h: number, alpha: boolean): { data: Uint8Array; channels: 3 | 4 } {
  const channels = alpha ? 4 : 3;
  const data = new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const o = (y * w + x) * channels;
    data[o] = (Math.floor((x * 255) / w) + ((x * 7 + y * 3) % 23)) % 256;
    data[o + 1] = (Math.floor((y * 255) / h) + ((x * y) % 17)) % 256;
    data[o + 2] = (Math.floor(((x + y) * 128) / (w + h)) + 64 + ((x * 13) % 11)) % 256;
    if (alpha) data[o + 3] = (x * 3 + y * 5) % 256;
  }
  return { data, channels };
}
for (const [name, w, h, alpha] of [['down', 1000, 700, true], ['up', 300, 200, false]] as const) {
  const { data, channels } = pattern(w, h, alpha);
  const png = await sharp(data, { raw: { width: w, height: h, channels } }).png().toBuffer();
  const t = performance.now();
  const out = await preprocessImage({ input: png, size: 448, maxPixels: 1e8, name });
  const ms = performance.now() - t;
  const sum = out.reduce((a, b) => a + b, 0);
  const grid = Buffer.from(fx[name]!.grid, 'base64');
  let max = 0; let k = 0;
  for (let y = 0; y < 448; y += 16) for (let x = 0; x < 448; x += 16) for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(out[(y * 448 + x) * 3 + c]! - grid[k++]!));
  console.log(name, sum, fx[name]!.sum, 'max grid diff', max, ms.toFixed(0) + 'ms');
}
