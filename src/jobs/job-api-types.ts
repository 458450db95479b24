/**
 * What the jobs API sends (DESIGN.md §5): a job, its states and events, a stop's answer, a run's checkpoints
 * and samples, and the GPU readings. Free of node: imports, and of the run schema (which needs them), because
 * the web UI imports this module too: the config is the one type parameter, filled in by job-types.ts.
 */
import type { EngineEvent, EngineId } from '../training/engines/engine-events.ts';

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

/** How the run shim confines the engine. `bwrap`: bubblewrap; `cgroup`: a cgroup v2 folder written directly; `unsandboxed`: process group only. */
export type SandboxMode = 'bwrap' | 'cgroup' | 'unsandboxed';

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

/** A job with its run config as `Config`: the server's parsed `RunConfig`, or plain JSON where it is only shown. */
export interface JobRecordOf<Config> {
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
  config: Config;
  seed: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Lifecycle facts the server adds to the engine's own events. */
export type JobStateEvent =
  | { kind: 'state'; state: JobState; message?: string }
  | { kind: 'output'; modelId: string; file: string }
  | { kind: 'output-refused'; file: string; code: string; message: string };

/** One line of `runs/<id>/events.jsonl` and of the SQLite mirror. */
export interface JobEvent {
  seq: number;
  at: string;
  event: EngineEvent | JobStateEvent;
}

export interface StopResultOf<Config> {
  job: JobRecordOf<Config>;
  /** What the run keeps: its newest saved model file and state, by name. */
  lastSave: { checkpoint: string | null; state: string | null };
  note: string;
}

export interface RunCheckpoint {
  name: string;
  epoch: number | null;
  step: number | null;
  size: number;
}

/** A sample image a run wrote (`GET /api/jobs/:id/samples`), with what its kohya name tells. */
export interface SampleInfo {
  name: string;
  /** From an epoch-end (or `sample_at_first`, 0) sample's name. */
  epoch: number | null;
  /** From a step sample's name. */
  step: number | null;
  /** Index of the prompt in the prompts file. */
  prompt: number | null;
  seed: number | null;
  size: number;
  modifiedAt: string;
}

export interface GpuStat {
  index: number;
  /** `GPU-…` (or `MIG-…`): what a run's claimed GPU set may name instead of the index. */
  uuid: string;
  /** The numbers are null where the driver says `[N/A]` / `[Not Supported]` (MIG slices, some boards). */
  utilizationPct: number | null;
  memoryUsedMiB: number | null;
  memoryTotalMiB: number | null;
  temperatureC: number | null;
}

/** One reading; `at` is milliseconds since the epoch. */
export type GpuStatsSample =
  | { state: 'ok'; at: number; gpus: GpuStat[] }
  /** No NVIDIA driver, or it found no device: a CPU machine, nothing to show. */
  | { state: 'unavailable'; at: number; reason: string }
  /** nvidia-smi failed, hung past its time limit, or printed what does not parse. */
  | { state: 'error'; at: number; reason: string };

/** `GET /api/gpus/stats`. */
export interface GpuStatsView {
  /** Whether a job is active now, so the sampler is reading. */
  active: boolean;
  /** The last reading (it may be from an earlier run while nothing is active), or null before the first. */
  sample: GpuStatsSample | null;
}
