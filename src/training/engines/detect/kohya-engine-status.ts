/**
 * The kohya location a launch (and the dry run) uses: the resolver's paths (env > settings > workspace) when
 * both the sd-scripts folder and its Python exist; otherwise placeholder paths under `/<kohya-not-installed>/`,
 * so a dry run still shows the shape of the launch and says plainly that it cannot run. Existence only:
 * `detectEngine` is the probe that runs the interpreter.
 */
import path from 'node:path';
import type { KohyaEngineLocation } from '../kohya/launch.ts';
import { existsAs } from './files.ts';
import { engineLocation, strongestSource, type EngineEnv, type EngineLocationSettings, type LocationSource } from './engine-location.ts';

/** Marks every engine path of a dry run made where sd-scripts is not installed. */
export const KOHYA_NOT_INSTALLED = '<kohya-not-installed>';

export interface KohyaEngineStatus {
  /** The interpreter and the sd-scripts folder both exist. */
  installed: boolean;
  /** `env`: LORASMITH_KOHYA_ROOT / LORASMITH_KOHYA_PYTHON; `settings`: the engines settings; `workspace`: `engines/kohya/`; `placeholder`: none holds an engine. */
  source: LocationSource | 'placeholder';
  location: KohyaEngineLocation;
  /** Why the location is not a working engine, when it is not. */
  note?: string;
}

export async function kohyaEngineStatus(params: { env: EngineEnv; enginesDir: string; settings?: Omit<EngineLocationSettings, 'enginesDir'> }): Promise<KohyaEngineStatus> {
  const where = engineLocation('kohya', params.env, { ...params.settings, enginesDir: params.enginesDir });
  const source = strongestSource(where.sources);
  const { root: engineRoot, python } = where;
  const location: KohyaEngineLocation = { python, venvDir: path.dirname(path.dirname(python)), engineRoot, tokenizerCacheDir: where.cacheDir };
  const absolute = path.isAbsolute(engineRoot) && path.isAbsolute(python);
  const installed = absolute && (await existsAs(engineRoot)) && (await existsAs(python));
  if (installed) return { installed, source, location };
  if (source !== 'workspace') {
    const named = source === 'env' ? 'LORASMITH_KOHYA_ROOT / LORASMITH_KOHYA_PYTHON' : 'the engines settings (`lorasmith engine set kohya`)';
    const what = absolute ? 'is missing' : 'is not given as an absolute path';
    return { installed, source, location, note: `sd-scripts or its Python ${what} at ${engineRoot} / ${python} (${named}).` };
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
    note: `kohya sd-scripts is not installed: paths under /${KOHYA_NOT_INSTALLED}/ are placeholders. Run \`lorasmith engine install kohya\`, or point lorasmith at an install with \`lorasmith engine set kohya --root … --python …\` (or LORASMITH_KOHYA_ROOT and LORASMITH_KOHYA_PYTHON).`,
  };
}
