/**
 * What every engine launch shares (DESIGN.md §4, web-and-process-security.md PROC-R01–R03): the allowlisted
 * environment built from nothing, the checks on the paths and GPU ids that end up on argv or in it, and the
 * dry-run view that shows a launch under the `<run>` placeholder with secrets redacted.
 */
import path from 'node:path';
import { LorasmithError } from '../../core/errors.ts';
import { redactDeep } from '../../core/redact.ts';
import type { RunConfig } from '../schema/index.ts';
import type { EngineId } from './engine.ts';

/** `kohya-launch-invalid`, `fluxflow-launch-invalid`: a launch that cannot be built from these inputs. */
export function launchError(engine: EngineId, message: string, hint: string): LorasmithError {
  return new LorasmithError({ code: `${engine}-launch-invalid`, message, hint, exitCode: 2, status: 400 });
}

const ENGINE_NAMES: Record<EngineId, string> = { kohya: 'kohya sd-scripts', fluxflow: 'FluxFlow' };

/**
 * The config of a run this engine's adapter was handed. The job service picks the adapter by the config's
 * kind, so another kind here is a bug, not something a user can cause or fix.
 */
/**
 * A run refused before it is queued because its engine is not usable here. The engine's note already says what
 * is missing and how to fix it; the hint points to where the whole picture is, rather than repeating the note.
 */
export function engineNotInstalled(engineName: string, note: string | undefined): LorasmithError {
  return new LorasmithError({
    code: 'engine-not-installed',
    message: `The run cannot start: ${note ?? `${engineName} is not installed.`}`,
    hint: '`lorasmith engine detect` (or Settings → Engines) shows where lorasmith looked and what is missing; `lorasmith engine install` sets an engine up.',
    exitCode: 2,
    status: 409,
  });
}

export function runConfigOf<K extends EngineId>(engine: K, config: RunConfig): Extract<RunConfig, { kind: K }> {
  if (config.kind !== engine) {
    throw new LorasmithError({ code: `${engine}-launch-invalid`, message: `A ${config.kind} run was handed to the ${ENGINE_NAMES[engine]} engine.`, hint: 'This is a bug in the job scheduler; report it.', exitCode: 2, status: 500 });
  }
  // The check above is the narrowing; TypeScript does not narrow a union through a generic kind.
  return config as Extract<RunConfig, { kind: K }>;
}

/** An absolute, normalised path without NUL: what may go on an engine's argv or into its environment. */
export function absoluteEnginePath(engine: EngineId, what: string, value: string, hint: string): string {
  if (typeof value !== 'string' || !path.isAbsolute(value) || path.normalize(value) !== value || value.includes('\0')) {
    throw launchError(engine, `The ${what} ${JSON.stringify(value)} is not an absolute, normalised path.`, hint);
  }
  return value;
}

const CUDA_DEVICE = /^(?:\d+|(?:GPU|MIG)-[A-Za-z0-9-]+(?:\/\d+\/\d+)?)$/;
const LOCALE = /^[A-Za-z]{1,8}(?:_[A-Za-z]{2})?(?:\.[A-Za-z0-9-]+)?(?:@\w+)?$/;

export interface EngineEnvironmentParams {
  engine: EngineId;
  /** The engine's venv: its `bin/` leads PATH. */
  venvDir: string;
  /** Per-run `HOME` and `HF_HOME`, inside `work/` (huggingface_hub reads a token file there; the real home holds ~/.netrc, ~/.ssh). */
  homeDir: string;
  hfHomeDir: string;
  /** GPUs the run claimed, written to CUDA_VISIBLE_DEVICES; `[]` hides every GPU (CPU mode); absent leaves it unset. */
  gpus?: string[];
  /** Default `C.UTF-8`. */
  lang?: string;
}

/**
 * The allowlisted environment (PROC-R03), built from constants and the checked parameters only — never from
 * process.env, so no token, proxy or user PYTHON* / LD_* variable can reach an engine. The PYTHON* entries
 * matter only to processes started without `-E` (torch's multi-GPU workers).
 */
export function engineEnvironment(params: EngineEnvironmentParams): Record<string, string> {
  if (params.lang !== undefined && !LOCALE.test(params.lang)) {
    throw launchError(params.engine, `LANG ${JSON.stringify(params.lang)} is not a locale name.`, 'Use e.g. C.UTF-8 or en_US.UTF-8.');
  }
  const env: Record<string, string> = {
    PATH: `${path.join(params.venvDir, 'bin')}:/usr/bin:/bin`,
    HOME: params.homeDir,
    HF_HOME: params.hfHomeDir,
    LANG: params.lang ?? 'C.UTF-8',
    PYTHONNOUSERSITE: '1',
    PYTHONUTF8: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    TORCH_FORCE_WEIGHTS_ONLY_LOAD: '1',
    HF_HUB_OFFLINE: '1',
    TRANSFORMERS_OFFLINE: '1',
    HF_HUB_DISABLE_TELEMETRY: '1',
  };
  if (params.gpus !== undefined) {
    for (const gpu of params.gpus) {
      if (!CUDA_DEVICE.test(gpu)) throw launchError(params.engine, `${JSON.stringify(gpu)} is not a CUDA device id.`, 'Use GPU ordinals (0, 1, …) or GPU-/MIG- UUIDs.');
    }
    env.CUDA_VISIBLE_DEVICES = params.gpus.join(',');
  }
  return env;
}

/** The placeholder a dry run shows instead of the run folder. */
export const DRY_RUN_PLACEHOLDER = '<run>';
/** The run folder a dry run builds its launch in; replaced by the placeholder before anyone sees it. */
export const DRY_RUN_DIR = '/__lorasmith_dry_run__';

function placeholder(value: unknown): unknown {
  if (typeof value === 'string') return value.split(DRY_RUN_DIR).join(DRY_RUN_PLACEHOLDER);
  if (Array.isArray(value)) return value.map(placeholder);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [String(placeholder(key)), placeholder(item)]));
  return value;
}

/** A launch built in `DRY_RUN_DIR`, as `train --dry-run` shows it: paths under `<run>`, secrets redacted. */
export function dryRunView<T>(view: T): T {
  return redactDeep(placeholder(view)) as T;
}

/** The public part of an engine's launch, its files as path → content (either engine's dry run). */
export function launchDryRun<Engine extends string, Sandbox, Plan, Directives>(launch: {
  engine: Engine;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  files: ReadonlyArray<{ path: string; content: string }>;
  sandbox: Sandbox;
  plan: Plan;
  directives: Directives;
}): { engine: Engine; argv: string[]; env: Record<string, string>; cwd: string; files: Record<string, string>; sandbox: Sandbox; plan: Plan; directives: Directives } {
  return dryRunView({
    engine: launch.engine,
    argv: launch.argv,
    env: launch.env,
    cwd: launch.cwd,
    files: Object.fromEntries(launch.files.map((file) => [file.path, file.content])),
    sandbox: launch.sandbox,
    plan: launch.plan,
    directives: launch.directives,
  });
}
