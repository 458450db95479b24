/** How the Jobs page writes speeds, durations and metric values. */
import type { JobRecord } from './types.ts';

/** 3725 → "1 h 02 min", 95 → "1 min 35 s", 8 → "8 s". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min ${String(s % 60).padStart(2, '0')} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** kohya's tqdm writes s/it below 1 it/s; so does the page. */
export function formatSpeed(itPerSec: number | null): string {
  if (itPerSec === null || !Number.isFinite(itPerSec) || itPerSec <= 0) return '—';
  if (itPerSec < 1) return `${(1 / itPerSec).toFixed(2)} s/it`;
  return `${itPerSec.toFixed(itPerSec >= 100 ? 0 : 2)} it/s`;
}

/** Losses (≈ 0.01–1) to 4 significant digits; learning rates (≈ 1e-6–1e-3) in exponent form. */
export function formatLoss(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '—';
  return Math.abs(value) >= 1e-3 || value === 0 ? value.toPrecision(4) : value.toExponential(2);
}

export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value === 0 ? '0' : value.toExponential(1);
}

export function percentDone(job: JobRecord): number | null {
  const { step, total } = job.progress;
  if (total === null || total <= 0) return null;
  return Math.min(100, Math.floor((step / total) * 100));
}

/** "GPU 0, 1", "CPU", "GPU (unknown)" — what the job claimed, or asked for while queued. */
export function deviceLabel(job: JobRecord): string {
  if (job.device === 'cpu') return 'CPU';
  if (job.device === 'unknown') return 'GPU (not identified)';
  if (job.slots.length > 0) return `GPU ${job.slots.join(', ')}`;
  if (job.gpuRequest !== null && 'indices' in job.gpuRequest) return `GPU ${job.gpuRequest.indices.join(', ')} (waiting)`;
  const count = job.gpuRequest !== null && 'count' in job.gpuRequest ? job.gpuRequest.count : 1;
  return `any ${count === 1 ? 'GPU' : `${count} GPUs`}`;
}
