/**
 * What the jobs tests share: a workspace with a base checkpoint and a captioned dataset (the train tests'
 * workspace), a fake `nvidia-smi` listing N GPUs, and small run configs named after their double scenario.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NVIDIA_SMI_ARGS } from '../../../src/training/planner/probe-gpus.ts';

/** A folder holding a fake `nvidia-smi` (a Node script, no shell) that lists `count` 24 GiB GPUs. */
export async function fakeNvidiaSmi(dir: string, count: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  const rows = Array.from({ length: count }, (_, index) => `${index}, NVIDIA GeForce RTX 4090 (fake), 24564, 23012, 550.54.15`).join('\\n');
  const source = `#!${process.execPath}
// Fake nvidia-smi for the jobs tests: answers the GPU probe's query only.
if (JSON.stringify(process.argv.slice(2)) !== ${JSON.stringify(JSON.stringify(NVIDIA_SMI_ARGS))}) { process.stderr.write('unexpected arguments'); process.exit(9); }
process.stdout.write('${rows}\\n');
`;
  const file = path.join(dir, 'nvidia-smi');
  await writeFile(file, source, { mode: 0o755 });
  await chmod(file, 0o755);
  return dir;
}

/** A small SD 1.x run on the `dogs` dataset: `name` picks the double's scenario and names the output. */
export function runConfig(params: { base: string; name: string; epochs?: number; saveState?: boolean; dataset?: string }): Record<string, unknown> {
  return {
    schema: 'lorasmith/run@1',
    kind: 'kohya',
    name: params.name,
    family: 'sd1',
    seed: 1234,
    model: { base: params.base },
    datasets: [{ dataset: params.dataset ?? 'dogs' }],
    resolution: { width: 512, height: 512 },
    duration: { unit: 'epochs', epochs: params.epochs ?? 2 },
    saving: { everyNEpochs: 1, saveState: params.saveState ?? true },
  };
}
