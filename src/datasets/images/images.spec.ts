import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { checkCaptionText } from './caption-text.ts';
import { DEFAULT_IMAGE_LIMITS } from './image-limits.ts';
import { sniffImageType } from './image-types.ts';
import { inspectImage } from './inspect-image.ts';
import { storeImage } from './store-image.ts';
import { storedImageName } from './stored-name.ts';
import { animatedGif, avifImage, bmpImage, isoImage, jpegImage, noise, pngHeader, pngImage, tiffImage, webpImage } from './testing.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lorasmith-images-'));
});

let counter = 0;
async function importBytes(bytes: Uint8Array, name: string) {
  const id = ++counter;
  const file = path.join(dir, `in-${id}`);
  await writeFile(file, bytes);
  const inspected = await inspectImage({ file, name, limits: DEFAULT_IMAGE_LIMITS });
  const output = path.join(dir, `out-${id}-${storedImageName({ name, type: inspected.type })}`);
  const thumbnail = path.join(dir, `thumb-${id}.webp`);
  const stored = await storeImage({ file, name, inspected, output, thumbnail, limits: DEFAULT_IMAGE_LIMITS });
  return { inspected, stored, output, thumbnail, storedName: storedImageName({ name, type: inspected.type }) };
}

async function refusal(bytes: Uint8Array, name: string): Promise<string> {
  try {
    await importBytes(bytes, name);
  } catch (error) {
    if (!isLorasmithError(error)) throw error;
    expect(error.code).toBe('image-refused');
    return error.message;
  }
  throw new Error('the image was accepted');
}

describe('sniffImageType', () => {
  it('goes by magic bytes', async () => {
    expect(sniffImageType(await pngImage())).toEqual({ type: 'png' });
    expect(sniffImageType(await jpegImage())).toEqual({ type: 'jpeg' });
    expect(sniffImageType(await webpImage())).toEqual({ type: 'webp' });
    expect(sniffImageType(await animatedGif())).toEqual({ type: 'gif' });
    expect(sniffImageType(bmpImage())).toEqual({ type: 'bmp' });
    expect(sniffImageType(await tiffImage())).toEqual({ type: 'tiff' });
    expect(sniffImageType(await avifImage())).toEqual({ type: 'avif' });
    expect(sniffImageType(isoImage('heic', 4, 4))).toEqual({ type: 'heic' });
    expect(sniffImageType(Buffer.from('<?xml version="1.0"?><svg xmlns="x"/>'))).toEqual({ type: undefined, label: 'SVG' });
    expect(sniffImageType(Buffer.from('just text'))).toEqual({ type: undefined, label: 'an unrecognised format' });
  });
});

describe('storedImageName', () => {
  it('lower-cases the extension and makes it match the type', () => {
    expect(storedImageName({ name: 'a.PNG', type: 'png' })).toBe('a.png');
    expect(storedImageName({ name: 'b.jpg', type: 'png' })).toBe('b.png');
    expect(storedImageName({ name: 'c.JPEG', type: 'jpeg' })).toBe('c.jpeg');
    expect(storedImageName({ name: 'd.png', type: 'jpeg' })).toBe('d.jpg');
    expect(storedImageName({ name: 'e.gif', type: 'gif' })).toBe('e.png');
  });
});

describe('importing one image (ARC-R06)', () => {
  it('keeps a PNG byte for byte and writes a webp thumbnail', async () => {
    const png = await pngImage(600, 300);
    const result = await importBytes(png, 'a.PNG');
    expect(result.storedName).toBe('a.png');
    expect(result.stored).toEqual({ format: 'png', width: 600, height: 300, reencoded: false });
    expect(Buffer.compare(await readFile(result.output), png)).toBe(0);
    const thumb = await sharp(result.thumbnail).metadata();
    expect([thumb.format, thumb.width, thumb.height]).toEqual(['webp', 256, 128]);
  });

  it('stores a PNG named b.jpg as b.png', async () => {
    const result = await importBytes(await pngImage(), 'b.jpg');
    expect(result.storedName).toBe('b.png');
  });

  it('keeps WebP and plain JPEG', async () => {
    expect((await importBytes(await webpImage(), 'w.WEBP')).stored.format).toBe('webp');
    const jpeg = await importBytes(await jpegImage(), 'j.JPG');
    expect([jpeg.storedName, jpeg.stored.reencoded]).toEqual(['j.jpg', false]);
  });

  it('bakes EXIF orientation 6 into the pixels, drops the tag, and swaps width and height', async () => {
    const result = await importBytes(await jpegImage(40, 20, 6), 'rotated.jpg');
    expect(result.inspected).toMatchObject({ width: 40, height: 20 });
    expect(result.stored).toEqual({ format: 'jpeg', width: 20, height: 40, reencoded: true });
    const meta = await sharp(result.output).metadata();
    expect([meta.width, meta.height, meta.orientation]).toEqual([20, 40, undefined]);
  });

  it('converts an animated GIF to a PNG of its first frame', async () => {
    const result = await importBytes(await animatedGif(16, 12, 3), 'anim.gif');
    expect(result.storedName).toBe('anim.png');
    const meta = await sharp(result.output).metadata();
    expect([meta.format, meta.width, meta.height, meta.pages ?? 1]).toEqual(['png', 16, 12, 1]);
    // The first frame is noise, the others solid red: the stored pixels are not all red.
    const { data } = await sharp(result.output).raw().toBuffer({ resolveWithObject: true });
    expect(data.some((byte, i) => i % 3 === 1 && byte !== 0)).toBe(true);
  });

  it.each([
    ['BMP', bmpImage(9, 7), 9, 7],
    ['TIFF', null, 32, 24],
    ['AVIF', null, 32, 24],
  ] as const)('converts %s to PNG', async (label, given, width, height) => {
    const bytes = given ?? (label === 'TIFF' ? await tiffImage() : await avifImage());
    const result = await importBytes(bytes, `x.${label.toLowerCase()}`);
    expect(result.storedName).toBe('x.png');
    expect(result.stored).toMatchObject({ format: 'png', width, height, reencoded: true });
    expect((await sharp(result.output).metadata()).format).toBe('png');
  });

  it('decodes BMP pixels exactly', async () => {
    const result = await importBytes(bmpImage(3, 2), 'tiny.bmp');
    const { data } = await sharp(result.output).raw().toBuffer({ resolveWithObject: true });
    expect(Buffer.compare(data, noise(3, 2))).toBe(0);
  });

  it('refuses a 65535×65535 PNG header before decoding (ARC-A16)', async () => {
    const message = await refusal(pngHeader(65535, 65535), 'flood.png');
    expect(message).toMatch(/declares 65535×65535 pixels/);
    expect(await refusal(pngHeader(100_000, 100_000), 'flood2.png')).toMatch(/100000×100000/);
    expect(await refusal(pngHeader(20_000, 20_000), 'flood3.png')).toMatch(/over the limit of 100 megapixels/);
  });

  it('refuses truncated and damaged files', async () => {
    const png = await pngImage(64, 64);
    expect(await refusal(png.subarray(0, png.length - 100), 't.png')).toMatch(/damaged or truncated PNG/);
    const jpeg = await jpegImage(64, 64);
    expect(await refusal(jpeg.subarray(0, jpeg.length - 200), 't.jpg')).toMatch(/damaged or truncated JPEG/);
    expect(await refusal(png.subarray(0, 20), 'short.png')).toMatch(/truncated PNG/);
    expect(await refusal(bmpImage(8, 8).subarray(0, 100), 't.bmp')).toMatch(/BMP lorasmith cannot read/);
  });

  it('refuses an undecodable HEIC and an SVG, naming the type and the accepted ones', async () => {
    const heic = await refusal(isoImage('heic', 64, 64), 'phone.heic');
    expect(heic).toMatch(/HEIC/);
    expect(heic).toMatch(/Accepted: PNG, JPEG and WebP/);
    const svg = await refusal(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'logo.svg');
    expect(svg).toMatch(/SVG/);
    expect(svg).toMatch(/Accepted:/);
  });

  it('refuses text named as an image', async () => {
    expect(await refusal(Buffer.from('this is not a png'), 'bad.png')).toMatch(/an unrecognised format/);
  });
});

/** A JPEG with COM segments of `bytes` in all inserted right after SOI, pushing the other markers back. */
function withComments(jpeg: Buffer, bytes: number): Buffer {
  const segments: Buffer[] = [];
  for (let left = bytes; left > 0; left -= 65_533) {
    const payload = Math.min(left, 65_533);
    const head = Buffer.from([0xff, 0xfe, 0, 0]);
    head.writeUInt16BE(payload + 2, 2);
    segments.push(head, Buffer.alloc(payload, 0x20));
  }
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

describe('the header read decides whether the decoder looks for an orientation', () => {
  it('finds no EXIF in a plain JPEG, and keeps it byte for byte', async () => {
    const jpeg = await jpegImage(40, 20);
    const result = await importBytes(jpeg, 'plain.jpg');
    expect(result.inspected).toEqual({ type: 'jpeg', width: 40, height: 20, mayHaveExif: false });
    expect(result.stored.reencoded).toBe(false);
    expect(Buffer.compare(await readFile(result.output), jpeg)).toBe(0);
  });

  it('sees the EXIF block of an oriented JPEG', async () => {
    expect((await importBytes(await jpegImage(40, 20, 6), 'rotated.jpg')).inspected.mayHaveExif).toBe(true);
  });

  it('reads past the first 64 KiB when the markers go on: dimensions and an EXIF orientation behind big segments', async () => {
    const rotated = await importBytes(withComments(await jpegImage(40, 20, 6), 100_000), 'late-exif.jpg');
    expect(rotated.inspected).toMatchObject({ width: 40, height: 20, mayHaveExif: true });
    expect(rotated.stored).toEqual({ format: 'jpeg', width: 20, height: 40, reencoded: true });
    const plain = await importBytes(withComments(await jpegImage(30, 10), 100_000), 'late-frame.jpg');
    expect(plain.inspected).toEqual({ type: 'jpeg', width: 30, height: 10, mayHaveExif: false });
  });

  it('leaves other types to the decoder', async () => {
    expect((await importBytes(await pngImage(), 'p.png')).inspected.mayHaveExif).toBe(true);
    expect((await importBytes(await webpImage(), 'w.webp')).inspected.mayHaveExif).toBe(true);
  });
});

describe('storeImage with a private source', () => {
  async function store(privateSource: boolean) {
    const id = ++counter;
    const file = path.join(dir, `private-${id}.jpg`);
    await writeFile(file, await jpegImage(24, 16));
    const inspected = await inspectImage({ file, name: 'p.jpg', limits: DEFAULT_IMAGE_LIMITS });
    const output = path.join(dir, `private-out-${id}.jpg`);
    await storeImage({ file, name: 'p.jpg', inspected, output, thumbnail: path.join(dir, `private-thumb-${id}.webp`), limits: DEFAULT_IMAGE_LIMITS, privateSource });
    return { file, output, inspected };
  }

  it('links a kept image into place instead of copying it, and copies a source it does not own', async () => {
    const linked = await store(true);
    expect((await stat(linked.output)).ino).toBe((await stat(linked.file)).ino);
    const copied = await store(false);
    expect((await stat(copied.output)).ino).not.toBe((await stat(copied.file)).ino);
    expect(Buffer.compare(await readFile(copied.output), await readFile(copied.file))).toBe(0);
  });

  it('never replaces an existing file, linked or copied', async () => {
    for (const privateSource of [true, false]) {
      const file = path.join(dir, `exists-src-${privateSource}.jpg`);
      await writeFile(file, await jpegImage());
      const output = path.join(dir, `exists-out-${privateSource}.jpg`);
      await writeFile(output, 'keep me');
      const inspected = await inspectImage({ file, name: 'e.jpg', limits: DEFAULT_IMAGE_LIMITS });
      const thumbnail = path.join(dir, `exists-thumb-${privateSource}.webp`);
      await expect(storeImage({ file, name: 'e.jpg', inspected, output, thumbnail, limits: DEFAULT_IMAGE_LIMITS, privateSource })).rejects.toMatchObject({ code: 'EEXIST' });
      expect(await readFile(output, 'utf8')).toBe('keep me');
    }
  });
});

describe('checkCaptionText', () => {
  const check = (bytes: Uint8Array) => checkCaptionText({ bytes, name: 'a.txt', maxBytes: DEFAULT_IMAGE_LIMITS.maxCaptionBytes });
  it('takes UTF-8 up to 64 KiB, drops a BOM', () => {
    expect(check(Buffer.from('\ufeffsks dog, grass'))).toBe('sks dog, grass');
    expect(check(Buffer.alloc(64 * 1024, 'a'))).toHaveLength(64 * 1024);
  });
  it.each([
    ['over 64 KiB', Buffer.alloc(64 * 1024 + 1, 'a')],
    ['not UTF-8', Buffer.from([0x61, 0xff, 0x62])],
    ['NUL bytes', Buffer.from('a\u0000b')],
    ['empty', Buffer.from(' \n')],
  ])('refuses %s', (_label, bytes) => {
    expect(() => check(bytes)).toThrow(expect.objectContaining({ code: 'caption-refused' }));
  });
});
