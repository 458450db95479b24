/**
 * The engine as a job uses it: the `TrainingEngine` of DESIGN.md §4 plus what a job adds — the files a run
 * reads (its manifest), the engine's commit, the output name and seed a job fixes, the saved state a resume
 * starts from, and the names of the per-epoch files a user may promote. kohya's `KohyaTrainingEngine` is one.
 */
import type { ModelKind } from '../formats/fingerprint/index.ts';
import type { EngineId, EngineLaunch, EngineOutputParser, MetricBatch, MetricsCursor, PrepareParams } from '../training/engines/engine.ts';
import type { OperatorRun } from '../training/import/operator-inputs.ts';
import type { RunConfig } from '../training/schema/index.ts';
import type { RunInputs } from './run-manifest.ts';

export interface JobPrepareParams extends PrepareParams {
  outputName: string;
  seed: number;
  gpusUnknown?: boolean;
  /** An imported config's operator inputs, scanned for this run folder: resolved, converted, bound read-only. */
  operator?: OperatorRun;
}

/** What the job's messages tell the user to change, in this engine's own settings. */
export interface JobEngineAdvice {
  /** A run saved no state to resume from: how a run comes to save one. */
  noSavedState: string;
  /** A run that succeeded is not resumed: how a new run trains on from its output. */
  trainFurther: string;
  /** A promote found no such file: where the per-epoch files come from. */
  noPerEpochFiles: string;
}

export interface JobEngine {
  readonly id: EngineId;
  /** What the final output is in the library (`lora` for kohya's network trainers). */
  readonly outputKind: ModelKind;
  readonly advice: JobEngineAdvice;
  /** Throws (`engine-not-installed`) when the engine cannot run here, so a run is refused before it queues. */
  assertInstalled(): Promise<unknown>;
  /** The workspace datasets and library models a run reads; an imported config's placeholders resolve through `operator`. */
  inputs(config: RunConfig, operator?: OperatorRun): Promise<RunInputs>;
  commit(): Promise<string | null>;
  prepare(params: JobPrepareParams): Promise<EngineLaunch>;
  createParser(config: RunConfig, outputName: string): EngineOutputParser;
  /** The newest saved training state of the run in `runDir` (absolute, inside its work/), or null. */
  savedState(runDir: string, outputName: string): Promise<string | null>;
  /** Metric points from the run's files (TensorBoard for kohya) after `since`. */
  metrics(runDir: string, since: MetricsCursor): Promise<MetricBatch>;
  /** Per-epoch / per-step model files: group 1 the epoch, group 2 the step. */
  savedCheckpointPattern(outputName: string): RegExp;
}
