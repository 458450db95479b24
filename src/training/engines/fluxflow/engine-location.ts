/**
 * Where the FluxFlow engine is, as the one location resolver says (detect/engine-location.ts: env
 * `LORASMITH_FLUXFLOW_PYTHON` > the engines settings > the workspace's `engines/fluxflow/venv/bin/python`): the
 * trainer is that venv's `bin/fluxflow-train` console script, and the offline cache is the workspace's
 * `engines/fluxflow/cache/` (Hub-cache layout, filled at install: fluxflow.md §1.1, §5.17). When nothing is
 * installed the paths are placeholders under `/<fluxflow-not-installed>/`, so a dry run still shows the launch
 * and says plainly that it cannot run. Existence only: `detectEngine` is the probe that runs the interpreter.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../../../core/errors.ts';
import { engineLocation, type EngineEnv, type EngineLocationSettings, type LocationSource } from '../detect/engine-location.ts';
import { existsAs } from '../detect/files.ts';

export const FLUXFLOW_NOT_INSTALLED = '<fluxflow-not-installed>';
/** The tokenizer and text encoder the trainer loads (`tokenizer_name`, `pretrained_bert_model`). */
export const FLUXFLOW_TOKENIZER = 'distilbert-base-uncased';
/** Its folder in the Hub-cache layout. */
export const FLUXFLOW_TOKENIZER_CACHE = `models--${FLUXFLOW_TOKENIZER}`;

export interface FluxflowEngineLocation {
  /** `<venv>/bin/python`, absolute. */
  python: string;
  /** The venv (bound read-only; its `bin/` leads PATH). */
  venvDir: string;
  /** `<venv>/bin/fluxflow-train`, run by the interpreter (not executed itself: `-E -s -u` must apply). */
  trainer: string;
  /** `engines/fluxflow/cache`: bound read-only, reached from the run as `work/_cache`. */
  cacheDir: string;
  /** The DistilBERT snapshot folder inside the cache (`snapshots/<revision>`), given as `pretrained_bert_model`; null when the cache holds none. */
  bertDir: string | null;
  /**
   * The snapshot holds DistilBERT's weights (`model.safetensors`) besides its tokenizer: `model.pretrainedTextEncoder`
   * loads them, and an offline run cannot fetch what is missing.
   */
  bertWeights: boolean;
}

export interface FluxflowEngineStatus {
  /** The interpreter, the trainer script and the cached tokenizer all exist. */
  installed: boolean;
  source: LocationSource | 'placeholder';
  location: FluxflowEngineLocation;
  /** Why the location is not a working engine, when it is not. */
  note?: string;
}

/** The snapshot `refs/main` names, when the cache holds one (a revision is a commit hash; anything else is ignored). */
async function cachedSnapshot(cacheDir: string): Promise<string | null> {
  const model = path.join(cacheDir, FLUXFLOW_TOKENIZER_CACHE);
  let revision: string;
  try {
    revision = (await readFile(path.join(model, 'refs', 'main'), 'utf8')).trim();
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return null;
    throw error;
  }
  if (!/^[0-9a-f]{7,64}$/.test(revision)) return null;
  const snapshot = path.join(model, 'snapshots', revision);
  return (await existsAs(snapshot)) ? snapshot : null;
}

/** The weights file `pretrained_bert_model` loads from the DistilBERT folder. */
export const FLUXFLOW_BERT_WEIGHTS = 'model.safetensors';

export function fluxflowLocationAt(python: string, cacheDir: string, bert: { dir: string; weights: boolean } | null): FluxflowEngineLocation {
  const venvDir = path.dirname(path.dirname(python));
  return { python, venvDir, trainer: path.join(venvDir, 'bin', 'fluxflow-train'), cacheDir, bertDir: bert?.dir ?? null, bertWeights: bert?.weights ?? false };
}

export async function fluxflowEngineStatus(params: { env: EngineEnv; enginesDir: string; settings?: Omit<EngineLocationSettings, 'enginesDir'> }): Promise<FluxflowEngineStatus> {
  const where = engineLocation('fluxflow', params.env, { ...params.settings, enginesDir: params.enginesDir });
  const source = where.sources.python;
  const snapshot = await cachedSnapshot(where.cacheDir);
  const bert = snapshot === null ? null : { dir: snapshot, weights: await existsAs(path.join(snapshot, FLUXFLOW_BERT_WEIGHTS)) };
  const location = fluxflowLocationAt(where.python, where.cacheDir, bert);
  const absolute = path.isAbsolute(where.python);
  const engineThere = absolute && (await existsAs(location.python)) && (await existsAs(location.trainer));
  if (engineThere && location.bertDir !== null) return { installed: true, source, location };
  if (engineThere) {
    return {
      installed: false,
      source,
      location,
      note: `The engine cache ${where.cacheDir} has no ${FLUXFLOW_TOKENIZER} snapshot; runs are offline, so the trainer could not load its tokenizer. Run \`lorasmith engine install fluxflow\`.`,
    };
  }
  if (source !== 'workspace') {
    const named = source === 'env' ? 'LORASMITH_FLUXFLOW_PYTHON' : 'the engines settings (`lorasmith engine set fluxflow`)';
    const what = absolute ? 'is missing' : 'is not given as an absolute path';
    return { installed: false, source, location, note: `The FluxFlow Python or its fluxflow-train script ${what} at ${where.python} (${named}).` };
  }
  // Placeholders of an installed engine (weights included), so a dry run can still show the whole launch.
  const placeholder = `/${FLUXFLOW_NOT_INSTALLED}`;
  return {
    installed: false,
    source: 'placeholder',
    location: fluxflowLocationAt(path.join(placeholder, 'venv', 'bin', 'python'), path.join(placeholder, 'cache'), { dir: path.join(placeholder, 'cache', FLUXFLOW_TOKENIZER_CACHE, 'snapshots', 'main'), weights: true }),
    note: `FluxFlow is not installed: paths under /${FLUXFLOW_NOT_INSTALLED}/ are placeholders. Run \`lorasmith engine install fluxflow\`, or set LORASMITH_FLUXFLOW_PYTHON.`,
  };
}
