import { mkdir, mkdtemp, realpath, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { countSteps } from './count-steps.ts';
import { readImageSizes } from './read-image-sizes.ts';
import { KOHYA_BUCKET_DEFAULTS } from './types.ts';

const picture = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#808080' } });

describe('readImageSizes', () => {
  it('reads header sizes per subset, unrotated like kohya, and feeds the steps count', async () => {
    const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'lorasmith-sizes-')));
    await mkdir(path.join(dir, '10_sks'), { recursive: true });
    await mkdir(path.join(dir, 'reg'), { recursive: true });
    await mkdir(path.join(dir, '.lorasmith'), { recursive: true });
    await picture(1920, 1080).png().toFile(path.join(dir, '10_sks', 'a.png'));
    // Stored 300×200 with EXIF "rotate 90°": kohya sees 300×200, not the 200×300 a viewer shows.
    await picture(300, 200).jpeg().withMetadata({ orientation: 6 }).toFile(path.join(dir, '10_sks', 'b.jpg'));
    await picture(512, 512).webp().toFile(path.join(dir, 'reg', 'r.webp'));
    await picture(64, 64).png().toFile(path.join(dir, '.lorasmith', 'thumb.png'));
    await writeFile(path.join(dir, '10_sks', 'ignored.PNG'), 'upper-case extensions are not found by kohya');

    const sizes = await readImageSizes({ datasetDir: dir });
    expect(sizes).toEqual([
      { subset: '10_sks', images: [{ image: '10_sks/a.png', width: 1920, height: 1080 }, { image: '10_sks/b.jpg', width: 300, height: 200 }] },
      { subset: 'reg', images: [{ image: 'reg/r.webp', width: 512, height: 512 }] },
    ]);

    const plan = countSteps({
      datasets: [
        {
          bucketing: { ...KOHYA_BUCKET_DEFAULTS, enableBucket: true, resolution: { width: 512, height: 512 } },
          batchSize: 1,
          subsets: sizes.map(({ subset, images }) => ({ name: subset, images, repeats: subset === 'reg' ? 1 : 10, isReg: subset === 'reg' })),
        },
      ],
      training: { gradientAccumulationSteps: 1, numProcesses: 1, maxTrainEpochs: 1 },
    });
    // 2 images × 10 repeats, plus the one reg image balanced up to 20.
    expect(plan.datasets[0]).toMatchObject({ trainImagesWithRepeats: 20, regImagesUsedWithRepeats: 20 });
    expect(plan.batchesPerEpoch).toBe(40);
  });

  it('names the broken image when one cannot be read', async () => {
    const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'lorasmith-sizes-')));
    await mkdir(path.join(dir, 'a'));
    await writeFile(path.join(dir, 'a', 'broken.png'), 'not a png');
    const error = await readImageSizes({ datasetDir: dir }).catch((e: unknown) => e);
    expect(isLorasmithError(error) && error.code).toBe('image-unreadable');
    expect(isLorasmithError(error) && error.message).toContain('a/broken.png');
  });
});
