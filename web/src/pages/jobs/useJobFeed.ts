import { useEffect, useState } from 'react';
import { toApiError, type ApiError } from '../../api.ts';
import { parseEventData } from '../../events.tsx';
import { jobsApi } from './jobsApi.ts';
import type { JobRecord, RunCheckpoint, SampleInfo } from './types.ts';
import { isFinalJob } from './types.ts';

/** Lines the log viewer keeps (the server's tail, then what streams in). */
const MAX_LINES = 2000;
const TAIL_LINES = 400;
/** A sample or save is announced in the log before its file is complete: look a moment later. */
const FILES_DELAY_MS = 2_500;
const FILES_POLL_MS = 15_000;

export interface JobFeed {
  lines: string[];
  samples: { samples: SampleInfo[]; skipped: number };
  checkpoints: RunCheckpoint[];
  error: ApiError | null;
}

function capped(lines: string[]): string[] {
  return lines.length > MAX_LINES ? lines.slice(lines.length - MAX_LINES) : lines;
}

/**
 * The tail read from the server, then the streamed lines it does not hold yet: lines that streamed in before
 * the tail was read are its last ones, so the longest start of `streamed` that ends the tail is dropped.
 */
export function joinTail(tail: readonly string[], streamed: readonly string[]): string[] {
  for (let overlap = Math.min(tail.length, streamed.length); overlap > 0; overlap -= 1) {
    let same = true;
    for (let i = 0; i < overlap && same; i += 1) same = tail[tail.length - overlap + i] === streamed[i];
    if (same) return [...tail, ...streamed.slice(overlap)];
  }
  return [...tail, ...streamed];
}

/**
 * What one job's detail shows beside its record: the log (its tail, then the lines the job's stream carries
 * while it runs) and its samples and per-epoch files (again when the run announces one, and when it ends).
 */
export function useJobFeed(job: JobRecord, filesTick: number): JobFeed {
  const [lines, setLines] = useState<string[]>([]);
  const [samples, setSamples] = useState<JobFeed['samples']>({ samples: [], skipped: 0 });
  const [checkpoints, setCheckpoints] = useState<RunCheckpoint[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const id = job.id;
  const ended = isFinalJob(job.state);
  const started = job.state !== 'queued';

  // The log: the tail now, then live lines until the run ends (the stream closes itself on the final record).
  useEffect(() => {
    if (!started) return;
    let stopped = false;
    let source: EventSource | null = null;
    const streamed: string[] = [];
    if (!ended) {
      // Events come from the page's jobs stream; this one is for the log lines (and ends with the run).
      source = new EventSource(jobsApi.jobStream(id));
      source.addEventListener('log', (event) => {
        const data = parseEventData(event) as { lines?: unknown } | undefined;
        if (!Array.isArray(data?.lines)) return;
        const fresh = data.lines.filter((line): line is string => typeof line === 'string');
        streamed.push(...fresh);
        setLines((current) => capped([...current, ...fresh]));
      });
      source.addEventListener('job', (event) => {
        const record = parseEventData(event) as JobRecord | undefined;
        if (record !== undefined && isFinalJob(record.state)) source?.close();
      });
    }
    jobsApi
      .logs(id, TAIL_LINES)
      .then((answer) => {
        if (stopped) return;
        setLines(capped(joinTail(answer.lines, streamed)));
      })
      .catch((cause: unknown) => {
        if (!stopped) setError(toApiError(cause));
      });
    return () => {
      stopped = true;
      source?.close();
    };
  }, [id, started, ended]);

  // Samples and saved files: at once, after an announcement, now and then while live, and at the end.
  useEffect(() => {
    let stopped = false;
    const read = async () => {
      try {
        const [found, saved] = await Promise.all([jobsApi.samples(id), jobsApi.checkpoints(id)]);
        if (stopped) return;
        setSamples(found);
        setCheckpoints(saved.checkpoints);
      } catch (cause) {
        if (!stopped) setError(toApiError(cause));
      }
    };
    const first = setTimeout(() => void read(), filesTick === 0 ? 0 : FILES_DELAY_MS);
    const poll = ended || !started ? undefined : setInterval(() => void read(), FILES_POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(first);
      clearInterval(poll);
    };
  }, [id, filesTick, ended, started]);

  return { lines, samples, checkpoints, error };
}
