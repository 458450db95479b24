/**
 * The studio's one GPU stats sampler (issue 8 §4): `nvidia-smi` is asked only while some job is starting,
 * running or stopping, whoever is looking. The service follows the jobs' own updates (no polling of the
 * job table) and keeps the last reading for `GET /api/gpus/stats`, so any number of open Jobs pages cost
 * one query every interval, and an idle studio none. It starts with the first look (the Jobs page), so the
 * in-process CLI, which opens a studio too, never runs nvidia-smi for it.
 */
import type { Logger } from '../core/logger.ts';
import type { GpuStatsView } from './job-api-types.ts';
import { createGpuStatsSampler, type GpuStatsSampler, type SampleGpuStatsParams } from './metrics/gpu-stats.ts';
import type { JobService } from './job-service.ts';
import { ACTIVE_JOB_STATES, type JobRecord, type JobState } from './job-types.ts';

/** What the service needs of the job service: the jobs active now, and every job's updates. */
export type JobActivitySource = Pick<JobService, 'list' | 'subscribe'>;

export interface GpuStatsServiceParams extends SampleGpuStatsParams {
  jobs: JobActivitySource;
  log?: Pick<Logger, 'warn'>;
  /** Pause between readings while active; default 2 s. */
  intervalMs?: number;
}

export interface GpuStatsService {
  /** The readings now; the first call starts following the jobs (and so, while one is active, nvidia-smi). */
  view(): GpuStatsView;
  close(): Promise<void>;
}

const ACTIVE: ReadonlySet<JobState> = new Set(ACTIVE_JOB_STATES);

export function createGpuStatsService(params: GpuStatsServiceParams): GpuStatsService {
  const { jobs, log, ...sampling } = params;
  const sampler: GpuStatsSampler = createGpuStatsSampler({ ...sampling, onSample: () => undefined });
  const active = new Set<string>();
  /** Jobs whose own update arrived before the first listing did: the update is the newer word. */
  const heard = new Set<string>();
  let listed = false;
  let closed = false;
  let following: { off: () => void; ready: Promise<void> } | null = null;

  const note = (job: JobRecord): void => {
    if (ACTIVE.has(job.state)) active.add(job.id);
    else active.delete(job.id);
    sampler.setActive(!closed && active.size > 0);
  };

  const follow = (): { off: () => void; ready: Promise<void> } => {
    // Subscribe first, then read what is active, so a job that starts in between is not missed.
    const off = jobs.subscribe(null, (update) => {
      if (update.type !== 'job') return;
      if (!listed) heard.add(update.job.id);
      note(update.job);
    });
    const ready = jobs
      .list({ states: ACTIVE_JOB_STATES })
      .then((list) => {
        for (const job of list) if (!heard.has(job.id)) note(job);
      })
      .catch((error: unknown) => log?.warn({ err: error }, 'GPU stats: listing the active jobs failed; the next job update corrects it'))
      .finally(() => {
        listed = true;
        heard.clear();
      });
    return { off, ready };
  };

  return {
    view() {
      // Followed from the first look on: a CLI process that opens the studio never asks nvidia-smi.
      if (following === null && !closed) following = follow();
      return { active: active.size > 0, sample: sampler.latest() ?? null };
    },
    async close() {
      closed = true;
      following?.off();
      await following?.ready;
      await sampler.stop();
    },
  };
}
