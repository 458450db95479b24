/**
 * What a plan means for starting the run, as validation issues: the GPU probe's outcome (CPU mode warns and
 * may start; `gpu_unknown` refuses unless the operator allows it), the memory verdict (tight warns with the
 * numbers and fixes; beyond the margin refuses, GPU-R03) and the disk the run will fill against what is free.
 */
import { statfs } from 'node:fs/promises';
import type { ValidationIssue } from '../validate/index.ts';
import type { RunPlan } from './plan-run.ts';
import type { GpuProbe } from './probe-gpus.ts';

export interface PlanIssueOptions {
  /** `--allow-unknown-gpu` / the Train page's override. */
  allowUnknownGpu: boolean;
  /** Free bytes where the run writes; null when unknown. */
  freeDiskBytes: number | null;
}

const GiB = 1024 ** 3;
const gib = (bytes: number): string => `${(bytes / GiB).toFixed(1)} GiB`;

function fixesHint(plan: RunPlan): string {
  return plan.vram.fixes.length === 0 ? 'Free GPU memory, or use a GPU with more memory.' : `Ways to fit: ${plan.vram.fixes.join('; ')}.`;
}

/**
 * The probe's verdict on starting at all: CPU mode warns and may start; `gpu_unknown` refuses unless allowed.
 * `refusal` words the refusal (the kohya plan names its memory estimate there). Null on a GPU machine.
 */
export function gpuProbeIssue(probe: GpuProbe, options: Pick<PlanIssueOptions, 'allowUnknownGpu'>, refusal: { message: string; estimateGb?: number }): ValidationIssue | null {
  if (probe.mode === 'cpu') {
    return {
      code: 'gpu-none',
      severity: 'warning',
      path: '',
      message: `CPU mode: ${probe.reason} The run can start, but training on the CPU takes far longer than on a GPU.`,
      hint: 'Install the NVIDIA driver (so `nvidia-smi` lists the GPU) to train on it.',
    };
  }
  if (probe.mode !== 'unknown') return null;
  if (options.allowUnknownGpu) {
    const unchecked = refusal.estimateGb === undefined ? 'without a memory check' : `without a memory check against the estimated ${refusal.estimateGb.toFixed(1)} GiB`;
    return {
      code: 'gpu-unknown',
      severity: 'warning',
      path: '',
      message: `GPU state unknown (gpu_unknown): ${probe.reason} Starting is allowed anyway (--allow-unknown-gpu), ${unchecked}.`,
      hint: 'Check the driver with `nvidia-smi` before a long run.',
    };
  }
  return {
    code: 'gpu-unknown',
    severity: 'error',
    path: '',
    message: refusal.message,
    hint: 'Check that `nvidia-smi` works. To start anyway, allow an unknown GPU: --allow-unknown-gpu on the CLI, or “Start without a GPU check” on the Train page.',
  };
}

export function planIssues(plan: RunPlan, probe: GpuProbe, options: PlanIssueOptions): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { vram } = plan;
  const probeIssue = gpuProbeIssue(probe, options, { message: vram.message, estimateGb: vram.estimateGb });
  if (probeIssue !== null) {
    issues.push(probeIssue);
  } else if (vram.fit === 'tight') {
    issues.push({ code: 'vram-tight', severity: 'warning', path: '', message: vram.message, hint: fixesHint(plan) });
  } else if (vram.fit === 'too-big') {
    issues.push({ code: 'vram-too-big', severity: 'error', path: '', message: vram.message, hint: fixesHint(plan) });
  } else if (vram.refuse) {
    issues.push({ code: 'gpu-not-found', severity: 'error', path: '', message: vram.message, hint: 'Pick GPUs that nvidia-smi lists.' });
  }
  if (options.freeDiskBytes !== null && plan.disk.bytes > options.freeDiskBytes) {
    issues.push({
      code: 'disk-short',
      severity: 'warning',
      path: 'saving',
      message: `The run may write up to ${gib(plan.disk.bytes)} (${plan.disk.items.map((item) => `${item.what} ${gib(item.bytes)}`).join(', ')}); the workspace has ${gib(options.freeDiskBytes)} free.`,
      hint: 'Free disk space, save less often (saving.everyNEpochs), keep fewer files (saving.keepLastNEpochs), or turn off saving.saveState.',
    });
  }
  return issues;
}

/** Bytes an unprivileged writer may still use on the file system holding `dir`; null when it cannot be read. */
export async function freeDiskBytes(dir: string): Promise<number | null> {
  try {
    const info = await statfs(dir);
    return info.bavail * info.bsize;
  } catch {
    return null;
  }
}
