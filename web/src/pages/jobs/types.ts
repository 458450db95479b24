/**
 * The jobs API's shapes as the page uses them: the server's own declarations (src/jobs/job-api-types.ts,
 * node-free), with the run config read as plain JSON.
 */
import { ACTIVE_JOB_STATES as ACTIVE_STATES, type JobEvent, type JobRecordOf, type JobState, type StopResultOf } from '../../../../src/jobs/job-api-types.ts';

export { RESUMABLE_JOB_STATES, isFinalJobState as isFinalJob } from '../../../../src/jobs/job-api-types.ts';
export type { GpuStat, GpuStatsView as GpuStatsAnswer, JobProgress, JobState, RunCheckpoint, SampleInfo } from '../../../../src/jobs/job-api-types.ts';
export type { MetricBatch as MetricsAnswer, MetricPoint } from '../../../../src/training/engines/engine-events.ts';

/** States with a run shim (starting, running, stopping), as a set for the page's lookups. */
export const ACTIVE_JOB_STATES: ReadonlySet<JobState> = new Set(ACTIVE_STATES);

/** The page only shows and copies the config, so it reads it as JSON rather than the server's parsed schema. */
export type JobRecord = JobRecordOf<Record<string, unknown>>;

export type StopResult = StopResultOf<Record<string, unknown>>;

/** Engine events and lifecycle facts as `events.jsonl` records them. */
export type JobEventBody = JobEvent['event'];

export interface MetricSeries {
  steps: number[];
  values: number[];
}
