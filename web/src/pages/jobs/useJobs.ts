import { useCallback, useEffect, useRef, useState } from 'react';
import { toApiError, type ApiError } from '../../api.ts';
import { parseEventData } from '../../events.tsx';
import { foldProgress } from '../../../../src/jobs/job-progress.ts';
import { jobsApi } from './jobsApi.ts';
import type { JobEventBody, JobRecord } from './types.ts';

/** Engine events arrive per step: the page applies them at most this often. */
const FLUSH_MS = 250;
const RETRY_AFTER_CLOSE_MS = 5_000;

export interface JobsState {
  jobs: JobRecord[] | undefined;
  error: ApiError | null;
  reload: () => void;
  /** Put a record the page got from an action in place at once. */
  merge: (job: JobRecord) => void;
  /** Per job, a number that changes when the run announced a sample or a saved file. */
  filesTick: Record<string, number>;
}

/** A record replaces the one held only when it is as new or newer: the stream and a reading may cross. */
function mergeRecords(current: JobRecord[] | undefined, incoming: readonly JobRecord[], whole: boolean): JobRecord[] {
  const held = new Map((current ?? []).map((job) => [job.id, job]));
  const next = new Map<string, JobRecord>(whole ? [] : held);
  for (const job of incoming) {
    const before = held.get(job.id);
    next.set(job.id, before !== undefined && before.updatedAt > job.updatedAt ? before : job);
  }
  // Newest first, as the server lists them.
  return [...next.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
}

/**
 * Every job, live: the list once the jobs stream is open (and again after a reconnect), then each record as
 * it changes and each engine event folded into the progress it shows.
 */
export function useJobs(): JobsState {
  const [jobs, setJobs] = useState<JobRecord[] | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [filesTick, setFilesTick] = useState<Record<string, number>>({});
  const pending = useRef(new Map<string, JobEventBody[]>());
  /** The jobs held as queued, and whether the queue changed since the list was last read. */
  const queued = useRef(new Set<string>());
  const queueShifted = useRef(false);

  const load = useCallback(async () => {
    try {
      const answer = await jobsApi.list();
      queued.current = new Set(answer.jobs.filter((job) => job.state === 'queued').map((job) => job.id));
      setJobs((current) => mergeRecords(current, answer.jobs, true));
      setError(null);
    } catch (cause) {
      setError(toApiError(cause));
    }
  }, []);

  useEffect(() => {
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const flush = setInterval(() => {
      if (queueShifted.current) {
        queueShifted.current = false;
        void load();
      }
      if (pending.current.size === 0) return;
      const batch = pending.current;
      pending.current = new Map();
      setJobs((current) =>
        current?.map((job) => {
          const events = batch.get(job.id);
          return events === undefined ? job : { ...job, progress: foldProgress(job.progress, events) };
        }),
      );
    }, FLUSH_MS);

    const open = () => {
      source = new EventSource(jobsApi.allJobsStream());
      // Subscribed first, listed second: nothing that happens in between is missed.
      source.onopen = () => void load();
      source.onerror = () => {
        if (source?.readyState === EventSource.CLOSED) {
          source.close();
          void load();
          retry = setTimeout(open, RETRY_AFTER_CLOSE_MS);
        }
      };
      source.addEventListener('job', (event) => {
        const record = parseEventData(event) as JobRecord | undefined;
        if (record === undefined || typeof record.id !== 'string') return;
        pending.current.delete(record.id);
        // The stream sends the record of the job that joined, left or moved in the queue, not those of the
        // queued jobs whose place that shifted: their positions come from reading the list again.
        const wasQueued = queued.current.has(record.id);
        if (record.state === 'queued') queued.current.add(record.id);
        else queued.current.delete(record.id);
        if (wasQueued || record.state === 'queued') queueShifted.current = true;
        setJobs((current) => mergeRecords(current, [record], false));
      });
      source.addEventListener('event', (event) => {
        const data = parseEventData(event) as { jobId?: string; event?: JobEventBody } | undefined;
        if (data?.jobId === undefined || data.event === undefined) return;
        const { jobId, event: body } = data;
        if (body.kind === 'progress' || body.kind === 'phase' || body.kind === 'epoch') {
          pending.current.set(jobId, [...(pending.current.get(jobId) ?? []), body]);
        } else if (body.kind === 'sample' || body.kind === 'checkpoint' || body.kind === 'output') {
          setFilesTick((ticks) => ({ ...ticks, [jobId]: (ticks[jobId] ?? 0) + 1 }));
        }
      });
    };

    open();
    return () => {
      clearInterval(flush);
      clearTimeout(retry);
      source?.close();
    };
  }, [load]);

  const reload = useCallback(() => void load(), [load]);
  const merge = useCallback((job: JobRecord) => setJobs((current) => mergeRecords(current, [job], false)), []);

  return { jobs, error, reload, merge, filesTick };
}
