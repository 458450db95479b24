import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { preprocessImage } from './preprocess.ts';

const S = 448;
const at = (y: number, x: number) => (y * S + x) * 3;
const bgr = (out: Float32Array, y: number, x: number) => [out[at(y, x)], out[at(y, x) + 1], out[at(y, x) + 2]];

async function png(width: number, height: number, channels: 3 | 4, fill: (x: number, y: number) => number[]): Promise<Buffer> {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(fill(x, y), (y * width + x) * channels);
  return sharp(data, { raw: { width, height, channels } }).png().toBuffer();
}

const preprocess = (input: Buffer) => preprocessImage({ input, size: S, maxPixels: 100_000_000, name: 'test.png' });

describe('preprocessImage — reference §A6 worked examples', () => {
  it('E1: pads to a square with white, top offset 112, BGR order, no resampling at 448', async () => {
    const input = await png(448, 223, 3, (x, y) => (x === 0 && y === 0 ? [1, 2, 3] : x === 447 && y === 222 ? [10, 20, 30] : [200, 100, 50]));
    const out = await preprocess(input);
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.length).toBe(448 * 448 * 3);
    expect(bgr(out, 111, 0)).toEqual([255, 255, 255]);
    expect(bgr(out, 112, 0)).toEqual([3, 2, 1]);
    expect(bgr(out, 112, 1)).toEqual([50, 100, 200]);
    expect(bgr(out, 334, 447)).toEqual([30, 20, 10]);
    expect(bgr(out, 335, 447)).toEqual([255, 255, 255]);
    expect([out[150528], out[150530], out[450237]]).toEqual([3, 1, 30]);
    expect(out.reduce((sum, v) => sum + v, 0)).toBe(112_077_766);
  });

  it('E2: alpha is composited on white as Pillow does (1×1 RGBA (0,0,0,128) → 127 everywhere)', async () => {
    const out = await preprocess(await png(1, 1, 4, () => [0, 0, 0, 128]));
    expect(out.every((v) => v === 127)).toBe(true);
  });

  it.each([
    [1, 254],
    [64, 191],
    [192, 63],
    [255, 0],
  ])('E2: black at alpha %i becomes %i', async (alpha, expected) => {
    const out = await preprocess(await png(1, 1, 4, () => [0, 0, 0, alpha]));
    expect(out[0]).toBe(expected);
    expect(out[out.length - 1]).toBe(expected);
  });

  it("E3: a tiny image is enlarged with Pillow's LANCZOS, as sd-scripts does (its column of the table)", async () => {
    const out = await preprocess(await png(2, 1, 3, (x) => (x === 0 ? [200, 100, 50] : [10, 20, 30])));
    expect(bgr(out, 0, 0)).toEqual([0, 85, 254]);
    expect(bgr(out, 0, 223)).toEqual([0, 4, 62]);
    expect(bgr(out, 0, 224)).toEqual([0, 4, 62]);
    expect(bgr(out, 0, 447)).toEqual([0, 0, 0]);
    expect(bgr(out, 223, 0)).toEqual([155, 189, 254]);
    expect(bgr(out, 224, 0)).toEqual([156, 189, 255]);
    expect(bgr(out, 447, 0)).toEqual([255, 255, 255]);
  });
});

describe('preprocessImage — against sd-scripts run with Pillow 9.4.0 and OpenCV (preprocess-fixtures.json)', () => {
  interface Fixture {
    name: string;
    width: number;
    height: number;
    alpha: boolean;
    sum: number;
    grid: string;
  }
  const fixtures = readFile(new URL('./preprocess-fixtures.json', import.meta.url), 'utf8').then((text) => (JSON.parse(text) as { cases: Fixture[] }).cases);

  /** The generator of fixtures.py's `pattern()`, in integer arithmetic. */
  const pattern = (w: number, h: number, alpha: boolean) => (x: number, y: number) => [
    (Math.floor((x * 255) / w) + ((x * 7 + y * 3) % 23)) % 256,
    (Math.floor((y * 255) / h) + ((x * y) % 17)) % 256,
    (Math.floor(((x + y) * 128) / (w + h)) + 64 + ((x * 13) % 11)) % 256,
    ...(alpha ? [(x * 3 + y * 5) % 256] : []),
  ];

  it.each(['area-weighted 1000x700 RGBA', 'area-2x 896x500 RGB', 'area-3x 1344x1344 RGB', 'lanczos 300x200 RGB', 'lanczos 37x90 RGBA'])('%s', async (name) => {
    const fixture = (await fixtures).find((c) => c.name === name);
    if (fixture === undefined) throw new Error(`no fixture ${name}`);
    const out = await preprocess(await png(fixture.width, fixture.height, fixture.alpha ? 4 : 3, pattern(fixture.width, fixture.height, fixture.alpha)));
    const grid = Buffer.from(fixture.grid, 'base64');
    const deltas: number[] = [];
    let k = 0;
    for (let y = 0; y < S; y += 16) for (let x = 0; x < S; x += 16) for (let c = 0; c < 3; c++) deltas.push(Math.abs((out[at(y, x) + c] ?? -1) - (grid[k++] ?? -1)));
    // The issue allows ±2 when shrinking and ±24 / mean ≤ 5 when enlarging (what sharp's kernels reach,
    // §A7); the ports of INTER_AREA and LANCZOS are bit-exact, so anything but 0 is a regression.
    expect(Math.max(...deltas)).toBe(0);
    expect(out.reduce((sum, v) => sum + v, 0)).toBe(fixture.sum);
  });
});

describe('preprocessImage — decoding like Pillow', () => {
  it('ignores the EXIF orientation (no implementation calls exif_transpose)', async () => {
    const plain = await png(448, 224, 3, () => [200, 100, 50]);
    const rotated = await sharp(plain).withMetadata({ orientation: 6 }).png().toBuffer();
    expect((await sharp(rotated).metadata()).orientation).toBe(6);
    const out = await preprocess(rotated);
    expect(bgr(out, 111, 200)).toEqual([255, 255, 255]);
    expect(bgr(out, 112, 200)).toEqual([50, 100, 200]);
  });

  it('refuses a file that is not an image, with a hint', async () => {
    await expect(preprocess(Buffer.from('not an image'))).rejects.toMatchObject({ code: 'tagger-image-unreadable', hint: expect.stringContaining('PNG') });
  });

  it('refuses an image over the pixel limit', async () => {
    const input = await png(100, 100, 3, () => [0, 0, 0]);
    await expect(preprocessImage({ input, size: S, maxPixels: 9_999, name: 'big.png' })).rejects.toMatchObject({ code: 'tagger-image-unreadable' });
  });
});
