import fc from 'fast-check';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { DEFAULT_DATASET_IMPORT_LIMITS } from '../../datasets/import/import-limits.ts';
import { importZip } from '../../datasets/import/import-zip.ts';
import { pngImage } from '../../datasets/images/testing.ts';
import { bufferSource } from '../torch/byte-source.ts';
import { checkZipArchive } from './check-archive.ts';
import { DEFAULT_ARCHIVE_LIMITS } from './limits.ts';
import { buildTestZip } from './testing.ts';

let valid: Buffer;
beforeAll(async () => {
  valid = buildTestZip({
    entries: [
      { name: 'a.png', data: await pngImage(8, 8, 1), method: 0 },
      { name: 'a.txt', data: 'sks dog, grass, sky' },
      { name: 'sub/', data: '', method: 0, unixMode: 0o040755 },
      { name: 'sub/b.png', data: await pngImage(6, 6, 2), dataDescriptor: true, unixMode: 0o100644 },
      { name: 'sub/c.png', data: await pngImage(5, 5, 3), zip64: true },
    ],
  });
});

/** A valid zip with some bits flipped, or cut short, or both. */
const mutation = fc.record({
  flips: fc.array(fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), { minLength: 0, maxLength: 4 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
});

function mutate(bytes: Buffer, m: { flips: Array<{ at: number; bit: number }>; cut: number | undefined }): Buffer {
  const copy = Buffer.from(bytes);
  for (const flip of m.flips) {
    const at = flip.at % copy.length;
    copy[at] = (copy[at] ?? 0) ^ (1 << flip.bit);
  }
  return m.cut === undefined ? copy : copy.subarray(0, m.cut % copy.length);
}

describe('archive checker under mutation', () => {
  it('checkZipArchive throws nothing but LorasmithError', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        try {
          await checkZipArchive({ source: bufferSource(mutate(valid, m)), limits: DEFAULT_ARCHIVE_LIMITS });
        } catch (error) {
          expect(isLorasmithError(error)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('importZip throws nothing but LorasmithError and writes nowhere but the dataset store', async () => {
    const base = await mkdtemp(path.join(os.tmpdir(), 'lorasmith-mutation-'));
    const zipPath = path.join(base, 'm.zip');
    const datasetsRoot = path.join(base, 'datasets');
    await mkdir(datasetsRoot);
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        await writeFile(zipPath, mutate(valid, m));
        try {
          await importZip({ zipPath, datasetsRoot, name: 'ds', limits: DEFAULT_DATASET_IMPORT_LIMITS, concurrency: 1 });
          accepted++;
        } catch (error) {
          if (!isLorasmithError(error)) throw error;
        }
        expect((await readdir(base)).sort()).toEqual(['datasets', 'm.zip']);
        const stored = await readdir(datasetsRoot);
        expect(stored.filter((name) => name !== '.staging' && name !== 'ds')).toEqual([]);
        expect(await readdir(path.join(datasetsRoot, '.staging')).catch(() => [])).toEqual([]);
        await rm(path.join(datasetsRoot, 'ds'), { recursive: true, force: true });
      }),
      { numRuns: 200 },
    );
    // The unmutated archive (no flips, no cut) is among the runs often enough that some imports succeed.
    expect(accepted).toBeGreaterThan(0);
  }, 120_000);
});
