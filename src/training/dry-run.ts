/**
 * `train --dry-run` and `POST /api/train/dry-run`: validate a run config against the workspace and, when it
 * has no error, show exactly what the kohya launch would be (argv, env, cwd, engine files, sandbox binds, plan)
 * under the placeholder run folder `<run>`, secrets redacted. Nothing is written and nothing is launched.
 */
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { isLorasmithError } from '../core/errors.ts';
import type { Studio } from '../studio/studio.ts';
import { DRY_RUN_PLACEHOLDER, kohyaDryRun, type KohyaDryRun, type KohyaEngineLocation } from './engines/kohya/launch.ts';
import { mapKohyaRunDetailed } from './engines/kohya/map-run-config.ts';
import { resolveRunInputs, studioRunResolver, type RunWorkspace } from './resolve-run.ts';
import { validateRun, type ValidationIssue } from './validate/index.ts';

export { DRY_RUN_PLACEHOLDER };

/** Marks every engine path of a dry run made where sd-scripts is not installed. */
export const KOHYA_NOT_INSTALLED = '<kohya-not-installed>';

export interface KohyaEngineStatus {
  /** The interpreter and the sd-scripts folder both exist. */
  installed: boolean;
  /** `env`: LORASMITH_KOHYA_ROOT / LORASMITH_KOHYA_PYTHON; `workspace`: `engines/kohya/`; `placeholder`: neither. */
  source: 'env' | 'workspace' | 'placeholder';
  location: KohyaEngineLocation;
  /** Why the location is not a working engine, when it is not. */
  note?: string;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where sd-scripts and its venv are: `LORASMITH_KOHYA_ROOT` (the sd-scripts checkout) and
 * `LORASMITH_KOHYA_PYTHON` (the venv's python) first, then the workspace's `engines/kohya/{sd-scripts,venv}`;
 * when neither holds an engine, placeholder paths under `/<kohya-not-installed>/`, so a dry run still shows
 * the shape of the launch and says plainly that it cannot run.
 */
export async function kohyaEngineStatus(params: { env: NodeJS.ProcessEnv; enginesDir: string }): Promise<KohyaEngineStatus> {
  const { env } = params;
  const kohyaDir = path.join(params.enginesDir, 'kohya');
  const fromEnv = (env.LORASMITH_KOHYA_ROOT ?? '') !== '' || (env.LORASMITH_KOHYA_PYTHON ?? '') !== '';
  const engineRoot = path.resolve(env.LORASMITH_KOHYA_ROOT || path.join(kohyaDir, 'sd-scripts'));
  const python = path.resolve(env.LORASMITH_KOHYA_PYTHON || path.join(kohyaDir, 'venv', 'bin', 'python'));
  const location: KohyaEngineLocation = { python, venvDir: path.dirname(path.dirname(python)), engineRoot, tokenizerCacheDir: path.join(kohyaDir, 'cache', 'tokenizers') };
  const installed = (await exists(engineRoot)) && (await exists(python));
  if (installed) return { installed, source: fromEnv ? 'env' : 'workspace', location };
  if (fromEnv) {
    return { installed, source: 'env', location, note: `sd-scripts or its Python is missing at ${engineRoot} / ${python} (LORASMITH_KOHYA_ROOT / LORASMITH_KOHYA_PYTHON).` };
  }
  const placeholder = `/${KOHYA_NOT_INSTALLED}`;
  return {
    installed,
    source: 'placeholder',
    location: {
      python: path.join(placeholder, 'venv', 'bin', 'python'),
      venvDir: path.join(placeholder, 'venv'),
      engineRoot: path.join(placeholder, 'sd-scripts'),
      tokenizerCacheDir: path.join(placeholder, 'cache', 'tokenizers'),
    },
    note: `kohya sd-scripts is not installed: paths under /${KOHYA_NOT_INSTALLED}/ are placeholders. Install the engine or set LORASMITH_KOHYA_ROOT and LORASMITH_KOHYA_PYTHON.`,
  };
}

export interface DryRunTrainingParams {
  studio: RunWorkspace & Pick<Studio, 'workspace'>;
  /** The config as received (our schema, `schema = "lorasmith/run@1"`); parsed and validated here. */
  config: unknown;
  /** Engine location variables; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** GPUs to show the launch for (2+ launch through accelerate); default one GPU. */
  gpus?: string[];
}

export interface TrainingDryRun {
  /** No issue of severity `error`. */
  ok: boolean;
  /** `validateRun`'s findings, then anything resolving or rendering the run refused (severity `error`). */
  issues: ValidationIssue[];
  /** The launch as it would be, or null when there are errors. */
  dryRun: KohyaDryRun | null;
  engine: KohyaEngineStatus;
  /** Config fields the family's script has no option for, so they were not written. */
  skipped: Array<{ option: string; reason: string }>;
}

function issueFrom(error: unknown): ValidationIssue {
  if (!isLorasmithError(error)) throw error;
  const field = error.details?.path;
  return { code: error.code, severity: 'error', path: typeof field === 'string' ? field : '', message: error.message, hint: error.hint ?? '' };
}

/** Validate, resolve, map and render a run without writing or launching anything. */
export async function dryRunTraining(params: DryRunTrainingParams): Promise<TrainingDryRun> {
  const { studio } = params;
  const engine = await kohyaEngineStatus({ env: params.env ?? process.env, enginesDir: studio.workspace.paths.areas.engines });
  const report = await validateRun({ config: params.config, resolve: studioRunResolver(studio) });
  const issues = [...report.issues];
  const done = (dryRun: KohyaDryRun | null, skipped: TrainingDryRun['skipped'] = []): TrainingDryRun => ({
    ok: issues.every((found) => found.severity !== 'error'),
    issues,
    dryRun,
    engine,
    skipped,
  });
  const config = report.config;
  if (!report.ok || config === null) return done(null);
  if (config.kind !== 'kohya') {
    issues.push({
      code: 'engine-not-available',
      severity: 'error',
      path: 'kind',
      message: 'FluxFlow runs cannot be shown or launched yet: the FluxFlow engine adapter is not part of this version.',
      hint: 'Use a kohya run (kind = "kohya"), or wait for the FluxFlow adapter.',
    });
    return done(null);
  }
  try {
    const resolved = await resolveRunInputs({ studio, config });
    const mapped = mapKohyaRunDetailed({ config, resolved });
    const dryRun = kohyaDryRun(mapped.input, { engine: engine.location, ...(params.gpus === undefined ? {} : { gpus: params.gpus }) });
    return done(dryRun, mapped.skipped);
  } catch (error) {
    issues.push(issueFrom(error));
    return done(null);
  }
}
