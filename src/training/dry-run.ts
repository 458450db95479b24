/**
 * `train --dry-run` and `POST /api/train/dry-run`: validate a run config against the workspace and, when it
 * has no error, show exactly what the engine's launch (kohya or FluxFlow) would be (argv, env, cwd, engine files, sandbox binds) under
 * the placeholder run folder `<run>`, secrets redacted, with the plan: total steps, time from this machine's
 * measured speed, disk, GPU memory against what nvidia-smi says is free, and the operator inputs of a config
 * imported on the CLI. What the plan refuses (gpu_unknown without the override, memory beyond the margin) is
 * an error issue next to a complete launch, so the refusal and its fixes show together. Nothing is written and
 * nothing is launched.
 */
import { isLorasmithError } from '../core/errors.ts';
import type { Studio } from '../studio/studio.ts';
import { DRY_RUN_PLACEHOLDER, kohyaDryRun, type KohyaDryRun, type KohyaPlan } from './engines/kohya/launch.ts';
import { DRY_RUN_DIR, dryRunView } from './engines/launch-common.ts';
import { KOHYA_NOT_INSTALLED, kohyaEngineStatus, type KohyaEngineStatus } from './engines/detect/kohya-engine-status.ts';
import { fluxflowDryRun, fluxflowEngineStatus, resolveFluxflowRun, type FluxflowDryRun, type FluxflowEngineStatus } from './engines/fluxflow/index.ts';
import { mapKohyaRunDetailed } from './engines/kohya/map-run-config.ts';
import { prepareOperatorInputs, type OperatorInput, type OperatorRun } from './import/operator-inputs.ts';
import type { ImportSuccess } from './import/types.ts';
import { freeDiskBytes, gpuProbeIssue, planIssues } from './planner/plan-issues.ts';
import { readPlanDatasets } from './planner/plan-datasets.ts';
import { planRun, type DiskItem, type PlanHistory, type RunPlan, type TimeEstimate } from './planner/plan-run.ts';
import { probeGpus, type GpuDevice, type GpuProbe } from './planner/probe-gpus.ts';
import { readPlanHistory, speedHistoryFile } from './planner/speed-history.ts';
import type { VramVerdict } from './planner/vram.ts';
import { resolveRunInputs, studioRunResolver, type RunWorkspace } from './resolve-run.ts';
import { validateRun, type ValidationIssue } from './validate/index.ts';

export { DRY_RUN_PLACEHOLDER };

// The kohya location (env > settings > workspace, else placeholders) lives with engine detection; re-exported for the dry run's callers.
export { KOHYA_NOT_INSTALLED, kohyaEngineStatus, type KohyaEngineStatus };

export interface DryRunTrainingParams {
  studio: RunWorkspace & Pick<Studio, 'workspace' | 'settings'>;
  /** The config as received (our schema, `schema = "lorasmith/run@1"`); parsed and validated here. */
  config: unknown;
  /**
   * Operator inputs of a config imported on the CLI (`dryRunImported`), whose placeholders `config` holds.
   * Never from the HTTP API: over HTTP every id and name is the workspace's.
   */
  operator?: OperatorRun;
  /** Engine location variables and the PATH the GPU probe searches; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** GPUs to show the launch for (2+ launch through accelerate); default the one the plan picks. */
  gpus?: string[];
  /** `--allow-unknown-gpu` / the Train page's override: a gpu_unknown probe warns instead of refusing. */
  allowUnknownGpu?: boolean;
  /** The GPU probe; default nvidia-smi found on `env.PATH`. */
  probe?: () => Promise<GpuProbe>;
  /** This machine's measured step rates; default the workspace's speed history (speed-history.ts). */
  history?: () => Promise<PlanHistory>;
}

/** What the GPU probe found, as the plan shows it. */
export type PlanGpu = { mode: 'gpu'; devices: GpuDevice[] } | { mode: 'cpu' | 'unknown'; reason: string; devices: [] };

/** The adapter's plan (script, output, datasets, model paths) with the planner's numbers and the operator inputs. */
export interface TrainingPlan extends KohyaPlan {
  /** Files and folders outside the workspace an imported config names; empty for a lorasmith config. */
  inputs: OperatorInput[];
  steps: { total: number; epochs: number; perEpoch: number; batchesPerEpoch: number; processes: number; datasets: RunPlan['steps']['datasets'] };
  time: TimeEstimate;
  disk: { bytes: number; freeBytes: number | null; items: DiskItem[] };
  gpu: PlanGpu;
  vram: Omit<VramVerdict, 'fixDetails'>;
}

export type TrainingDryRunView = Omit<KohyaDryRun, 'plan'> & { plan: TrainingPlan };

export interface TrainingDryRun {
  /** No issue of severity `error`: the run may start. */
  ok: boolean;
  /** Refused operator inputs, `validateRun`'s findings, anything resolving or rendering refused, then the plan's verdicts. */
  issues: ValidationIssue[];
  /** The launch and its plan, or null when the config has errors (a refusal by the plan keeps the launch). */
  dryRun: TrainingDryRunView | FluxflowDryRun | null;
  engine: KohyaEngineStatus | FluxflowEngineStatus;
  /** Config fields the family's script has no option for, so they were not written. */
  skipped: Array<{ option: string; reason: string }>;
}

function issueFrom(error: unknown): ValidationIssue {
  if (!isLorasmithError(error)) throw error;
  const field = error.details?.path;
  return { code: error.code, severity: 'error', path: typeof field === 'string' ? field : '', message: error.message, hint: error.hint ?? '' };
}

/**
 * An imported config's problems first; a field whose input was refused is not reported again by validation
 * (which sees only a placeholder there), and placeholders in messages are replaced by the paths they stand for.
 */
function mergeIssues(operator: OperatorRun | undefined, found: readonly ValidationIssue[]): ValidationIssue[] {
  if (operator === undefined) return [...found];
  const refused = new Set(operator.issues.filter((entry) => entry.severity === 'error').map((entry) => entry.path));
  const named = (text: string): string => {
    let out = text;
    for (const [placeholder, file] of operator.labels) out = out.split(JSON.stringify(placeholder)).join(file).split(placeholder).join(file);
    return out;
  };
  const rest = found.filter((entry) => !refused.has(entry.path)).map((entry) => ({ ...entry, message: named(entry.message), hint: named(entry.hint) }));
  return [...operator.issues, ...rest];
}

function planGpu(probe: GpuProbe): PlanGpu {
  return probe.mode === 'gpu' ? { mode: 'gpu', devices: probe.gpus } : { mode: probe.mode, reason: probe.reason, devices: [] };
}

/** The devices the launch shows: the plan's pick on a GPU machine, none (CPU mode) without one, unset when unknown. */
function launchGpus(probe: GpuProbe, plan: RunPlan): string[] | undefined {
  if (probe.mode === 'gpu') return plan.vram.gpuIndices.map(String);
  return probe.mode === 'cpu' ? [] : undefined;
}

/** Validate, resolve, plan, map and render a run without writing or launching anything. */
export async function dryRunTraining(params: DryRunTrainingParams): Promise<TrainingDryRun> {
  const { studio, operator } = params;
  const env = params.env ?? process.env;
  const engine = await kohyaEngineStatus({ env: params.env ?? process.env, enginesDir: studio.workspace.paths.areas.engines, settings: (await studio.settings.get()).engines });
  const report = await validateRun({ config: params.config, resolve: studioRunResolver(studio, operator?.sources) });
  const issues = mergeIssues(operator, report.issues);
  const done = (dryRun: TrainingDryRunView | FluxflowDryRun | null, skipped: TrainingDryRun['skipped'] = []): TrainingDryRun => ({
    ok: issues.every((found) => found.severity !== 'error'),
    issues,
    dryRun,
    engine,
    skipped,
  });
  const config = report.config;
  if (issues.some((found) => found.severity === 'error') || config === null) return done(null);
  const probeGpusNow = params.probe ?? (() => probeGpus({ path: env.PATH ?? process.env.PATH ?? '' }));
  if (config.kind !== 'kohya') {
    // FluxFlow trains a small model from scratch: no VRAM table or speed history exists for it, so its plan is the
    // adapter's (steps per pipeline stage, datasets, output) plus the GPU probe's verdict.
    const fluxflow = await fluxflowEngineStatus({ env, enginesDir: studio.workspace.paths.areas.engines, settings: (await studio.settings.get()).engines });
    try {
      const input = await resolveFluxflowRun({ workspace: studio, config });
      const probe = await probeGpusNow();
      const probeIssue = gpuProbeIssue(probe, { allowUnknownGpu: params.allowUnknownGpu === true }, { message: `GPU state unknown (gpu_unknown): ${probe.mode === 'unknown' ? probe.reason : ''}` });
      if (probeIssue !== null) issues.push(probeIssue);
      const gpus = params.gpus ?? (probe.mode === 'gpu' ? ['0'] : probe.mode === 'cpu' ? [] : undefined);
      const launch = fluxflowDryRun(input, { engine: fluxflow.location, ...(gpus === undefined ? {} : { gpus }) });
      return { ...done(launch), engine: fluxflow };
    } catch (error) {
      issues.push(issueFrom(error));
      return { ...done(null), engine: fluxflow };
    }
  }
  try {
    const resolved = await resolveRunInputs({ studio, config, ...(operator === undefined ? {} : { operator: operator.sources }) });
    const probe = await probeGpusNow();
    const history = await (params.history ?? (() => readPlanHistory(speedHistoryFile(studio.workspace.paths.areas.engines))))();
    const requested = params.gpus?.every((gpu) => /^\d+$/.test(gpu)) === true ? params.gpus.map(Number) : undefined;
    const plan = planRun({
      config,
      datasets: await readPlanDatasets(resolved.datasets),
      model: { family: config.family, size: resolved.baseModelBytes },
      history,
      gpus: probe,
      ...(requested === undefined ? {} : { gpuIndices: requested }),
    });
    const mapped = mapKohyaRunDetailed({ config, resolved });
    const gpus = params.gpus ?? launchGpus(probe, plan);
    const launch = kohyaDryRun(mapped.input, { engine: engine.location, ...(gpus === undefined ? {} : { gpus }) });
    const freeBytes = await freeDiskBytes(studio.workspace.paths.areas.runs);
    issues.push(...planIssues(plan, probe, { allowUnknownGpu: params.allowUnknownGpu === true, freeDiskBytes: freeBytes }));
    const { fixDetails: _fixDetails, ...vram } = plan.vram;
    const extra = dryRunView({
      inputs: operator?.inputs ?? [],
      steps: { total: plan.totalSteps, epochs: plan.epochs, perEpoch: plan.steps.stepsPerEpoch, batchesPerEpoch: plan.steps.batchesPerEpoch, processes: plan.numProcesses, datasets: plan.steps.datasets },
      time: plan.time,
      disk: { bytes: plan.disk.bytes, freeBytes, items: plan.disk.items },
      gpu: planGpu(probe),
      vram,
    });
    return done({ ...launch, plan: { ...launch.plan, ...extra } }, mapped.skipped);
  } catch (error) {
    issues.push(issueFrom(error));
    return done(null);
  }
}

export interface ImportedDryRunParams extends Omit<DryRunTrainingParams, 'config' | 'operator'> {
  imported: ImportSuccess;
  /** The imported file's folder: relative paths in it are taken from here. */
  baseDir: string;
}

/**
 * The dry run of a config imported from another tool on the CLI: its paths become operator inputs (scanned,
 * listed, bound read-only, a pickle converted into `<run>/inputs/`), then the run is checked as any other.
 */
export async function dryRunImported(params: ImportedDryRunParams): Promise<TrainingDryRun & { operator: OperatorRun }> {
  const { imported, baseDir, ...rest } = params;
  const operator = await prepareOperatorInputs({ imported, baseDir, runDir: DRY_RUN_DIR });
  const result = await dryRunTraining({ ...rest, config: operator.config, operator });
  return { ...result, operator };
}
