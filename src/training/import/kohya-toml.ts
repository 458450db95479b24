/** A plain sd-scripts `--config_file` TOML (`--from kohya`): sections flattened one level (kohya-sd-scripts.md §1.3). */
import { parse } from 'smol-toml';
import type { KohyaNetworkScript, RunFamily } from '../schema/index.ts';

const KOHYA_SCRIPTS: readonly KohyaNetworkScript[] = ['train_network.py', 'sdxl_train_network.py', 'sd3_train_network.py', 'flux_train_network.py', 'lumina_train_network.py'];
import { mapSdScriptsArgs } from './sd-args.ts';
import type { ImportResult } from './types.ts';
import { type Dict, isDict, normaliseNumbers } from './values.ts';

export interface KohyaTomlOptions {
  /** The family when the operator knows it: a config TOML does not name its trainer script. */
  family?: RunFamily;
}

/** What sd-scripts' `read_config_from_file` sees: every table's keys merged, later tables winning. */
export function flattenSdScriptsToml(table: Dict): Dict {
  const flat: Dict = {};
  for (const [key, value] of Object.entries(table)) {
    if (isDict(value)) Object.assign(flat, value);
    else flat[key] = value;
  }
  return flat;
}

/**
 * Parse TOML; `keepIntegers` leaves integers as bigint so a caller can tell `1` from `1.0` (LETS' Python
 * writes them differently). `__proto__`/`constructor` keys are dropped.
 */
export function parseTomlText(text: string, keepIntegers = false): { ok: true; table: Dict } | { ok: false; message: string } {
  try {
    const table = parse(text, { integersAsBigInt: true, unsafeKeyBehaviour: 'drop' }) as Dict;
    return { ok: true, table: keepIntegers ? table : (normaliseNumbers(table) as Dict) };
  } catch (error) {
    return { ok: false, message: `The file is not valid TOML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  }
}

export function importKohyaToml(text: string, options: KohyaTomlOptions = {}): ImportResult {
  const parsed = parseTomlText(text);
  if (!parsed.ok) return { ok: false, format: 'kohya', error: { code: 'parse-failed', message: parsed.message }, operatorPaths: [], unmapped: [], notes: [] };
  // A file lorasmith wrote names its trainer in the header line (export-kohya-toml.ts, the engine adapter).
  const header = /^# Written by lorasmith for sd-scripts ([a-z0-9_]+\.py)/m.exec(text)?.[1];
  const script = KOHYA_SCRIPTS.find((name) => name === header);
  return mapSdScriptsArgs({ format: 'kohya', args: flattenSdScriptsToml(parsed.table), family: options.family, script });
}
