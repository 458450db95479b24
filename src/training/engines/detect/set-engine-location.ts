/**
 * Writes the `engines` settings section (engine-settings.ts) for `lorasmith engine set` and
 * `PUT /api/engines/:engine/location`. Engine locations are operator paths (DESIGN.md §6.3): the studio runs
 * what they name, so each one must be absolute and exist — the root a folder, the Python an executable file —
 * before it is stored; the route additionally refuses callers from beyond this machine (engine-routes.ts).
 * `null` clears a location (back to the workspace's own install); an absent key leaves it as it is.
 */
import { z } from 'zod';
import { LorasmithError } from '../../../core/errors.ts';
import type { Settings } from '../../../core/settings.ts';
import type { EngineId } from './engine-location.ts';
import { existsAs, isExecutableFile } from './files.ts';
import { operatorPathSchema, type EnginesSettings } from './engine-settings.ts';

export interface EngineLocationPatch {
  /** kohya only: the sd-scripts checkout. */
  root?: string | null;
  python?: string | null;
}

/** The settings store as this needs it. */
export interface EngineSettingsStore {
  get(): Promise<Settings>;
  setEngines(engines: EnginesSettings): Promise<Settings>;
}

function invalid(field: string, message: string, hint: string): LorasmithError {
  return new LorasmithError({ code: 'engine-location-invalid', message, hint, exitCode: 2, status: 400, details: { field } });
}

const KEYS = {
  kohya: { root: 'kohyaRoot', python: 'kohyaPython' },
  fluxflow: { python: 'fluxflowPython' },
} as const satisfies Record<EngineId, Partial<Record<keyof EngineLocationPatch, keyof EnginesSettings>>>;

async function checkExists(field: 'root' | 'python', value: string): Promise<void> {
  if (!(await existsAs(value))) {
    throw invalid(field, `${value} does not exist.`, field === 'root' ? 'Give the folder of an sd-scripts checkout.' : 'Give the python of the engine’s virtual environment, e.g. /opt/sd-scripts/venv/bin/python.');
  }
  if (field === 'root' && !(await existsAs(value, 'dir'))) throw invalid(field, `${value} is not a folder.`, 'Give the folder of an sd-scripts checkout.');
  if (field === 'python' && !(await isExecutableFile(value))) {
    throw invalid(field, `${value} is not an executable file.`, 'Give the python of the engine’s virtual environment, e.g. /opt/sd-scripts/venv/bin/python.');
  }
}

/** Check every given path (lexically, then on disk) and store the section; returns it. */
export async function setEngineLocation(params: { settings: EngineSettingsStore; engine: EngineId; patch: EngineLocationPatch }): Promise<EnginesSettings> {
  const { engine, patch } = params;
  const keys: Partial<Record<keyof EngineLocationPatch, keyof EnginesSettings>> = KEYS[engine];
  const next: EnginesSettings = { ...(await params.settings.get()).engines };
  for (const field of ['root', 'python'] as const) {
    const value = patch[field];
    if (value === undefined) continue;
    const key = keys[field];
    if (key === undefined) throw invalid(field, `FluxFlow has no ${field} location: it is installed from the package index into a venv.`, 'Set only its python (the venv’s bin/python).');
    if (value !== null) {
      const lexical = operatorPathSchema.safeParse(value);
      if (!lexical.success) throw invalid(field, `The ${engine} ${field} ${JSON.stringify(value.slice(0, 200))} is refused: ${z.prettifyError(lexical.error).replace(/^✖ /, '').split('\n')[0]}.`, 'Give an absolute path such as /opt/sd-scripts.');
      await checkExists(field, value);
    }
    next[key] = value;
  }
  return (await params.settings.setEngines(next)).engines;
}
