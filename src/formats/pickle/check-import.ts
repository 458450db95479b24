import { CPYTHON_IMPORT_MAPPING, CPYTHON_NAME_MAPPING, TORCH_IMPORT_MAPPING, TORCH_NAME_MAPPING } from './compat-names-data.ts';
import { DANGEROUS_GLOBALS, SAFE_TORCH_GLOBALS } from './globals-data.ts';
import type { GlobalRole } from './values.ts';

export interface ImportCheck {
  /** `module.name` as torch's weights-only unpickler names it (after its renaming). */
  dotted: string;
  module: string;
  name: string;
  /** `undefined`: not allowed (PKL-R07). */
  role: GlobalRole | undefined;
  /** `dangerous`-table label (PKL-R16), e.g. `posix.system`. */
  label: string | undefined;
}

/**
 * The PKL-R07a exceptions: globals a Lightning SD 1.x checkpoint holds. Accepted only in the narrow uses the
 * interpreter checks (a dict key under `callbacks`; a numpy scalar from a dtype and bytes), with a warning.
 */
const LIGHTNING_EXCEPTIONS: ReadonlyMap<string, GlobalRole> = new Map<string, GlobalRole>([
  ['pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint', 'lightning-class'],
  ['numpy.core.multiarray.scalar', 'numpy-scalar'],
  ['numpy._core.multiarray.scalar', 'numpy-scalar'],
  ['numpy.dtype', 'numpy-dtype'],
]);

interface Pair {
  module: string;
  name: string;
}

function rename(pair: Pair, names: ReadonlyMap<string, string>, modules: ReadonlyMap<string, string>): Pair {
  const renamed = names.get(`${pair.module} ${pair.name}`);
  if (renamed !== undefined) {
    const [module = '', name = ''] = renamed.split(' ');
    return { module, name };
  }
  return { module: modules.get(pair.module) ?? pair.module, name: pair.name };
}

function roleOf(pair: Pair): GlobalRole | undefined {
  // A dotted *name* is never allowed unless listed verbatim; none is (PKL-R07).
  if (Object.hasOwn(SAFE_TORCH_GLOBALS, pair.module) && SAFE_TORCH_GLOBALS[pair.module]?.includes(pair.name)) return 'allowed';
  return LIGHTNING_EXCEPTIONS.get(`${pair.module}.${pair.name}`);
}

/**
 * Decide an import (GLOBAL, INST, STACK_GLOBAL). Two loaders may read the stream: torch renames through its
 * `_compat_pickle` subset at any protocol, CPython through the full table below protocol 3. The import is
 * allowed only if *both* readings name the same allowed global, so no rename can turn an allowed name into
 * something else in either loader.
 */
export function checkImport(params: { module: string; name: string; protocol: number }): ImportCheck {
  const raw: Pair = { module: params.module, name: params.name };
  const torch = rename(raw, TORCH_NAME_MAPPING, TORCH_IMPORT_MAPPING);
  const cpython = params.protocol < 3 ? rename(raw, CPYTHON_NAME_MAPPING, CPYTHON_IMPORT_MAPPING) : raw;
  const torchRole = roleOf(torch);
  const sameTarget = torch.module === cpython.module && torch.name === cpython.name;
  const role = sameTarget ? torchRole : undefined;
  const label = role === undefined ? (dangerousLabel(cpython) ?? dangerousLabel(torch) ?? dangerousLabel(raw)) : undefined;
  return { dotted: `${torch.module}.${torch.name}`, module: torch.module, name: torch.name, role, label };
}

/** Longest `dangerous` module key is 4 components (e.g. `numpy.testing._private.utils`). */
const MAX_MODULE_COMPONENTS = 5;
const MAX_COMPONENTS = 64;

/**
 * Label a global from the `dangerous` table, matching every dotted component of module *and* name (notes of
 * pickle-globals.json): `pathlib` + `os.getcwd` is labelled `os.getcwd`, `asyncio.unix_events` + `X` via `asyncio`.
 */
export function dangerousLabel(pair: Pair): string | undefined {
  const components = [...pair.module.split('.'), ...pair.name.split('.')].slice(0, MAX_COMPONENTS);
  for (let start = 0; start < components.length - 1; start++) {
    for (let end = start; end < Math.min(components.length - 1, start + MAX_MODULE_COMPONENTS); end++) {
      const module = components.slice(start, end + 1).join('.');
      if (!Object.hasOwn(DANGEROUS_GLOBALS, module)) continue;
      const names = DANGEROUS_GLOBALS[module] ?? [];
      const rest = components.slice(end + 1).join('.');
      const hit = names.some((name) => name === '*' || rest === name || rest.startsWith(`${name}.`));
      if (hit) return `${module}.${components[end + 1] ?? ''}`;
    }
  }
  return undefined;
}
