/** The jobs API's shapes as the page uses them (src/jobs/job-types.ts and the view routes on the server). */

export type JobState = 'queued' | 'starting' | 'running' | 'stopping' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export const FINAL_JOB_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);
export const ACTIVE_JOB_STATES: ReadonlySet<JobState> = new Set(['starting', 'running', 'stopping']);
/** Resume starts a new job from a saved state of one of these (when the run saved one). */
export const RESUMABLE_JOB_STATES: ReadonlySet<JobState> = new Set(['failed', 'cancelled', 'interrupted']);

export function isFinalJob(state: JobState): boolean {
  return FINAL_JOB_STATES.has(state);
}

export interface JobProgress {
  phase: string | null;
  step: number;
  total: number | null;
  epoch: number | null;
  epochs: number | null;
  itPerSec: number | null;
  remainingS: number | null;
  loss: number | null;
}

export interface JobFailure {
  code: string;
  message: string;
  hint?: string;
  lastLines?: string[];
}

export interface JobRecord {
  id: string;
  state: JobState;
  engine: 'kohya' | 'fluxflow';
  name: string;
  family: string;
  datasets: string[];
  device: 'gpu' | 'cpu' | 'unknown';
  gpuRequest: { indices: number[] } | { count: number } | null;
  slots: string[];
  sandbox: string | null;
  resumedFrom: string | null;
  position: number | null;
  progress: JobProgress;
  failure: JobFailure | null;
  outputModelId: string | null;
  resumable: boolean;
  config: Record<string, unknown>;
  seed: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Engine events and lifecycle facts as `events.jsonl` records them. */
export type JobEventBody =
  | { kind: 'progress'; step: number; total: number; itPerSec?: number; remainingS?: number; loss?: number; epoch?: number }
  | { kind: 'phase'; phase: string }
  | { kind: 'epoch'; epoch: number; total: number }
  | { kind: 'checkpoint'; path: string; final: boolean }
  | { kind: 'sample'; step?: number; path?: string }
  | { kind: 'warning'; code: string; message: string }
  | { kind: 'error'; code: string; message: string; hint: string; fatal: boolean }
  | { kind: 'state'; state: JobState; message?: string }
  | { kind: 'output'; modelId: string; file: string }
  | { kind: 'output-refused'; file: string; code: string; message: string };

export interface StopResult {
  job: JobRecord;
  lastSave: { checkpoint: string | null; state: string | null };
  note: string;
}

export interface RunCheckpoint {
  name: string;
  epoch: number | null;
  step: number | null;
  size: number;
}

export interface MetricSeries {
  steps: number[];
  values: number[];
}

/** One scalar a run recorded (TensorBoard for kohya). */
export interface MetricPoint {
  tag: string;
  step: number;
  value: number;
}

/** The points after the cursor sent, and the cursor to send next (event file → byte offset). */
export interface MetricsAnswer {
  points: MetricPoint[];
  cursor: Record<string, number>;
}

export interface SampleInfo {
  name: string;
  epoch: number | null;
  step: number | null;
  prompt: number | null;
  seed: number | null;
  size: number;
  modifiedAt: string;
}

export interface GpuStat {
  index: number;
  uuid: string;
  utilizationPct: number | null;
  memoryUsedMiB: number | null;
  memoryTotalMiB: number | null;
  temperatureC: number | null;
}

export type GpuStatsSample =
  | { state: 'ok'; at: number; gpus: GpuStat[] }
  | { state: 'unavailable'; at: number; reason: string }
  | { state: 'error'; at: number; reason: string };

export interface GpuStatsAnswer {
  active: boolean;
  sample: GpuStatsSample | null;
}
