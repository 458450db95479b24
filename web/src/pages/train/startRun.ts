import { ApiError, request } from '../../api.ts';
import type { JobRecord } from '../jobs/types.ts';
import type { DryRunResult, JsonObject } from './types.ts';

export interface StartOptions {
  /** "Start without a GPU check": nvidia-smi failed (gpu_unknown) and the operator starts anyway. */
  allowUnknownGpu: boolean;
}

export type StartOutcome =
  /** The run is in the jobs queue. */
  | { kind: 'queued'; job: JobRecord; check: DryRunResult }
  /** The checks found errors: nothing was queued. */
  | { kind: 'checks-failed'; check: DryRunResult }
  /** The checks passed but the jobs service refused the run (e.g. the engine is not installed). */
  | { kind: 'refused'; error: ApiError; check: DryRunResult };

/**
 * The Train page's "Start training", the one place a run is started from the web: the start's checks (a dry run
 * of exactly this config), then, when they have no error, the run is queued as a job.
 */
export async function startRun(config: JsonObject, options: StartOptions): Promise<StartOutcome> {
  const check = await request<DryRunResult>('POST', '/api/train/dry-run', { body: { config, allowUnknownGpu: options.allowUnknownGpu } });
  if (check.dryRun === null || check.issues.some((issue) => issue.severity === 'error')) return { kind: 'checks-failed', check };
  try {
    const job = await request<JobRecord>('POST', '/api/jobs', { body: { config, allowUnknownGpu: options.allowUnknownGpu } });
    return { kind: 'queued', job, check };
  } catch (error) {
    if (error instanceof ApiError && error.status !== 0 && error.status < 500) return { kind: 'refused', error, check };
    throw error;
  }
}
