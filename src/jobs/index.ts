/**
 * The jobs domain (DESIGN.md §5): training runs queued for GPU slots, started through the run shim, their
 * events recorded by the one supervisor, their outputs taken into the library.
 */
export { createJobs, type CreateJobsParams } from './create-jobs.ts';
export { datasetLockReason } from './dataset-locks.ts';
export { JobService, type EnqueueParams, type JobServiceParams, type JobUpdate, type ResumeParams, type RunCheckpoint, type StopResult } from './job-service.ts';
export { jobSettingsSchema, type JobSettings } from './job-settings.ts';
export type { JobEngine, JobPrepareParams } from './job-engine.ts';
export type { JobRunner, SandboxChoice } from './job-runner.ts';
export { describeProgress, foldProgress } from './job-progress.ts';
export * from './job-types.ts';
