/**
 * Header inspection and pickle scanning, timed against the raw I/O they cannot avoid, in the same run.
 *
 * 1. `inspect` of a sparse 6 GB-class safetensors file with 2,500 tensors (an SDXL checkpoint's count):
 *    detection + strict validation + header view + fingerprint. Target: < 20 ms.
 *    Baseline: reading the 8-byte length and the header bytes, nothing else.
 * 2. `scan` of a 1 GiB PyTorch zip checkpoint with 1,500 tensors: zip structure (central directory and
 *    every local header), the pickle, the storage records. Target: < 50 ms (picklescan ≈ 0.4 s here).
 *    Baseline: reading the central directory bytes.
 *
 *   node bench/formats.bench.ts [runs]
 */
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeHeader } from '../src/formats/describe-header.ts';
import { detectFamilyAndKind } from '../src/formats/fingerprint/index.ts';
import { stateDictPickle, type FixtureTensor } from '../src/formats/pickle/testing.ts';
import { encodeSafetensorsHeader } from '../src/formats/safetensors/index.ts';
import { scanFile } from '../src/formats/scan-file.ts';
import { torchZip } from '../src/formats/torch/testing.ts';

const runs = Number(process.argv[2] ?? 30);

async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Alternate the two measurements so both see the same machine state; medians of each. */
async function paired(label: string, work: () => Promise<unknown>, baseline: () => Promise<unknown>, targetMs: number): Promise<void> {
  await work();
  await baseline();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(await timeMs(work));
    b.push(await timeMs(baseline));
  }
  const ms = median(a);
  const base = median(b);
  console.log(`${label}: ${ms.toFixed(2)} ms (target < ${targetMs} ms: ${ms < targetMs ? 'met' : 'MISSED'}); raw I/O baseline ${base.toFixed(2)} ms; ratio ${(ms / base).toFixed(1)}×`);
}

async function readRange(file: string, offset: number, length: number): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.read(Buffer.alloc(length), 0, length, offset);
  } finally {
    await handle.close();
  }
}

const dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-formats-bench-'));
try {
  // 1. A sparse 6 GB safetensors checkpoint: SDXL-like key names, F16 tensors, 2,500 of them.
  const tensors = Array.from({ length: 2500 }, (_, i) => ({ name: `model.diffusion_model.output_blocks.${i % 12}.${Math.floor(i / 12)}.transformer_blocks.0.attn1.to_q.weight`, dtype: 'F16' as const, shape: [1280, 960 + (i % 8)] }));
  const { prefix, fileSize } = encodeSafetensorsHeader({ tensors, metadata: { 'modelspec.architecture': 'stable-diffusion-xl-v1-base' } });
  const safetensors = path.join(dir, 'sdxl-like.safetensors');
  const handle = await open(safetensors, 'w');
  await handle.write(prefix, 0, prefix.length, 0);
  await handle.truncate(fileSize);
  await handle.close();
  console.log(`safetensors: ${(fileSize / 1e9).toFixed(2)} GB, header ${prefix.length} bytes, ${tensors.length} tensors`);
  await paired(
    'inspect (header only)',
    async () => {
      const scan = await scanFile({ path: safetensors });
      if (scan.details === undefined) throw new Error(`not safe: ${scan.findings[0]?.message}`);
      const header = describeHeader(scan.details);
      detectFamilyAndKind({ tensors: header.tensors, metadata: header.metadata });
    },
    () => readRange(safetensors, 0, prefix.length),
    20,
  );

  // 2. A 1 GiB PyTorch zip checkpoint with 1,500 float32 tensors, saved without CRCs (torch's skip_data form).
  const count = 1500;
  const numel = Math.floor(1024 ** 3 / count / 4);
  const fixture: FixtureTensor[] = Array.from({ length: count }, (_, i) => ({ name: `layer.${i}.weight`, key: String(i), numel, size: [numel], stride: [1] }));
  const records: Array<readonly [string, Uint8Array]> = [['data.pkl', stateDictPickle({ tensors: fixture })]];
  const storage = new Uint8Array(numel * 4);
  for (let i = 0; i < count; i++) records.push([`data/${i}`, storage]);
  records.push(['version', Buffer.from('3\n')]);
  const zip = torchZip({ records, entry: (entry) => ({ ...entry, crc32: 0 }) });
  const checkpoint = path.join(dir, 'big.pt');
  await writeFile(checkpoint, zip);
  const centralDirectoryBytes = 1500 * 70;
  console.log(`checkpoint: ${(zip.length / 1024 ** 3).toFixed(2)} GiB, ${count} tensors`);
  await paired(
    'scan (structure + pickle)',
    async () => {
      const scan = await scanFile({ path: checkpoint });
      if (scan.verdict !== 'safe') throw new Error(`not safe: ${scan.findings[0]?.message}`);
    },
    () => readRange(checkpoint, zip.length - centralDirectoryBytes, centralDirectoryBytes),
    50,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
