/**
 * The dry run's plan on a real workspace, with fake `nvidia-smi` programs (Node scripts) as the whole PATH:
 * a GPU the run fits on, one it is too big for (refused, with the numbers and fixes) or tight on (warned),
 * an nvidia-smi that fails (gpu_unknown: refused unless --allow-unknown-gpu), none at all (CPU mode, still
 * startable). Steps come from the dataset step calculator, time from the machine's measured speed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordItPerSecond, speedHistoryFile } from '../../src/training/planner/speed-history.ts';
import { fakeNvidiaSmi, makeTrainWorkspace, runToml, train, type TrainWorkspace } from './train-workspace.ts';

interface Issue {
  code: string;
  severity: string;
  message: string;
  hint: string;
}
interface PlanJson {
  argv: string[];
  env: Record<string, string>;
  plan: {
    gpus: number;
    steps: { total: number; epochs: number; perEpoch: number; processes: number };
    time: { seconds: number | null; basis: string; itPerSecond: number | null; note: string; startupSeconds: number; cachingSeconds: number };
    disk: { bytes: number; freeBytes: number | null; items: Array<{ what: string; count: number; bytesEach: number; bytes: number }> };
    gpu: { mode: string; reason?: string; devices: Array<{ index: number; name: string }> };
    vram: { estimateGb: number; freeGb: number | null; fit: string; fixes: string[]; refuse: boolean; needsOverride: boolean; gpuIndices: number[]; message: string };
  };
  issues: Issue[];
}

let ws: TrainWorkspace;
let config: string;

beforeAll(async () => {
  ws = await makeTrainWorkspace();
  config = path.join(ws.files, 'plan.toml');
  await writeFile(config, runToml({ base: ws.checkpointId }));
}, 120_000);

async function dryRun(pathDir: string, extra: string[] = []): Promise<{ code: number; out: PlanJson; human: string }> {
  const json = await train(ws, [config, '--dry-run', '--json', ...extra], { PATH: pathDir });
  const human = await train(ws, [config, '--dry-run', ...extra], { PATH: pathDir });
  expect(human.code).toBe(json.code);
  return { code: json.code, out: JSON.parse(json.stdout) as PlanJson, human: human.stdout };
}

const smiLine = (index: number, name: string, totalMiB: number, freeMiB: number): string => `${index}, ${name}, ${totalMiB}, ${freeMiB}, 550.54.15\n`;
const codes = (out: PlanJson): string[] => out.issues.map((found) => `${found.severity}:${found.code}`);

describe('the plan of a dry run', () => {
  it('fits: the GPU with the most free memory is picked and named in the launch; steps from the step calculator', async () => {
    const dir = await fakeNvidiaSmi({ stdout: smiLine(0, 'NVIDIA RTX 3060', 12_288, 2_000) + smiLine(1, 'NVIDIA H200', 143_771, 141_000) });
    const { code, out, human } = await dryRun(dir);
    expect(code).toBe(0);
    expect(out.plan.gpu).toMatchObject({ mode: 'gpu', devices: [{ index: 0 }, { index: 1, name: 'NVIDIA H200' }] });
    expect(out.plan.vram).toMatchObject({ fit: 'fits', refuse: false, gpuIndices: [1], freeGb: 137.7 });
    expect(out.plan.vram.estimateGb).toBeGreaterThan(1);
    expect(out.env.CUDA_VISIBLE_DEVICES).toBe('1');
    expect(out.plan.gpus).toBe(1);
    // dogs: 3 images × 10 repeats + 1 × 2 = 32 steps an epoch at batch 1, for the default 10 epochs.
    expect(out.plan.steps).toMatchObject({ total: 320, epochs: 10, perEpoch: 32, processes: 1 });
    // saveState with a save every epoch: 9 per-epoch folders (kohya skips the last epoch's) plus the final one.
    expect(out.plan.disk.items.find((item) => item.what === 'training-state folders')?.count).toBe(10);
    expect(out.plan.disk.items.find((item) => item.what === 'LoRA files')?.count).toBe(10);
    expect(out.plan.disk.freeBytes).toBeGreaterThan(0);
    expect(codes(out).filter((entry) => /gpu|vram/.test(entry))).toEqual([]);
    expect(human).toContain('steps    320 (10 epochs × 32 steps, 1 process)');
    expect(human).toMatch(/memory {3}fits: Estimated \d+\.\d GiB of GPU memory; GPU 1 \(NVIDIA H200\) has 137\.7 GiB free/);
  });

  it('too big: refused beyond the margin, with the numbers and concrete fixes, and the launch still shown', async () => {
    const dir = await fakeNvidiaSmi({ stdout: smiLine(0, 'NVIDIA GeForce GT 1030', 2_048, 1_024) });
    const { code, out, human } = await dryRun(dir);
    expect(code).toBe(1);
    expect(out.plan.vram).toMatchObject({ fit: 'too-big', refuse: true, freeGb: 1 });
    const refusal = out.issues.find((found) => found.code === 'vram-too-big');
    expect(refusal?.severity).toBe('error');
    expect(refusal?.message).toMatch(/Estimated \d+\.\d GiB of GPU memory and GPU 0 \(NVIDIA GeForce GT 1030\) has 1\.0 GiB free of 2\.0 GiB: more than 1\.5× the free memory/);
    expect(out.plan.vram.fixes.length).toBeGreaterThan(0);
    expect(refusal?.hint).toContain(out.plan.vram.fixes[0] ?? '<none>');
    expect(out.argv).toContain('--config_file');
    expect(human).toContain('The run would be refused');
    expect(human).toContain('fix: ');
  });

  it('tight: between 0.9 × free and the margin the run may start, with a warning and fixes', async () => {
    const fits = await dryRun(await fakeNvidiaSmi({ stdout: smiLine(0, 'NVIDIA H200', 143_771, 141_000) }));
    const freeMiB = Math.ceil((fits.out.plan.vram.estimateGb * 1024) / 1.2);
    const { code, out } = await dryRun(await fakeNvidiaSmi({ stdout: smiLine(0, 'NVIDIA T400', 4_096, freeMiB) }));
    expect(code).toBe(0);
    expect(out.plan.vram.fit).toBe('tight');
    expect(codes(out)).toContain('warning:vram-tight');
    expect(out.issues.find((found) => found.code === 'vram-tight')?.message).toContain('may run out of memory');
  });

  it('failing nvidia-smi: gpu_unknown refuses the start, and --allow-unknown-gpu lifts it', async () => {
    const dir = await fakeNvidiaSmi({ stderr: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", exitCode: 9 });
    const refused = await dryRun(dir);
    expect(refused.code).toBe(1);
    expect(refused.out.plan.gpu).toMatchObject({ mode: 'unknown', reason: expect.stringContaining('exited with status 9') });
    expect(refused.out.plan.vram).toMatchObject({ fit: 'unknown', needsOverride: true });
    const issue = refused.out.issues.find((found) => found.code === 'gpu-unknown');
    expect(issue).toMatchObject({ severity: 'error', message: expect.stringContaining('starting needs --allow-unknown-gpu'), hint: expect.stringContaining('--allow-unknown-gpu') });
    expect(refused.out.argv.length).toBeGreaterThan(0);
    // The probe cannot tell which devices exist, so the launch leaves the choice to CUDA.
    expect(refused.out.env.CUDA_VISIBLE_DEVICES).toBeUndefined();

    const allowed = await dryRun(dir, ['--allow-unknown-gpu']);
    expect(allowed.code).toBe(0);
    expect(allowed.out.issues.find((found) => found.code === 'gpu-unknown')).toMatchObject({ severity: 'warning', message: expect.stringContaining('allowed anyway') });
  });

  it('no nvidia-smi: CPU mode, a warning, and the run still starts', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'lorasmith-nopath-'));
    const { code, out, human } = await dryRun(empty);
    expect(code).toBe(0);
    expect(out.plan.gpu).toMatchObject({ mode: 'cpu', devices: [], reason: expect.stringContaining('not on PATH') });
    expect(out.issues.find((found) => found.code === 'gpu-none')).toMatchObject({ severity: 'warning', message: expect.stringContaining('CPU mode') });
    expect(out.env.CUDA_VISIBLE_DEVICES).toBe('');
    expect(out.plan.gpus).toBe(0);
    expect(human).toContain('none (CPU mode)');
    await rm(empty, { recursive: true });
  });

  it('time: unknown until a run of the family was measured here, then scaled from the measurement', async () => {
    const dir = await fakeNvidiaSmi({ stdout: smiLine(0, 'NVIDIA H200', 143_771, 141_000) });
    const before = await dryRun(dir);
    expect(before.out.plan.time).toMatchObject({ seconds: null, basis: 'unknown', itPerSecond: null });
    expect(before.human).toContain('time     Unknown: no SD 1.x run has been measured on this machine yet');
    const history = speedHistoryFile(path.join(ws.home, 'engines'));
    await recordItPerSecond(history, { family: 'sdxl', width: 1024, height: 1024, batchSize: 1, itPerSecond: 1 });
    await recordItPerSecond(history, { family: 'sd1', width: 512, height: 512, batchSize: 1, itPerSecond: 4, gpuName: 'NVIDIA H200' });
    try {
      const after = await dryRun(dir);
      // Same pixels per step as the measurement: 4 it/s, 320 steps = 80 s, plus SD 1.x's 60 s start-up, no caching.
      expect(after.out.plan.time).toMatchObject({ basis: 'history', itPerSecond: 4, seconds: 140 });
      expect(after.out.plan.time.note).toContain('measured on this machine on NVIDIA H200');
      expect(after.human).toContain('about 2 min at 4 it/s');
    } finally {
      await rm(history, { force: true });
    }
  });
});
