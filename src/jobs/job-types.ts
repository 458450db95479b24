/**
 * Jobs (DESIGN.md §5): a training run queued for a GPU slot and supervised through its run shim.
 * States: queued → starting → running → stopping → succeeded | failed | cancelled | interrupted.
 */
import type { EngineEvent, EngineId } from '../training/engines/engine.ts';
import type { RunConfig } from '../training/schema/index.ts';
import type { SandboxMode } from './shim/protocol.ts';

export const JOB_STATES = ['queued', 'starting', 'running', 'stopping', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINAL_JOB_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);
/** States in which a run shim may exist: the supervisor watches these. */
export const ACTIVE_JOB_STATES: readonly JobState[] = ['starting', 'running', 'stopping'];
/** Resume is allowed from these, when the engine saved state. */
export const RESUMABLE_JOB_STATES: ReadonlySet<JobState> = new Set(['failed', 'cancelled', 'interrupted']);

export function isFinalJobState(state: JobState): boolean {
  return FINAL_JOB_STATES.has(state);
}

/** `gpu`: claims GPUs by index; `cpu`: the one shared `cpu` slot; `unknown`: gpu_unknown, allowed by the user. */
export type JobDevice = 'gpu' | 'cpu' | 'unknown';

/** Which GPUs a run wants: exactly these indices, or any `count` free ones. */
export type GpuRequest = { indices: number[] } | { count: number };

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
  /** The log's last lines, when they explain more than the code (interrupted, crashes). */
  lastLines?: string[];
}

export interface JobRecord {
  id: string;
  state: JobState;
  engine: EngineId;
  /** The config's `name`, else the job id: also the output file's name. */
  name: string;
  family: string;
  datasets: string[];
  device: JobDevice;
  gpuRequest: GpuRequest | null;
  /** Slots held while starting / running / stopping (`0`, `1`, … or `cpu` / `unknown`). */
  slots: string[];
  sandbox: SandboxMode | null;
  resumedFrom: string | null;
  /** The parent's saved-state folder (its name) this job resumes from. */
  resumeState: string | null;
  /** 1-based place in the queue while queued; null otherwise. */
  position: number | null;
  progress: JobProgress;
  failure: JobFailure | null;
  /** The library model made from the final output, once succeeded. */
  outputModelId: string | null;
  /** Saved training state that a resume would start from (path inside the run's `work/`), when there is one. */
  resumable: boolean;
  config: RunConfig;
  seed: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** One line of `runs/<id>/events.jsonl` and of the SQLite mirror. */
export interface JobEvent {
  seq: number;
  at: string;
  event: EngineEvent | JobStateEvent;
}

/** Lifecycle facts the server adds to the engine's own events. */
export type JobStateEvent =
  | { kind: 'state'; state: JobState; message?: string }
  | { kind: 'output'; modelId: string; file: string }
  | { kind: 'output-refused'; file: string; code: string; message: string };

export const EMPTY_PROGRESS: JobProgress = { phase: null, step: 0, total: null, epoch: null, epochs: null, itPerSec: null, remainingS: null, loss: null };
