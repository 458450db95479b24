/**
 * hashModelFile against `openssl dgst -sha256` on the same 2 GiB file, in the same run, alternating, medians.
 * Two files: a plain one (the full-file SHA-256 alone) and a safetensors one (SHA-256 plus the kohya body
 * hash, which a worker computes in parallel). The files are sparse, so both tools read from the page cache
 * and the comparison is of hashing, not of the disk. Target: ratio ≥ 0.9 of openssl's throughput.
 *
 *   node bench/hash.bench.ts [runs]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { hashModelFile } from '../src/formats/fingerprint/hashes.ts';

const SIZE = 2 * 1024 ** 3;
const runs = Number(process.argv[2] ?? 5);
const run = promisify(execFile);

async function sparseFile(file: string, head: Uint8Array): Promise<void> {
  const handle = await open(file, 'w');
  await handle.write(head, 0, head.length, 0);
  await handle.truncate(SIZE);
  await handle.close();
}

function safetensorsHead(): Uint8Array {
  const header = Buffer.from(JSON.stringify({ w: { dtype: 'U8', shape: [SIZE - 64], data_offsets: [0, SIZE - 64] } }).padEnd(56));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([length, header]);
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await work();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, value };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

const dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-hash-bench-'));
try {
  const files = { plain: path.join(dir, 'plain.bin'), safetensors: path.join(dir, 'model.safetensors') };
  await sparseFile(files.plain, Buffer.from('not a safetensors file'));
  await sparseFile(files.safetensors, safetensorsHead());
  const gib = SIZE / 1024 ** 3;
  console.log(`file ${gib} GiB (sparse), ${runs} alternating runs, medians`);
  for (const [label, file] of Object.entries(files)) {
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      const openssl = await timed(() => run('openssl', ['dgst', '-sha256', '-r', file]));
      const mine = await timed(() => hashModelFile({ path: file }));
      if (!openssl.value.stdout.startsWith(mine.value.sha256)) throw new Error(`digests differ on ${label}`);
      theirs.push(openssl.seconds);
      ours.push(mine.seconds);
    }
    const oursRate = SIZE / 1024 ** 2 / median(ours);
    const theirRate = SIZE / 1024 ** 2 / median(theirs);
    console.log(
      `${label.padEnd(12)} hashModelFile ${median(ours).toFixed(3)} s (${oursRate.toFixed(0)} MiB/s)  ` +
        `openssl ${median(theirs).toFixed(3)} s (${theirRate.toFixed(0)} MiB/s)  ratio ${(oursRate / theirRate).toFixed(3)}`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
