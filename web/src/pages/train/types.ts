/** Shapes of the studio's training API (`/api/train/*`), as the server sends them (some straight from its node-free declarations). */
import type { GpuDevice } from '../../../../src/training/planner/gpu-probe-types.ts';
import type { JsonSchemaNode } from '../../../../src/training/schema/json-schema-node.ts';

/** A node of the run config's JSON Schema (draft 2020-12, from zod's `z.toJSONSchema` with io 'input'). */
export type { JsonSchemaNode };

export interface DeadField {
  /** FluxFlow's own key, as a path in its YAML config. */
  field: string;
  reason: string;
}

export interface TrainSchema {
  jsonSchema: JsonSchemaNode;
  deadFields: DeadField[];
}

export interface RunPreset {
  name: string;
  title: string;
  description: string;
  family: string;
  vramGb: number;
  config: Record<string, unknown>;
}

export type IssueSeverity = 'error' | 'warning' | 'info';

export interface RunIssue {
  code: string;
  severity: IssueSeverity;
  /** Where in the config, e.g. `datasets[0].subsets[1].shuffleCaption`; '' for the run as a whole. */
  path: string;
  message: string;
  hint: string | null;
}

export interface ValidateResult {
  ok: boolean;
  issues: RunIssue[];
}

export type VramFit = 'fits' | 'tight' | 'too-big' | 'unknown';

/** The dry run's plan (src/training/dry-run.ts `TrainingPlan`): the launch's facts and the planner's numbers. */
export interface RunPlan {
  script: string;
  gpus: number;
  mixedPrecision: string;
  outputName: string;
  outputFile: string;
  datasets: Array<{ index: number; subsets: Array<{ name: string; sourceDir: string; isReg: boolean; numRepeats?: number }> }>;
  samplePrompts: number;
  steps: { total: number; epochs: number; perEpoch: number; batchesPerEpoch: number; processes: number; datasets: Array<{ trainImages: number; trainImagesWithRepeats: number; regImagesUsed: number; buckets: Array<{ width: number; height: number; count: number }> }> };
  time: { seconds: number | null; basis: 'history' | 'unknown'; itPerSecond: number | null; startupSeconds: number; cachingSeconds: number; note: string };
  disk: { bytes: number; freeBytes: number | null; items: Array<{ what: string; count: number; bytesEach: number; bytes: number }> };
  gpu: { mode: 'gpu' | 'cpu' | 'unknown'; reason?: string; devices: GpuDevice[] };
  vram: { estimateGb: number; freeGb: number | null; totalGb: number | null; fit: VramFit; fixes: string[]; margin: number; refuse: boolean; needsOverride: boolean; gpuIndices: number[]; message: string };
}

/** A FluxFlow run's plan (src/training/engines/fluxflow/launch.ts `FluxflowPlan`): pipeline steps, datasets, output. */
export interface FluxflowRunPlan {
  output: { kind: 'checkpoint'; family: 'fluxflow'; file: string; textEncoder: string };
  start: 'fresh' | 'fine-tune' | 'resume';
  gpus: number;
  steps: Array<{ name: string; nEpochs: number; maxSteps?: number; dataset: string; modes: string[] }>;
  datasets: Array<{ name: string; images: number; skipped: number }>;
  notes: string[];
}

interface LaunchView {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  files: Record<string, string>;
  sandbox: unknown;
}

export type DryRun = (LaunchView & { engine: 'kohya'; plan: RunPlan }) | (LaunchView & { engine: 'fluxflow'; plan: FluxflowRunPlan });

export interface DryRunResult {
  issues: RunIssue[];
  dryRun: DryRun | null;
}

/** A run config as the form edits it: plain JSON. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined } | undefined;
export type JsonObject = { [key: string]: Json | undefined };

/** A path into the config: property names and array indexes. */
export type Path = ReadonlyArray<string | number>;
