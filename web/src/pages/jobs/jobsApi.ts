/** The jobs routes the page calls, in one place (src/server/routes/job-routes.ts and job-view-routes.ts). */
import { api, apiPath } from '../../api.ts';
import type { GpuStatsAnswer, JobRecord, MetricsAnswer, RunCheckpoint, SampleInfo, StopResult } from './types.ts';

const JOBS = '/api/jobs';

export const jobPath = (id: string, suffix = ''): string => apiPath(JOBS, id, suffix);

export const jobsApi = {
  list: () => api.get<{ jobs: JobRecord[] }>(`${JOBS}?limit=200`),
  get: (id: string, signal?: AbortSignal) => api.get<JobRecord>(jobPath(id), signal === undefined ? undefined : { signal }),
  logs: (id: string, lines: number) => api.get<{ lines: string[] }>(jobPath(id, `/logs?lines=${lines}`)),
  stop: (id: string) => api.post<StopResult>(jobPath(id, '/stop'), {}),
  resume: (id: string) => api.post<JobRecord>(jobPath(id, '/resume'), {}),
  cancel: (id: string) => api.post<JobRecord>(jobPath(id, '/cancel'), {}),
  move: (id: string, position: number) => api.post<JobRecord>(jobPath(id, '/move'), { position }),
  checkpoints: (id: string) => api.get<{ checkpoints: RunCheckpoint[] }>(jobPath(id, '/checkpoints')),
  promote: (id: string, name: string) => api.post<{ model: { id: string; name: string }; duplicate: boolean }>(jobPath(id, '/promote'), { name }),
  metrics: (id: string, cursor: MetricsAnswer['cursor'], signal: AbortSignal) =>
    api.get<MetricsAnswer>(jobPath(id, Object.keys(cursor).length === 0 ? '/metrics' : `/metrics?cursor=${encodeURIComponent(JSON.stringify(cursor))}`), { signal }),
  samples: (id: string) => api.get<{ samples: SampleInfo[]; skipped: number }>(jobPath(id, '/samples')),
  sampleUrl: (id: string, name: string) => jobPath(id, `/samples/${encodeURIComponent(name)}`),
  gpuStats: () => api.get<GpuStatsAnswer>('/api/gpus/stats'),
  /**
   * One job's stream, for its log lines only: the page takes records and events from the jobs stream, so the
   * recorded events are skipped (`after` past any sequence number) rather than replayed.
   */
  jobStream: (id: string) => jobPath(id, `/events?logs=1&after=${Number.MAX_SAFE_INTEGER}`),
  /** Every job's record as it changes, and every recorded event (`{ jobId, seq, at, event }`). */
  allJobsStream: () => `${JOBS}/events`,
};
