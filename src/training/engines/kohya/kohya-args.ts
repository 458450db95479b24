/**
 * The option catalogue of kohya-ss sd-scripts (shared/reference/kohya-args.json, copied beside this file so
 * the product carries its data). Every key the adapter writes into a config TOML must exist here for the
 * chosen script (DESIGN.md §4); its `type` decides how the value is typed in TOML (kohya-sd-scripts.md §1.3).
 */
import { z } from 'zod';
import rawArgs from './kohya-args.json' with { type: 'json' };

/** The trainer scripts the catalogue covers (kohya-sd-scripts.md §10, "in file"). */
export const KOHYA_TRAINER_SCRIPTS = [
  'train_network.py',
  'sdxl_train_network.py',
  'sd3_train_network.py',
  'flux_train_network.py',
  'lumina_train_network.py',
  'train_db.py',
  'sdxl_train.py',
  'flux_train.py',
] as const;
export type KohyaTrainerScript = (typeof KOHYA_TRAINER_SCRIPTS)[number];

export type KohyaArgType = 'str' | 'int' | 'float' | 'bool(store_true)' | 'choice' | 'int_or_float';

export interface KohyaArgSpec {
  script: string;
  /** Without the leading `--`. */
  name: string;
  type: KohyaArgType;
  choices: ReadonlyArray<string | number | null> | null;
  default: unknown;
  /** `nargs: "*"`: an array in a config TOML. */
  list: boolean;
  help: string | null;
}

const rowSchema = z.object({
  script: z.string(),
  name: z.string().startsWith('--'),
  type: z.enum(['str', 'int', 'float', 'bool(store_true)', 'choice', 'int_or_float']),
  choices: z.array(z.union([z.string(), z.number(), z.null()])).nullable(),
  default: z.unknown(),
  nargs: z.string().optional(),
  list: z.boolean().optional(),
  help: z.string().nullable().optional(),
});
const fileSchema = z.object({ source: z.string(), args: z.array(rowSchema) });

const parsed = fileSchema.parse(rawArgs);

/** `kohya-ss/sd-scripts@<commit>` the catalogue was taken from. */
export const KOHYA_ARGS_SOURCE: string = parsed.source;

const byScript = new Map<string, Map<string, KohyaArgSpec>>();
for (const row of parsed.args) {
  let table = byScript.get(row.script);
  if (table === undefined) {
    table = new Map();
    byScript.set(row.script, table);
  }
  const name = row.name.slice(2);
  table.set(name, {
    script: row.script,
    name,
    type: row.type,
    choices: row.choices,
    default: row.default,
    list: row.list === true || row.nargs === '*',
    help: row.help ?? null,
  });
}

export function isKohyaTrainerScript(value: string): value is KohyaTrainerScript {
  return (KOHYA_TRAINER_SCRIPTS as readonly string[]).includes(value);
}

/** Every option of `script`, keyed by name without `--`. Throws for a script the catalogue lacks. */
export function kohyaArgsFor(script: string): ReadonlyMap<string, KohyaArgSpec> {
  const table = byScript.get(script);
  if (table === undefined) throw new Error(`kohya-args.json has no options for ${script}`);
  return table;
}

/** The spec of one option of `script`, or undefined when the script does not accept it. */
export function kohyaArg(script: string, name: string): KohyaArgSpec | undefined {
  return byScript.get(script)?.get(name);
}

/** Scripts present in the catalogue (trainers and LoRA tools). */
export function kohyaCatalogueScripts(): string[] {
  return [...byScript.keys()];
}
