import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import type { ImageSize } from '../../datasets/buckets/index.ts';
import type { KohyaRunConfig } from '../schema/index.ts';
import { kohyaRun } from '../validate/spec-fixtures.ts';
import { countSaves, planRun, type PlanDataset } from './plan-run.ts';
import type { GpuProbe } from './probe-gpus.ts';

const images = (specs: Array<[number, number, number]>): ImageSize[] =>
  specs.flatMap(([count, width, height], group) => Array.from({ length: count }, (_, i) => ({ image: `train/${group}-${i}.png`, width, height })));

// Reference kohya-sd-scripts.md §2.4 "Test fixture": 12 total steps over 3 epochs.
const fixture: PlanDataset[] = [
  {
    subsets: [
      {
        name: 'train',
        repeats: 2,
        isReg: false,
        images: images([
          [3, 1024, 1024],
          [2, 832, 1216],
          [1, 1920, 1080],
          [1, 500, 700],
        ]),
      },
    ],
  },
];

function fixtureRun(change?: (config: KohyaRunConfig) => void): KohyaRunConfig {
  return kohyaRun('sdxl', (config) => {
    config.resolution = { width: 1024, height: 1024 };
    config.buckets = { enabled: true, minReso: 256, maxReso: 1024, stepSize: 64, noUpscale: false };
    config.batchSize = 2;
    config.gradientAccumulationSteps = 2;
    config.duration = { unit: 'epochs', epochs: 3 };
    config.memory.cacheLatents = 'disk';
    config.memory.cacheTextEncoderOutputs = 'disk';
    change?.(config);
  });
}

const twoGpus: GpuProbe = {
  mode: 'gpu',
  gpus: [
    { index: 0, name: 'NVIDIA RTX 4090', memoryTotalMiB: 24_564, memoryFreeMiB: 23_000, driverVersion: '550.54.15' },
    { index: 1, name: 'NVIDIA RTX 4090', memoryTotalMiB: 24_564, memoryFreeMiB: 22_000, driverVersion: '550.54.15' },
  ],
};

describe('planRun', () => {
  it('counts steps with the dataset step calculator (reference fixture: 12 steps, 3 epochs)', () => {
    const plan = planRun({ config: fixtureRun(), datasets: fixture, model: { family: 'sdxl', size: 6.94e9 }, gpus: twoGpus });
    expect(plan.totalSteps).toBe(12);
    expect(plan.epochs).toBe(3);
    expect(plan.steps.stepsPerEpoch).toBe(4);
    expect(plan.numProcesses).toBe(1);
    expect(plan.vram).toMatchObject({ fit: 'fits', gpuIndices: [0], refuse: false });
  });

  it('a multi-GPU run shards the steps across processes and is judged on every device', () => {
    const history = { itPerSecond: [{ family: 'sdxl' as const, width: 1024, height: 1024, batchSize: 1, itPerSecond: 1.2 }] };
    const plan = planRun({ config: fixtureRun(), datasets: fixture, model: { family: 'sdxl' }, gpus: twoGpus, gpuIndices: [0, 1], history });
    expect(plan.numProcesses).toBe(2);
    expect(plan.steps.stepsPerEpoch).toBe(2);
    expect(plan.totalSteps).toBe(6);
    expect(plan.vram.freeGb).toBe(21.5);
    const one = planRun({ config: fixtureRun(), datasets: fixture, model: { family: 'sdxl' }, gpus: twoGpus, history });
    expect(plan.time.itPerSecond).toBe(one.time.itPerSecond);
    const training = (time: typeof plan.time): number => (time.seconds ?? Number.NaN) - time.startupSeconds - time.cachingSeconds;
    expect(training(plan.time)).toBeCloseTo(training(one.time) / 2, -1);
  });

  it('without a measured run of the family on this machine, the time is unknown and said so', () => {
    const other = { itPerSecond: [{ family: 'flux1' as const, width: 1024, height: 1024, batchSize: 1, itPerSecond: 0.4 }] };
    for (const history of [undefined, other]) {
      const plan = planRun({ config: fixtureRun(), datasets: fixture, model: { family: 'sdxl' }, gpus: twoGpus, ...(history === undefined ? {} : { history }) });
      expect(plan.time).toMatchObject({ basis: 'unknown', seconds: null, itPerSecond: null });
      expect(plan.time.note).toMatch(/^Unknown: no SDXL run has been measured on this machine yet/);
      // Caching and start-up are still worth showing: they do not depend on the step rate.
      expect(plan.time.cachingSeconds).toBeGreaterThan(0);
    }
  });

  it('prefers a measurement taken on the GPU the run will use', () => {
    const history = {
      itPerSecond: [
        { family: 'sdxl' as const, width: 1024, height: 1024, batchSize: 2, gradientAccumulationSteps: 2, itPerSecond: 0.5, gpuName: 'NVIDIA RTX 3060' },
        { family: 'sdxl' as const, width: 512, height: 512, batchSize: 1, itPerSecond: 8, gpuName: 'NVIDIA RTX 4090' },
      ],
    };
    const plan = planRun({ config: fixtureRun(), datasets: fixture, model: { family: 'sdxl' }, gpus: twoGpus, history });
    // 8 it/s at 0.26 MP per step; this run moves 4 × 1.05 MP per step, 16 × as many pixels: 0.5 it/s.
    expect(plan.time.itPerSecond).toBe(0.5);
    expect(plan.time.note).toContain('on NVIDIA RTX 4090');
  });

  it('with history of this family, the time scales the measured rate', () => {
    const history = {
      itPerSecond: [
        { family: 'flux1' as const, width: 1024, height: 1024, batchSize: 1, itPerSecond: 9 },
        { family: 'sdxl' as const, width: 1024, height: 1024, batchSize: 2, gradientAccumulationSteps: 2, itPerSecond: 0.5 },
        { family: 'sdxl' as const, width: 512, height: 512, batchSize: 1, itPerSecond: 4 },
      ],
    };
    const plan = planRun({ config: fixtureRun(), datasets: fixture, model: { family: 'sdxl' }, gpus: twoGpus, history });
    expect(plan.time.basis).toBe('history');
    expect(plan.time.itPerSecond).toBe(0.5);
    expect(plan.time.seconds).toBe(24 + 120 + plan.time.cachingSeconds);
    const half = planRun({ config: fixtureRun((c) => (c.batchSize = 1)), datasets: fixture, model: { family: 'sdxl' }, gpus: twoGpus, history });
    expect(half.time.itPerSecond).toBe(1);
  });

  it('disk: per-epoch LoRA files, state folders (≈ optimizer state) and caches', () => {
    const plan = planRun({ config: fixtureRun(), datasets: fixture, model: { family: 'sdxl' }, gpus: twoGpus });
    const item = (what: string) => plan.disk.items.find((entry) => entry.what === what);
    // 3 epochs saved every epoch: epochs 1 and 2, then the final file (kohya skips the last epoch's save).
    expect(item('LoRA files')?.count).toBe(3);
    expect(item('training-state folders')?.count).toBe(3);
    // SDXL rank 16, U-Net only: 16 × 2.6 M parameters in fp32.
    expect(plan.disk.networkFileBytes).toBe(16 * 2_600_000 * 4 + 65_536);
    // AdamW8bit: fp32 weights + 2 bytes of state per parameter.
    expect(plan.disk.stateBytes).toBe(16 * 2_600_000 * (4 + 2) + 1_048_576);
    expect(item('cached latents')?.count).toBe(7);
    expect(item('cached text-encoder outputs')?.count).toBe(7);
    expect(plan.disk.bytes).toBe(plan.disk.items.reduce((sum, entry) => sum + entry.bytes, 0));
    const bf16 = planRun({ config: fixtureRun((c) => (c.precision.save = 'bf16')), datasets: fixture, model: { family: 'sdxl' }, gpus: twoGpus });
    expect(bf16.disk.networkFileBytes).toBe(16 * 2_600_000 * 2 + 65_536);
  });

  it('a FLUX.1 run in bf16 on a 16 GB card is refused with fixes; in CPU mode the fit is unknown', () => {
    const config = kohyaRun('flux1');
    const small: GpuProbe = { mode: 'gpu', gpus: [{ index: 0, name: 'RTX 4080', memoryTotalMiB: 16_376, memoryFreeMiB: 15_800, driverVersion: '560.35.03' }] };
    const plan = planRun({ config, datasets: fixture, model: { family: 'flux1', size: 23.8e9 }, gpus: small });
    expect(plan.vram.fit).toBe('too-big');
    expect(plan.vram.fixes.join('\n')).toContain('fp8Base');
    const cpu = planRun({ config, datasets: fixture, model: { family: 'flux1' }, gpus: { mode: 'cpu', reason: 'no nvidia-smi' } });
    expect(cpu.vram.fit).toBe('unknown');
    expect(cpu.numProcesses).toBe(1);
  });

  it('refuses a model of another family', () => {
    try {
      planRun({ config: fixtureRun(), datasets: fixture, model: { family: 'flux1' }, gpus: twoGpus });
      expect.unreachable();
    } catch (error) {
      expect(isLorasmithError(error) && error.code).toBe('plan-family-mismatch');
    }
  });
});

describe('countSaves', () => {
  const saving = (change: Partial<KohyaRunConfig['saving']>): KohyaRunConfig['saving'] => ({ format: 'safetensors', saveState: false, saveStateOnTrainEnd: false, ...change });
  it('counts per-epoch, per-step and final saves, with pruning', () => {
    expect(countSaves(saving({}), 10, 1000)).toEqual({ networkFiles: 1, stateDirs: 0 });
    expect(countSaves(saving({ everyNEpochs: 2 }), 10, 1000)).toEqual({ networkFiles: 5, stateDirs: 0 });
    expect(countSaves(saving({ everyNEpochs: 1, keepLastNEpochs: 3 }), 10, 1000)).toEqual({ networkFiles: 4, stateDirs: 0 });
    expect(countSaves(saving({ everyNSteps: 300 }), 10, 1000)).toEqual({ networkFiles: 4, stateDirs: 0 });
    expect(countSaves(saving({ everyNEpochs: 1, saveState: true, keepLastNEpochsState: 2 }), 10, 1000)).toEqual({ networkFiles: 10, stateDirs: 3 });
    expect(countSaves(saving({ saveStateOnTrainEnd: true }), 10, 1000)).toEqual({ networkFiles: 1, stateDirs: 1 });
  });
});
