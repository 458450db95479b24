/**
 * The engine interface of DESIGN.md §4 as the jobs module uses it: one shape for what every adapter (kohya,
 * FluxFlow) hands the run shim, and one for what its output parser and metrics reader give back. Adapters
 * keep their richer types (KohyaLaunch, KohyaEvent, …); these are the engine-neutral views of them.
 */
import type { RunConfig } from '../schema/index.ts';
import type { EngineEvent, EngineId, MetricBatch, MetricsCursor } from './engine-events.ts';

export type { EngineEvent, EngineId, MetricBatch, MetricPoint, MetricsCursor } from './engine-events.ts';

/** A watchdog phase (DESIGN §5: start-up, caching, training at k × the last step time with a floor). */
export interface PhaseDirective {
  phase: string;
  /** Regex sources of output lines that enter this phase; the first phase is entered at spawn. */
  enter: string[];
  ignoreCase: boolean;
  /** Seconds without any output line in this phase before the run counts as hung. */
  idleTimeoutS?: number;
  /** A line that marks a step: the hang limit is then max(stepFloorS, stepFactor × the last step time). */
  stepPattern?: string;
  stepFactor?: number;
  stepFloorS?: number;
}

/** A folder inside `work/` whose matching files the shim copies (temp file, then rename) once they settle. */
export interface SnapshotDirective {
  dir: string;
  pattern: string;
  settleS: number;
}

export interface EngineSandbox {
  /** Bound read-only one by one. */
  readOnly: string[];
  /** The only writable folders (the run's `work/`). */
  writable: string[];
  network: false;
}

/** What `prepare` returns once it has written the engine's files under `runs/<id>/`. */
export interface EngineLaunch {
  engine: EngineId;
  /** argv[0] is the absolute interpreter; spawned without a shell. */
  argv: string[];
  /** The whole environment (built from nothing, never from process.env). */
  env: Record<string, string>;
  cwd: string;
  directives: { phases: PhaseDirective[]; snapshots: SnapshotDirective[] };
  sandbox: EngineSandbox;
  /** Where the final output will be when the run succeeds (absolute, inside `work/`). */
  outputFile: string;
  /**
   * Files the final output enters the library with, as one entry whose main file it stays (absolute, inside
   * `work/`): FluxFlow's text encoder, which a fine-tune from the entry reads beside the checkpoint.
   */
  outputCompanions?: string[];
}

export interface EngineExit {
  code: number | null;
  signal: string | null;
  /** Whether `outputFile` exists as a regular file inside `work/`. */
  outputExists: boolean;
}

export interface EngineOutcome {
  ok: boolean;
  /** `succeeded`, or the reason code (`cuda-oom`, `no-data`, `no-model-saved`, `exit-N`, …). */
  code: string;
  message: string;
  hint?: string;
}

/** Parses an engine's output lines (as the line splitter gives them) into events, then the verdict. */
export interface EngineOutputParser {
  parse(line: string): EngineEvent[];
  finish(exit: EngineExit): { events: EngineEvent[]; outcome: EngineOutcome };
}

export interface PrepareParams {
  config: RunConfig;
  /** Absolute `runs/<id>`; `work/` inside it is created by prepare. */
  runDir: string;
  /** GPUs the run claimed: `[]` is CPU mode. */
  gpus: string[];
  /** Absolute `runs/<parent>` when this job resumes another (DESIGN.md §5: resume is a new job linked to its parent). */
  resumeFrom?: string;
}

export interface TrainingEngine {
  id: EngineId;
  prepare(params: PrepareParams): Promise<EngineLaunch>;
  createParser(config: RunConfig): EngineOutputParser;
  metrics(runDir: string, since: MetricsCursor): Promise<MetricBatch>;
}
