import { describe, expect, it } from 'vitest';
import { kohyaRun } from '../validate/spec-fixtures.ts';
import type { GpuProbe } from './probe-gpus.ts';
import { classifyFit, estimateVram, judgeVram, networkParams, vramInputsFrom, type VramInputs } from './vram.ts';

const base: Omit<VramInputs, 'family'> = {
  mixed: 'bf16',
  fullHalf: false,
  fp8Base: false,
  networkType: 'lora',
  dim: 16,
  trainTextEncoders: false,
  batchSize: 1,
  width: 1024,
  height: 1024,
  gradientCheckpointing: true,
  cacheLatents: true,
  cacheTextEncoderOutputs: true,
  optimizer: 'AdamW8bit',
  cpuOffloadCheckpointing: false,
  noHalfVae: false,
};
const GB = 1; // GPU cards' "GB" are GiB (a 12 GB card has 12,288 MiB)

const gpu = (freeMiB: number, totalMiB = 24576, index = 0): GpuProbe => ({
  mode: 'gpu',
  gpus: [{ index, name: 'NVIDIA Test', memoryTotalMiB: totalMiB, memoryFreeMiB: freeMiB, driverVersion: '550.54.15' }],
});

describe('estimateVram against the reference guidance (kohya-sd-scripts.md §9)', () => {
  it('SD 1.x LoRA at 512² "just barely" runs in 8 GB', () => {
    const { estimateGb } = estimateVram({ ...base, family: 'sd1', width: 512, height: 512, gradientCheckpointing: false, cacheLatents: false, cacheTextEncoderOutputs: false, trainTextEncoders: true, optimizer: 'AdamW' });
    expect(estimateGb).toBeGreaterThan(6);
    expect(estimateGb).toBeLessThanOrEqual(8);
  });

  it('SDXL LoRA fits 8 GB with the docs recipe, and not without it', () => {
    expect(estimateVram({ ...base, family: 'sdxl', dim: 8 }).estimateGb).toBeLessThanOrEqual(8);
    const plain = estimateVram({ ...base, family: 'sdxl', gradientCheckpointing: false, cacheLatents: false, cacheTextEncoderOutputs: false }).estimateGb;
    expect(plain).toBeGreaterThan(16); // "even with 24GB VRAM, you might run out"
  });

  it('FLUX.1 with fp8 base follows the §6.1 table', () => {
    const flux = { ...base, family: 'flux1' as const, fp8Base: true };
    expect(estimateVram({ ...flux, batchSize: 2 }).estimateGb).toBeLessThanOrEqual(24 * GB);
    expect(estimateVram(flux).estimateGb).toBeGreaterThan(14.5); // 16 GB needs block swap
    expect(estimateVram({ ...flux, blocksToSwap: 16 }).estimateGb).toBeLessThanOrEqual(12 * GB);
    expect(estimateVram({ ...flux, blocksToSwap: 22 }).estimateGb).toBeLessThanOrEqual(10 * GB);
    expect(estimateVram({ ...flux, blocksToSwap: 28 }).estimateGb).toBeLessThanOrEqual(8 * GB);
    expect(estimateVram({ ...flux, fp8Base: false }).estimateGb).toBeGreaterThan(24);
  });

  it('each memory option lowers the estimate', () => {
    const start: VramInputs = { ...base, family: 'sdxl', gradientCheckpointing: false, cacheLatents: false, cacheTextEncoderOutputs: false, optimizer: 'AdamW', batchSize: 4, dim: 64 };
    const at = (change: Partial<VramInputs>): number => estimateVram({ ...start, ...change }).estimateGb;
    const now = at({});
    for (const change of [{ gradientCheckpointing: true }, { cacheLatents: true }, { cacheTextEncoderOutputs: true }, { optimizer: 'AdamW8bit' as const }, { batchSize: 2 }, { width: 768, height: 768 }, { fp8Base: true }, { dim: 8 }]) {
      expect(at(change), JSON.stringify(change)).toBeLessThan(now);
    }
    expect(at({ mixed: 'no' })).toBeGreaterThan(now);
  });

  it('network size follows rank and the family module counts (FLUX rank 16 ≈ 76.6 M parameters)', () => {
    expect(networkParams({ ...base, family: 'flux1' })).toBe(16 * 4_786_176);
    expect(networkParams({ ...base, family: 'flux1', dim: 32 })).toBe(2 * networkParams({ ...base, family: 'flux1' }));
    expect(networkParams({ ...base, family: 'sdxl', trainTextEncoders: true })).toBeGreaterThan(networkParams({ ...base, family: 'sdxl' }));
    expect(networkParams({ ...base, family: 'sd1', networkType: 'locon', convDim: 8 })).toBeGreaterThan(networkParams({ ...base, family: 'sd1' }));
  });

  it('the base-model file size picks SD 3.5 Large over Medium', () => {
    const medium = estimateVram({ ...base, family: 'sd3', modelSizeBytes: 5.1e9 }).breakdown.baseModelGb;
    const large = estimateVram({ ...base, family: 'sd3', modelSizeBytes: 16.5e9 }).breakdown.baseModelGb;
    expect(large).toBeGreaterThan(3 * medium);
  });
});

describe('classifyFit (GPU-R03: margin 1.5 by default)', () => {
  it('with 8000 MiB free: 10,000 MiB warns, 12,001 MiB is refused', () => {
    expect(classifyFit(10_000, 8000)).toBe('tight');
    expect(classifyFit(12_000, 8000)).toBe('tight');
    expect(classifyFit(12_001, 8000)).toBe('too-big');
    expect(classifyFit(7000, 8000)).toBe('fits');
    expect(classifyFit(7500, 8000)).toBe('tight');
    expect(classifyFit(12_001, 8000, 2)).toBe('tight');
  });
});

describe('judgeVram', () => {
  const fluxBf16 = vramInputsFrom(kohyaRun('flux1'), 'flux1');

  it('fits: no fixes, no refusal', () => {
    const verdict = judgeVram({ inputs: fluxBf16, gpus: gpu(80_000, 81_920) });
    expect(verdict).toMatchObject({ fit: 'fits', refuse: false, fixes: [], gpuIndices: [0] });
    expect(verdict.freeGb).toBe(78.1);
  });

  it('too big: refused, with the numbers and fixes that each recompute the estimate', () => {
    const verdict = judgeVram({ inputs: fluxBf16, gpus: gpu(12_000) });
    expect(verdict.fit).toBe('too-big');
    expect(verdict.refuse).toBe(true);
    expect(verdict.message).toContain(`${verdict.estimateGb.toFixed(1)} GiB`);
    expect(verdict.message).toContain('11.7 GiB free');
    expect(verdict.fixes.some((fix) => fix.includes('precision.fp8Base = true'))).toBe(true);
    expect(verdict.fixes.some((fix) => fix.includes('memory.blocksToSwap'))).toBe(true);
    for (const fix of verdict.fixDetails) expect(fix.estimateGb).toBeLessThan(verdict.estimateGb);
    expect(verdict.fixes[0]).toMatch(/estimate \d+\.\d GiB → \d+\.\d GiB$/);
  });

  it('block swap picks the fewest blocks that reach the free memory', () => {
    const fp8 = { ...fluxBf16, fp8Base: true, cacheLatents: true, cacheTextEncoderOutputs: true };
    const verdict = judgeVram({ inputs: fp8, gpus: gpu(12_000) });
    const swap = verdict.fixDetails.find((fix) => fix.change.includes('blocksToSwap'));
    expect(swap).toBeDefined();
    const blocks = Number(/blocksToSwap = (\d+)/.exec(swap?.change ?? '')?.[1]);
    expect(estimateVram({ ...fp8, blocksToSwap: blocks }).estimateGb).toBeLessThanOrEqual(0.9 * (12_000 / 1024));
    expect(estimateVram({ ...fp8, blocksToSwap: blocks - 1 }).estimateGb).toBeGreaterThan(0.9 * (12_000 / 1024));
  });

  it('when no single fix is enough, a combined fix reaches the free memory', () => {
    const verdict = judgeVram({ inputs: { ...fluxBf16, fp8Base: true }, gpus: gpu(12_000) });
    const combined = verdict.fixDetails.at(-1);
    expect(combined?.change).toMatch(/^all of: .*cacheTextEncoderOutputs.*blocksToSwap/);
    expect(combined?.estimateGb).toBeLessThanOrEqual(0.9 * (12_000 / 1024));
  });

  it('tight: a warning, the run may start', () => {
    const inputs = { ...fluxBf16, fp8Base: true };
    const { estimateGb } = estimateVram(inputs);
    const verdict = judgeVram({ inputs, gpus: gpu(Math.round(estimateGb * 1024 * 0.95)) });
    expect(verdict).toMatchObject({ fit: 'tight', refuse: false });
    expect(verdict.fixes.length).toBeGreaterThan(0);
    expect(verdict.message).toMatch(/may start/);
  });

  it('multi-GPU runs are judged on the least free device of the set', () => {
    const gpus: GpuProbe = {
      mode: 'gpu',
      gpus: [
        { index: 0, name: 'A', memoryTotalMiB: 81_920, memoryFreeMiB: 80_000, driverVersion: '550.1' },
        { index: 1, name: 'B', memoryTotalMiB: 81_920, memoryFreeMiB: 2_000, driverVersion: '550.1' },
      ],
    };
    expect(judgeVram({ inputs: fluxBf16, gpus }).gpuIndices).toEqual([0]);
    const both = judgeVram({ inputs: fluxBf16, gpus, gpuIndices: [0, 1] });
    expect(both).toMatchObject({ fit: 'too-big', freeGb: 2, gpuIndices: [0, 1] });
    expect(judgeVram({ inputs: fluxBf16, gpus, gpuIndices: [7] })).toMatchObject({ fit: 'unknown', refuse: true });
  });

  it('cpu mode and gpu_unknown give "unknown"; only gpu_unknown needs the override', () => {
    expect(judgeVram({ inputs: fluxBf16, gpus: { mode: 'cpu', reason: 'no nvidia-smi' } })).toMatchObject({ fit: 'unknown', refuse: false, needsOverride: false, freeGb: null });
    const unknown = judgeVram({ inputs: fluxBf16, gpus: { mode: 'unknown', reason: 'driver error' } });
    expect(unknown).toMatchObject({ fit: 'unknown', refuse: false, needsOverride: true });
    expect(unknown.message).toContain('--allow-unknown-gpu');
  });
});
