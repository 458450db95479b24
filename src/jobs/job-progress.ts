/**
 * A job's live progress, folded from its engine events (what the list, the bar and the ETA show). Node-free:
 * the web UI folds the jobs stream's events between two records with the same function.
 */
import type { JobEvent, JobProgress } from './job-api-types.ts';

export function foldProgress(progress: JobProgress, events: ReadonlyArray<JobEvent['event']>): JobProgress {
  let next = progress;
  for (const event of events) {
    switch (event.kind) {
      case 'progress':
        next = {
          ...next,
          step: event.step,
          total: event.total,
          itPerSec: event.itPerSec ?? next.itPerSec,
          remainingS: event.remainingS ?? next.remainingS,
          loss: event.loss ?? next.loss,
          epoch: event.epoch ?? next.epoch,
        };
        break;
      case 'epoch':
        next = { ...next, epoch: event.epoch, epochs: event.total };
        break;
      case 'phase':
        next = { ...next, phase: event.phase };
        break;
      default:
        break;
    }
  }
  return next;
}

/** One line for a progress bar: epoch, speed, loss, ETA — whatever is known. */
export function describeProgress(progress: JobProgress): string {
  const parts: string[] = [];
  if (progress.phase !== null && progress.phase !== 'training') parts.push(progress.phase);
  if (progress.epoch !== null) parts.push(`epoch ${progress.epoch}${progress.epochs === null ? '' : `/${progress.epochs}`}`);
  if (progress.itPerSec !== null) parts.push(progress.itPerSec >= 1 ? `${progress.itPerSec.toFixed(2)} it/s` : `${(1 / progress.itPerSec).toFixed(2)} s/it`);
  if (progress.loss !== null) parts.push(`loss ${progress.loss.toPrecision(4)}`);
  if (progress.remainingS !== null) parts.push(`ETA ${formatDuration(progress.remainingS)}`);
  return parts.join(' · ');
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
