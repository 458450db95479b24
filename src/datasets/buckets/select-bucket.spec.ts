import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { assignBuckets } from './assign-buckets.ts';
import { resolveBucketRange } from './bucket-range.ts';
import { makeBucketResolutions } from './make-bucket-resolutions.ts';
import { createBucketSelector } from './select-bucket.ts';
import { KOHYA_BUCKET_DEFAULTS, type BucketingOptions } from './types.ts';

const at = (size: number, extra: Partial<BucketingOptions> = {}): BucketingOptions => ({
  ...KOHYA_BUCKET_DEFAULTS,
  enableBucket: true,
  resolution: { width: size, height: size },
  ...extra,
});

describe('makeBucketResolutions', () => {
  it('gives kohya’s 17 buckets for 512 with 256–1024 and step 64', () => {
    const list = makeBucketResolutions({ resolution: { width: 512, height: 512 }, minBucketReso: 256, maxBucketReso: 1024, bucketResoSteps: 64 });
    expect(list.map((b) => `${b.width}x${b.height}`)).toEqual([
      '256x832', '256x896', '256x960', '256x1024', '320x704', '320x768', '384x640', '448x576', '512x512',
      '576x448', '640x384', '704x320', '768x320', '832x256', '896x256', '960x256', '1024x256',
    ]);
  });

  it('keeps every bucket on the step grid, within [min, max] and at most the resolution’s area', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 24 }), fc.integer({ min: 4, max: 24 }), fc.constantFrom(16, 32, 64), (w, h, step) => {
        const resolution = { width: w * 64, height: h * 64 };
        const range = resolveBucketRange(at(0, { resolution, minBucketReso: 256, maxBucketReso: Math.max(resolution.width, resolution.height) + 128, bucketResoSteps: step }));
        for (const bucket of makeBucketResolutions({ ...range, resolution, bucketResoSteps: step })) {
          expect(bucket.width % step).toBe(0);
          expect(bucket.height % step).toBe(0);
          expect(bucket.width * bucket.height).toBeLessThanOrEqual(resolution.width * resolution.height);
          expect(Math.min(bucket.width, bucket.height)).toBeGreaterThanOrEqual(range.minBucketReso);
        }
      }),
    );
  });
});

describe('resolveBucketRange', () => {
  it('floors min and raises max to the step, with a note each', () => {
    const range = resolveBucketRange(at(1024, { minBucketReso: 300, maxBucketReso: 1100 }));
    expect(range).toMatchObject({ minBucketReso: 256, maxBucketReso: 1152 });
    expect(range.notes).toHaveLength(2);
  });

  it('refuses a min above the resolution and a max below it, as kohya asserts', () => {
    const code = (options: BucketingOptions) => {
      try {
        resolveBucketRange(options);
      } catch (error) {
        if (isLorasmithError(error)) return error.code;
      }
      return undefined;
    };
    expect(code(at(512, { minBucketReso: 576 }))).toBe('bucket-min-above-resolution');
    expect(code(at(1024, { maxBucketReso: 960 }))).toBe('bucket-max-below-resolution');
    // Checked with bucket_no_upscale too: kohya adjusts the range before choosing the bucket mode.
    expect(code(at(1024, { maxBucketReso: 960, bucketNoUpscale: true }))).toBe('bucket-max-below-resolution');
    expect(code(at(1024, { bucketResoSteps: 0 }))).toBe('bucket-option-invalid');
  });
});

describe('createBucketSelector', () => {
  it('prefers an exact bucket, else the nearest aspect ratio, and resizes to cover', () => {
    const select = createBucketSelector(at(1024));
    expect(select({ width: 704, height: 1024 })).toEqual({ bucket: { width: 704, height: 1024 }, resized: { width: 704, height: 1024 } });
    expect(select({ width: 1920, height: 1080 })).toEqual({ bucket: { width: 1024, height: 576 }, resized: { width: 1024, height: 576 } });
    expect(select({ width: 832, height: 1216 })).toEqual({ bucket: { width: 704, height: 1024 }, resized: { width: 704, height: 1029 } });
  });

  it('ties go to the first bucket in sorted order', () => {
    // 27:8 = 3.375 lies exactly halfway between 832×256 (3.25) and 896×256 (3.5).
    expect(createBucketSelector(at(512))({ width: 2700, height: 800 }).bucket).toEqual({ width: 832, height: 256 });
    // 31:21 is equally far from 576×448 and 640×384 in floating point too.
    expect(createBucketSelector(at(512))({ width: 310, height: 210 }).bucket).toEqual({ width: 576, height: 448 });
  });

  it('without bucketing everything goes to the resolution, scaled to cover it', () => {
    const select = createBucketSelector({ ...at(512), enableBucket: false });
    expect(select({ width: 1000, height: 500 })).toEqual({ bucket: { width: 512, height: 512 }, resized: { width: 1024, height: 512 } });
  });

  it('bucket_no_upscale keeps small images and floors them to the step', () => {
    const select = createBucketSelector(at(1024, { bucketNoUpscale: true }));
    expect(select({ width: 500, height: 700 })).toEqual({ bucket: { width: 448, height: 640 }, resized: { width: 500, height: 700 } });
    expect(select({ width: 1920, height: 1080 })).toEqual({ bucket: { width: 1344, height: 768 }, resized: { width: 1365, height: 768 } });
  });

  it('covers its bucket in both modes, never below it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 16, max: 6000 }), fc.integer({ min: 16, max: 6000 }), fc.boolean(), (width, height, noUpscale) => {
        const { bucket, resized } = createBucketSelector(at(768, { bucketNoUpscale: noUpscale }))({ width, height });
        expect(resized.width).toBeGreaterThanOrEqual(bucket.width);
        expect(resized.height).toBeGreaterThanOrEqual(bucket.height);
        if (noUpscale) expect(resized.width * resized.height).toBeLessThanOrEqual(Math.max(width * height, 768 * 768 * 1.1));
      }),
    );
  });

  it('refuses sizes that are not whole positive pixels', () => {
    expect(() => createBucketSelector(at(512))({ width: 0, height: 10 })).toThrow(/cannot be bucketed/);
  });
});

describe('assignBuckets', () => {
  it('lists each image’s bucket and the buckets in use', () => {
    const result = assignBuckets({
      bucketing: at(1024),
      images: [
        { image: 'a/1.png', width: 1024, height: 1024 },
        { image: 'a/2.png', width: 2048, height: 2048 },
        { image: 'a/3.png', width: 1920, height: 1080 },
      ],
    });
    expect(result.buckets).toEqual([
      { width: 1024, height: 576, images: 1 },
      { width: 1024, height: 1024, images: 2 },
    ]);
    expect(result.images[1]).toMatchObject({ image: 'a/2.png', bucket: { width: 1024, height: 1024 } });
  });
});
