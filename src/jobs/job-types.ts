/**
 * Jobs (DESIGN.md §5): a training run queued for a GPU slot and supervised through its run shim.
 * States: queued → starting → running → stopping → succeeded | failed | cancelled | interrupted.
 * The shapes live in job-api-types.ts (node-free, shared with the web UI); here the config is the run schema's.
 */
import type { RunConfig } from '../training/schema/index.ts';
import type { JobProgress, JobRecordOf, StopResultOf } from './job-api-types.ts';

export {
  ACTIVE_JOB_STATES,
  FINAL_JOB_STATES,
  JOB_STATES,
  RESUMABLE_JOB_STATES,
  isFinalJobState,
  type GpuRequest,
  type JobDevice,
  type JobEvent,
  type JobFailure,
  type JobProgress,
  type JobState,
  type JobStateEvent,
  type RunCheckpoint,
} from './job-api-types.ts';

export type JobRecord = JobRecordOf<RunConfig>;

export type StopResult = StopResultOf<RunConfig>;

export const EMPTY_PROGRESS: JobProgress = { phase: null, step: 0, total: null, epoch: null, epochs: null, itPerSec: null, remainingS: null, loss: null };
