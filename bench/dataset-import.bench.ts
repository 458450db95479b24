/**
 * Dataset import throughput: 1,000 generated 1024-px JPEGs in a zip → `importZip` (every archive check,
 * header inspection, full decode, thumbnail), against a bare sharp decode-and-thumbnail loop over the
 * same JPEGs with one worker per core, in the same run. Target: ≥ 0.8 × the bare loop's images/second,
 * with both cores busy (CPU time / wall time ≈ cores).
 *
 *   node bench/dataset-import.bench.ts [images]
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { importZip } from '../src/datasets/import/index.ts';
import { DEFAULT_DATASET_IMPORT_LIMITS } from '../src/datasets/import/import-limits.ts';
import { buildTestZip } from '../src/formats/zip/testing.ts';

const count = Number(process.argv[2] ?? 1000);
const cores = os.availableParallelism();

async function jpeg(seed: number): Promise<Buffer> {
  // Smooth gradients with a per-image tint: realistic JPEG sizes (≈ 100 KB), cheap to generate.
  const size = 1024;
  const raw = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      raw[i] = (x + seed * 7) & 0xff;
      raw[i + 1] = (y + seed * 13) & 0xff;
      raw[i + 2] = ((x ^ y) + seed) & 0xff;
    }
  }
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

async function measure<T>(work: () => Promise<T>): Promise<{ seconds: number; cpu: number; value: T }> {
  const cpuStart = process.cpuUsage();
  const started = process.hrtime.bigint();
  const value = await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  return { seconds, cpu: (cpu.user + cpu.system) / 1e6 / seconds, value };
}

async function bareLoop(files: string[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: cores }, async () => {
      while (next < files.length) {
        const file = files[next++];
        if (file === undefined) break;
        await sharp(file).resize(256, 256, { fit: 'inside' }).webp().toBuffer();
      }
    }),
  );
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'lorasmith-import-bench-'));
try {
  console.log(`generating ${count} 1024-px JPEGs on ${cores} cores…`);
  const images = await Promise.all(Array.from({ length: count }, (_, i) => jpeg(i)));
  const loose = path.join(dir, 'loose');
  await import('node:fs/promises').then((fs) => fs.mkdir(loose));
  const files = await Promise.all(images.map(async (bytes, i) => {
    const file = path.join(loose, `img-${String(i).padStart(4, '0')}.jpg`);
    await writeFile(file, bytes);
    return file;
  }));
  // JPEGs do not deflate: stored, as real dataset zips mostly are.
  const zipPath = path.join(dir, 'dataset.zip');
  await writeFile(zipPath, buildTestZip({ entries: images.map((data, i) => ({ name: `img-${String(i).padStart(4, '0')}.jpg`, data, method: 0 })) }));
  const datasetsRoot = path.join(dir, 'datasets');
  await import('node:fs/promises').then((fs) => fs.mkdir(datasetsRoot));

  const bare = await measure(() => bareLoop(files));
  const ours = await measure(() => importZip({ zipPath, datasetsRoot, name: 'bench', limits: DEFAULT_DATASET_IMPORT_LIMITS }));
  const imported = (await readdir(path.join(datasetsRoot, 'bench', 'main'))).length;
  if (imported !== count) throw new Error(`imported ${imported} of ${count}`);
  const bareRate = count / bare.seconds;
  const ourRate = count / ours.seconds;
  console.log(`bare sharp loop (${cores} workers): ${bareRate.toFixed(1)} images/s, CPU ${bare.cpu.toFixed(2)} cores`);
  console.log(`importZip (checks + decode + store + thumbnail): ${ourRate.toFixed(1)} images/s, CPU ${ours.cpu.toFixed(2)} cores`);
  console.log(`ratio ${(ourRate / bareRate).toFixed(2)} (target ≥ 0.8: ${ourRate / bareRate >= 0.8 ? 'met' : 'MISSED'})`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
