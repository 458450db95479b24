/**
 * The engine-neutral facts a run records and the jobs API sends: which engine, its events and its metric
 * points. Free of node: imports (and of the run schema, which needs them) because the web UI imports these
 * types too; engine.ts re-exports them beside the adapter interface.
 */

export type EngineId = 'kohya' | 'fluxflow';

/** Engine-neutral events, persisted to `runs/<id>/events.jsonl` by the server. */
export type EngineEvent =
  | { kind: 'progress'; step: number; total: number; itPerSec?: number; remainingS?: number; loss?: number; epoch?: number }
  | { kind: 'phase'; phase: string }
  | { kind: 'epoch'; epoch: number; total: number }
  | { kind: 'checkpoint'; path: string; final: boolean }
  | { kind: 'sample'; step?: number; path?: string }
  | { kind: 'warning'; code: string; message: string }
  | { kind: 'error'; code: string; message: string; hint: string; fatal: boolean };

/** One metric point (TensorBoard scalar or engine JSONL row). */
export interface MetricPoint {
  tag: string;
  step: number;
  value: number;
  /** Seconds since the epoch, when the source records it. */
  wallTime?: number;
}

/** Opaque per-engine resume position for `metrics` (file names and byte offsets). */
export type MetricsCursor = Record<string, number>;

export interface MetricBatch {
  points: MetricPoint[];
  cursor: MetricsCursor;
}
