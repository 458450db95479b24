import { mkdir, mkdtemp, realpath, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { KOHYA_BUCKET_DEFAULTS, type BucketingOptions } from '../buckets/types.ts';
import { approximateClipTokens } from './clip-tokens.ts';
import { dHash, hammingDistance } from './dhash.ts';
import { DEFAULT_NEAR_DUPLICATE_DISTANCE, lintDataset } from './lint-dataset.ts';
import { wavePicture } from './testing.ts';

const bucketing: BucketingOptions = { ...KOHYA_BUCKET_DEFAULTS, enableBucket: true, resolution: { width: 1024, height: 1024 } };

describe('dHash', () => {
  it('is 0 apart for the same picture, a few bits for a resized JPEG, far for another picture', async () => {
    const original = await wavePicture({ seed: 1, width: 512, height: 512 });
    const resized = await sharp(original).resize(300, 300).jpeg({ quality: 60 }).toBuffer();
    const other = await wavePicture({ seed: 2, width: 512, height: 512 });
    const [a, b, c] = await Promise.all([dHash(original), dHash(resized), dHash(other)]);
    if (a === undefined || b === undefined || c === undefined) throw new Error('unreachable');
    expect(hammingDistance(a, a)).toBe(0);
    expect(hammingDistance(a, b)).toBeLessThanOrEqual(DEFAULT_NEAR_DUPLICATE_DISTANCE);
    expect(hammingDistance(a, c)).toBeGreaterThan(20);
  });
});

describe('approximateClipTokens', () => {
  it('counts pieces the way CLIP splits them', () => {
    expect(approximateClipTokens('')).toBe(0);
    expect(approximateClipTokens('1girl, smile')).toBe(4); // 1 | girl | , | smile
    expect(approximateClipTokens('long_hair')).toBe(3); // long | _ | hair
    expect(approximateClipTokens("it's (masterpiece:1.2)")).toBe(10); // it 's ( masterpiece×2 : 1 . 2 )
    expect(approximateClipTokens('Thighhighs')).toBe(2);
  });
});

describe('lintDataset', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'lorasmith-lint-')));
    const put = async (file: string, data: Buffer | string) => {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), data);
    };
    const base = await wavePicture({ seed: 1, width: 1024, height: 1024 });
    await put('train/a.png', base);
    await put('train/a.txt', 'sks, smile');
    await put('train/b.png', base);
    await put('train/b.txt', 'sks');
    await put('train/c.jpg', await sharp(base).resize(800, 800).jpeg({ quality: 70 }).toBuffer());
    await put('train/d.png', await wavePicture({ seed: 2, width: 500, height: 700 }));
    await put('train/d.txt', '');
    await put('train/e.webp', await wavePicture({ seed: 3, width: 2048, height: 300, format: 'webp' }));
    await put('train/e.txt', `sks, ${Array.from({ length: 40 }, (_, i) => `tag number ${i}`).join(', ')}`);
    await put('train/f.png', 'not an image at all');
    await put('train/f.txt', 'a photo of SKS dog');
    await put('train/g.png', await wavePicture({ seed: 4, width: 1024, height: 1024 }));
    await put('train/g.txt', '\nsks, on the second line');
    await put('train/h.png', await wavePicture({ seed: 5, width: 1024, height: 1024 }));
    await put('train/h.txt', Buffer.from([0x73, 0x6b, 0x73, 0xff]));
    await put('reg/r.png', await wavePicture({ seed: 6, width: 1024, height: 1024 }));
  });

  it('reports each problem with code, severity, message, hint and image, errors first', async () => {
    const report = await lintDataset({ datasetDir: dir, bucketing, trigger: 'sks', subsets: { reg: { isReg: true, classTokens: 'dog' } } });
    expect(report.images).toBe(9);
    for (const finding of report.findings) {
      expect(finding.message.length).toBeGreaterThan(10);
      expect(finding.hint.length).toBeGreaterThan(10);
    }
    const summary = report.findings.map((f) => `${f.severity} ${f.code} ${f.image}${f.related ? ` ~ ${f.related.join(',')}` : ''}`);
    expect(summary).toEqual([
      'error caption-empty train/d.png',
      'error image-unreadable train/f.png',
      'error caption-unreadable train/h.png',
      'info caption-missing reg/r.png',
      'warning duplicate-image train/b.png ~ train/a.png',
      'warning image-below-resolution train/c.jpg',
      'warning near-duplicate-image train/c.jpg ~ train/a.png',
      'warning caption-missing train/c.jpg',
      'warning trigger-missing train/c.jpg',
      'warning image-below-resolution train/d.png',
      'warning trigger-missing train/d.png',
      'warning image-below-resolution train/e.webp',
      'warning extreme-aspect-ratio train/e.webp',
      'warning caption-too-long train/e.webp',
      'warning caption-empty train/g.png',
      'warning trigger-missing train/g.png',
    ].sort((a, b) => rank(a) - rank(b)));
    function rank(line: string) {
      return line.startsWith('error') ? 0 : line.startsWith('warning') ? 1 : 2;
    }
  });

  it('a longer token budget, no trigger and one subset narrow the report', async () => {
    const report = await lintDataset({ datasetDir: dir, subset: 'train', bucketing, maxTokenLength: 225 });
    const codes = new Set(report.findings.map((f) => f.code));
    expect(codes.has('caption-too-long')).toBe(false);
    expect(codes.has('trigger-missing')).toBe(false);
    expect(report.findings.some((f) => f.image.startsWith('reg/'))).toBe(false);
  });

  it('bucket_no_upscale and no bucketing judge aspect ratios by their own rules', async () => {
    const noUpscale = await lintDataset({ datasetDir: dir, subset: 'train', bucketing: { ...bucketing, bucketNoUpscale: true } });
    expect(noUpscale.findings.filter((f) => f.code === 'extreme-aspect-ratio')).toEqual([]);
    const fixed = await lintDataset({ datasetDir: dir, subset: 'train', bucketing: { ...bucketing, enableBucket: false } });
    // 500×700 loses 29% to a square crop, 2048×300 loses 85%.
    expect(fixed.findings.filter((f) => f.code === 'extreme-aspect-ratio').map((f) => f.image)).toEqual(['train/d.png', 'train/e.webp']);
  });

  it('refuses a bad bucket range or distance before reading images', async () => {
    const code = async (run: Promise<unknown>) => run.then(() => undefined, (error: unknown) => (isLorasmithError(error) ? error.code : error));
    expect(await code(lintDataset({ datasetDir: dir, bucketing: { ...bucketing, minBucketReso: 2048 } }))).toBe('bucket-min-above-resolution');
    expect(await code(lintDataset({ datasetDir: dir, bucketing, nearDuplicateDistance: 65 }))).toBe('lint-option-invalid');
  });
});
