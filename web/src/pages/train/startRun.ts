import { request } from '../../api.ts';
import type { DryRunResult, JsonObject } from './types.ts';

export interface StartOptions {
  /** "Start without a GPU check": nvidia-smi failed (gpu_unknown) and the operator starts anyway. */
  allowUnknownGpu: boolean;
}

export interface StartOutcome {
  /** True once the run is in the jobs queue. Until the jobs module lands, never. */
  queued: boolean;
  /** The checks the start ran: the dry run of exactly this config. */
  check: DryRunResult;
}

/**
 * The Train page's "Start training", the one place a run is started from the web. Until the jobs module
 * lands it runs the start's checks (a dry run: nothing is written or launched) and reports what would
 * start; wiring the queue means posting the config to the jobs API here when the check has no error.
 */
export async function startRun(config: JsonObject, options: StartOptions): Promise<StartOutcome> {
  const check = await request<DryRunResult>('POST', '/api/train/dry-run', { body: { config, allowUnknownGpu: options.allowUnknownGpu } });
  return { queued: false, check };
}
