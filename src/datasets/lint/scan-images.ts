import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadSharp, type SharpFactory } from '../../core/load-sharp.ts';
import type { DatasetImage } from '../captions/dataset-files.ts';
import { dHash, type DHash } from './dhash.ts';

export type ScannedImage =
  | { entry: DatasetImage; ok: true; sha256: string; width: number; height: number; dhash: DHash }
  | { entry: DatasetImage; ok: false; reason: string };

/** Decoding is the slow part and sharp runs it on libuv's pool; a few at a time keeps memory flat. */
const CONCURRENCY = 4;

async function scanOne(sharp: SharpFactory, entry: DatasetImage): Promise<ScannedImage> {
  try {
    const bytes = await readFile(entry.imagePath);
    // Header size, before EXIF rotation, as kohya buckets it.
    const { width, height } = await sharp(bytes).metadata();
    return { entry, ok: true, sha256: createHash('sha256').update(bytes).digest('hex'), width, height, dhash: await dHash(bytes) };
  } catch (error) {
    return { entry, ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** Hash, measure and fingerprint every image, keeping the listing order. */
export async function scanImages(entries: readonly DatasetImage[]): Promise<ScannedImage[]> {
  // Loaded before any image, so a failed load is not reported as a damaged image.
  const sharp = await loadSharp();
  const results: ScannedImage[] = new Array(entries.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const index = next++;
      results[index] = await scanOne(sharp, entries[index] as DatasetImage);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, entries.length) }, worker));
  return results;
}
