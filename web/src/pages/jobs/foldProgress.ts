/**
 * A job's progress folded from its engine events, as the server folds them (src/jobs/job-progress.ts): the
 * page applies the events of the jobs stream between two records, so the bars move with every step.
 */
import type { JobEventBody, JobProgress } from './types.ts';

export function foldProgress(progress: JobProgress, event: JobEventBody): JobProgress {
  switch (event.kind) {
    case 'progress':
      return {
        ...progress,
        step: event.step,
        total: event.total,
        itPerSec: event.itPerSec ?? progress.itPerSec,
        remainingS: event.remainingS ?? progress.remainingS,
        loss: event.loss ?? progress.loss,
        epoch: event.epoch ?? progress.epoch,
      };
    case 'epoch':
      return { ...progress, epoch: event.epoch, epochs: event.total };
    case 'phase':
      return { ...progress, phase: event.phase };
    default:
      return progress;
  }
}
