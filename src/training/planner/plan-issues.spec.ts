import { describe, expect, it } from 'vitest';
import type { ImageSize } from '../../datasets/buckets/index.ts';
import { kohyaRun } from '../validate/spec-fixtures.ts';
import { planIssues } from './plan-issues.ts';
import { planRun } from './plan-run.ts';
import type { GpuProbe } from './probe-gpus.ts';

const images: ImageSize[] = Array.from({ length: 20 }, (_, i) => ({ image: `a/${i}.png`, width: 1024, height: 1024 }));
const datasets = [{ subsets: [{ name: 'a', images, repeats: 10, isReg: false }] }];
const gpu = (freeMiB: number): GpuProbe => ({ mode: 'gpu', gpus: [{ index: 0, name: 'NVIDIA RTX 4090', memoryTotalMiB: 24_564, memoryFreeMiB: freeMiB, driverVersion: '550.54.15' }] });
const plan = (probe: GpuProbe) => planRun({ config: kohyaRun('sdxl'), datasets, model: { family: 'sdxl' }, gpus: probe });
const codes = (issues: ReturnType<typeof planIssues>): string[] => issues.map((issue) => `${issue.severity}:${issue.code}`);

describe('planIssues', () => {
  it('nothing to say when the run fits and the disk has room', () => {
    expect(planIssues(plan(gpu(23_000)), gpu(23_000), { allowUnknownGpu: false, freeDiskBytes: 1e12 })).toEqual([]);
  });

  it('warns when the run may fill the disk, with what it writes', () => {
    const planned = plan(gpu(23_000));
    const issues = planIssues(planned, gpu(23_000), { allowUnknownGpu: false, freeDiskBytes: planned.disk.bytes - 1 });
    expect(codes(issues)).toEqual(['warning:disk-short']);
    expect(issues[0]?.message).toContain('LoRA files');
    expect(planIssues(planned, gpu(23_000), { allowUnknownGpu: false, freeDiskBytes: null })).toEqual([]);
  });

  it('gpu_unknown is an error unless allowed; CPU mode is a warning; too big an error with the fixes as the hint', () => {
    const unknown: GpuProbe = { mode: 'unknown', reason: 'nvidia-smi exited with status 9.' };
    expect(codes(planIssues(plan(unknown), unknown, { allowUnknownGpu: false, freeDiskBytes: null }))).toEqual(['error:gpu-unknown']);
    expect(codes(planIssues(plan(unknown), unknown, { allowUnknownGpu: true, freeDiskBytes: null }))).toEqual(['warning:gpu-unknown']);
    const cpu: GpuProbe = { mode: 'cpu', reason: 'nvidia-smi is not on PATH.' };
    expect(codes(planIssues(plan(cpu), cpu, { allowUnknownGpu: false, freeDiskBytes: null }))).toEqual(['warning:gpu-none']);
    const small = plan(gpu(1_000));
    const [tooBig] = planIssues(small, gpu(1_000), { allowUnknownGpu: false, freeDiskBytes: null });
    expect(tooBig).toMatchObject({ code: 'vram-too-big', severity: 'error' });
    expect(tooBig?.hint).toBe(`Ways to fit: ${small.vram.fixes.join('; ')}.`);
  });
});
