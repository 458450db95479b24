import { useEffect, useRef, useState } from 'react';
import { toApiError, type ApiError } from '../../api.ts';
import { jobsApi } from './jobsApi.ts';
import type { MetricPoint, MetricSeries, MetricsAnswer } from './types.ts';

const POLL_MS = 3_000;
/** Reads in a row while answers bring points (the server reads a bounded amount per call). */
const MAX_CATCH_UP = 50;

/** FluxFlow's per-component losses (`vae_loss`, `kl_loss`, `flow_loss`, `g_loss`, …, from its JSONL metrics). */
export function isComponentLossTag(tag: string): boolean {
  return /^[a-z]+(?:_[a-z]+)*_loss$/.test(tag);
}

/** The curves the page draws: kohya's step losses, FluxFlow's component losses and every learning-rate group. */
export function isChartedTag(tag: string): boolean {
  return tag === 'loss/current' || tag === 'loss/average' || isComponentLossTag(tag) || tag.startsWith('lr/');
}

export interface RunMetrics {
  series: Record<string, MetricSeries>;
  error: ApiError | null;
}

/** `into` with the charted points appended, one series per tag (a new object only when something was added). */
export function appendPoints(into: Record<string, MetricSeries>, points: readonly MetricPoint[]): Record<string, MetricSeries> {
  const charted = points.filter((point) => isChartedTag(point.tag) && Number.isFinite(point.value));
  if (charted.length === 0) return into;
  const next: Record<string, MetricSeries> = { ...into };
  for (const point of charted) {
    const before = next[point.tag];
    // Copied once per tag and answer, then appended to in place.
    const line = before === undefined || before === into[point.tag] ? { steps: [...(before?.steps ?? [])], values: [...(before?.values ?? [])] } : before;
    line.steps.push(point.step);
    line.values.push(point.value);
    next[point.tag] = line;
  }
  return next;
}

/**
 * A run's curves, read incrementally with the server's cursor: at once (again at once while answers bring
 * points), every few seconds while the run is live, and once more after it ends.
 */
export function useRunMetrics(jobId: string, live: boolean): RunMetrics {
  const [state, setState] = useState<RunMetrics>({ series: {}, error: null });
  // Where reading got to, for this job: kept when the run goes live or ends, dropped for another job.
  const position = useRef<{ jobId: string; cursor: MetricsAnswer['cursor'] }>({ jobId, cursor: {} });

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (position.current.jobId !== jobId) {
      position.current = { jobId, cursor: {} };
      setState({ series: {}, error: null });
    }
    const read = async (catchUp: number) => {
      try {
        const answer = await jobsApi.metrics(jobId, position.current.cursor, controller.signal);
        if (controller.signal.aborted) return;
        position.current = { jobId, cursor: answer.cursor };
        setState((current) => ({ series: appendPoints(current.series, answer.points), error: null }));
        if (answer.points.length > 0 && catchUp < MAX_CATCH_UP) timer = setTimeout(() => void read(catchUp + 1), 0);
        else if (live) timer = setTimeout(() => void read(0), POLL_MS);
      } catch (cause) {
        if (controller.signal.aborted) return;
        setState((current) => ({ ...current, error: toApiError(cause) }));
        if (live) timer = setTimeout(() => void read(0), POLL_MS * 3);
      }
    };
    void read(0);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [jobId, live]);

  return state;
}
