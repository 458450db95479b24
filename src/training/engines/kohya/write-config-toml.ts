/**
 * The training config TOML passed as `--config_file <run>/run.toml` (kohya-sd-scripts.md §1.3).
 *
 * sd-scripts flattens it into the argparse namespace without argparse's type conversion or choice check,
 * then type-checks the dataset-related keys with voluptuous. So: flat keys only, each one an option of the
 * chosen script in kohya-args.json; values typed from that catalogue (floats with a decimal point, ints
 * without one, `store_true` flags written only when true, `nargs="*"` options as arrays, `key=value` string
 * arrays for `network_args` / `optimizer_args` / `lr_scheduler_args`); paths absolute.
 */
import path from 'node:path';
import { LorasmithError } from '../../../core/errors.ts';
import { kohyaArg, type KohyaArgSpec } from './kohya-args.ts';
import {
  formatTomlEntries,
  tomlArray,
  tomlBool,
  tomlFloat,
  tomlInt,
  tomlParseBackMismatch,
  tomlStr,
  tomlValueToPlain,
  type TomlPlain,
  type TomlScalar,
  type TomlValue,
} from './toml-format.ts';
import type { KohyaArgValue, KohyaTrainerScript } from './types.ts';

/** Keys the adapter writes itself; a run's `args` may not set them. */
export const ADAPTER_OWNED_KEYS: ReadonlySet<string> = new Set(['output_dir', 'logging_dir', 'sample_prompts', 'tokenizer_cache_dir']);

/**
 * Keys that would change what the run reads or where it logs, behind the adapter's back: on argv already
 * (`config_file`, `dataset_config`, `console_log_simple`), datasets outside the dataset TOML, runs that exit
 * 0 without training (`debug_dataset`, `output_config`), logging that hides the lines the parser needs.
 */
const REFUSED_KEYS: ReadonlyMap<string, string> = new Map([
  ['config_file', 'the adapter passes --config_file on the command line'],
  ['dataset_config', 'the adapter passes --dataset_config on the command line'],
  ['console_log_simple', 'the adapter passes --console_log_simple on the command line'],
  ['console_log_file', 'it would send "model saved." and every error line to a file instead of the run log'],
  ['output_config', 'it writes a config and exits without training'],
  ['debug_dataset', 'it shows the dataset and exits without training'],
  ['train_data_dir', 'datasets come from the run\'s dataset TOML'],
  ['reg_data_dir', 'datasets come from the run\'s dataset TOML'],
  ['in_json', 'datasets come from the run\'s dataset TOML'],
  ['dataset_class', 'datasets come from the run\'s dataset TOML'],
  ['conditioning_data_dir', 'datasets come from the run\'s dataset TOML'],
  ['caption_extention', 'use caption_extension on the dataset instead'],
]);

/** Options that need the network or a credential; engine runs have neither (PROC-R03). */
const NETWORK_KEYS: ReadonlyMap<string, string> = new Map([
  ['wandb_api_key', 'Weights & Biases logging needs the network and a key'],
  ['wandb_run_name', 'Weights & Biases logging needs the network'],
  ['log_tracker_config', 'tracker configs are for Weights & Biases logging, which needs the network'],
  ['huggingface_repo_id', 'uploading to Hugging Face needs the network and a token'],
  ['huggingface_repo_type', 'uploading to Hugging Face needs the network and a token'],
  ['huggingface_path_in_repo', 'uploading to Hugging Face needs the network and a token'],
  ['huggingface_token', 'tokens never reach an engine run'],
  ['huggingface_repo_visibility', 'uploading to Hugging Face needs the network and a token'],
  ['resume_from_huggingface', 'resuming from Hugging Face needs the network'],
  ['save_state_to_huggingface', 'uploading to Hugging Face needs the network and a token'],
  ['async_upload', 'uploading to Hugging Face needs the network and a token'],
]);

/** Options whose value is a file or folder: absolute, and bound read-only into the sandbox. */
const PATH_KEYS: ReadonlySet<string> = new Set([
  'pretrained_model_name_or_path',
  'vae',
  'clip_l',
  'clip_g',
  't5xxl',
  'ae',
  'gemma2',
  'qwen3',
  'text_encoder',
  'byt5',
  'llm_adapter_path',
  't5_tokenizer_path',
  'controlnet_model_name_or_path',
  'network_weights',
  'base_weights',
  'resume',
  'offload_optimizer_nvme_path',
  'offload_param_nvme_path',
]);

/** `key=value` array options, and how sd-scripts reads their values (kohya-sd-scripts.md §1.3). */
const KV_KEYS: ReadonlyMap<string, 'string' | 'python-literal'> = new Map([
  ['network_args', 'string'],
  ['optimizer_args', 'python-literal'],
  ['lr_scheduler_args', 'python-literal'],
]);

/** String options sd-scripts splits on `,` itself: numbers or number pairs are joined for it. */
const COMMA_STRING_KEYS: ReadonlySet<string> = new Set(['resolution', 'face_crop_aug_range']);

export interface KohyaConfigPaths {
  /** `<run>/work/output`: checkpoints, samples, state folders. */
  outputDir: string;
  /** `<run>/work/logs`: TensorBoard event files. */
  loggingDir: string;
  /** The engine's tokenizer cache (`engines/kohya/cache/tokenizers`), bound read-only. */
  tokenizerCacheDir: string;
  /** `<run>/sample-prompts.txt` when the run has sample prompts. */
  samplePromptsFile?: string;
}

export interface KohyaConfigToml {
  /** The file's text. */
  text: string;
  /** What each key means, in file order (typed as written). */
  entries: ReadonlyArray<readonly [string, TomlValue]>;
  /** Absolute files and folders the options name (model files, weights, state), for the sandbox binds. */
  readOnlyPaths: string[];
}

function invalid(key: string, script: string, reason: string, hint?: string): LorasmithError {
  return new LorasmithError({
    code: 'kohya-config-invalid',
    message: `The training option "${key}" cannot be written for ${script}: ${reason}.`,
    hint: hint ?? `Check the option against sd-scripts' ${script} (kohya-args.json).`,
    exitCode: 2,
    status: 400,
    details: { key, script },
  });
}

function isNumberArray(value: KohyaArgValue): value is number[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'number');
}
function isStringArray(value: KohyaArgValue): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function checkText(key: string, script: string, text: string): string {
  if (text.includes('\0')) throw invalid(key, script, 'the value contains a NUL character');
  return text;
}

function absolutePath(key: string, script: string, value: string): string {
  checkText(key, script, value);
  if (/[\r\n]/.test(value)) throw invalid(key, script, 'a path may not contain a line break');
  if (!path.isAbsolute(value) || path.normalize(value) !== value) {
    throw invalid(key, script, `the path ${JSON.stringify(value)} is not an absolute, normalised path`, 'Pass model files and folders as absolute paths (the engine runs in <run>/work/).');
  }
  return value;
}

function number(key: string, script: string, value: KohyaArgValue, integer: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(key, script, `expected a ${integer ? 'whole number' : 'number'}, got ${JSON.stringify(value)}`);
  if (integer && !Number.isSafeInteger(value)) throw invalid(key, script, `expected a whole number, got ${value}`);
  return value;
}

/** One `key=value` entry of network_args / optimizer_args / lr_scheduler_args, checked and normalised. */
function kvEntry(key: string, script: string, entry: string, style: 'string' | 'python-literal'): string {
  checkText(key, script, entry);
  const eq = entry.indexOf('=');
  if (eq <= 0) throw invalid(key, script, `${JSON.stringify(entry)} is not "name=value"`);
  const name = entry.slice(0, eq).trim();
  let value = entry.slice(eq + 1).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw invalid(key, script, `${JSON.stringify(name)} is not a valid argument name`);
  if (style === 'python-literal') {
    // Split on every "=" by sd-scripts, so a second "=" raises ValueError; values go through ast.literal_eval.
    if (value.includes('=')) throw invalid(key, script, `the value of ${name} contains "=", which sd-scripts cannot split`);
    if (/^true$/i.test(value)) value = 'True';
    else if (/^false$/i.test(value)) value = 'False';
    else if (/^none$/i.test(value)) value = 'None';
  }
  if (value === '') throw invalid(key, script, `${name} has no value`);
  return `${name}=${value}`;
}

/**
 * Turn a record into `key=value` strings: for `optimizer_args` / `lr_scheduler_args` (`python-literal`)
 * booleans become `True`/`False`, arrays tuples and strings quoted Python literals; for `network_args`
 * (`string`) values are written as they are (lists comma-joined, as the LoRA modules expect).
 */
export function toKeyValueArgs(record: Record<string, string | number | boolean | number[]>, style: 'string' | 'python-literal'): string[] {
  return Object.entries(record).map(([name, value]) => {
    if (style === 'string') return `${name}=${Array.isArray(value) ? value.join(',') : String(value)}`;
    if (typeof value === 'boolean') return `${name}=${value ? 'True' : 'False'}`;
    if (typeof value === 'number') return `${name}=${String(value)}`;
    if (Array.isArray(value)) return `${name}=(${value.map(String).join(',')}${value.length === 1 ? ',' : ''})`;
    return `${name}=${JSON.stringify(value)}`;
  });
}

function typedValue(spec: KohyaArgSpec, script: string, value: KohyaArgValue): TomlValue | undefined {
  const key = spec.name;
  switch (spec.type) {
    case 'bool(store_true)':
      if (typeof value !== 'boolean') throw invalid(key, script, `expected true or false, got ${JSON.stringify(value)}`);
      return value ? tomlBool(true) : undefined;
    case 'int': {
      if (spec.list) {
        const items = Array.isArray(value) ? value : [value];
        return tomlArray(items.map((item) => tomlInt(number(key, script, item, true))));
      }
      return tomlInt(number(key, script, value, true));
    }
    case 'float': {
      if (spec.list) {
        const items = Array.isArray(value) ? value : [value];
        return tomlArray(items.map((item) => tomlFloat(number(key, script, item, false))));
      }
      return tomlFloat(number(key, script, value, false));
    }
    case 'int_or_float': {
      const n = number(key, script, value, false);
      if (n < 0) throw invalid(key, script, `expected 0 or more, got ${n}`);
      if (Number.isInteger(n)) return tomlInt(n);
      if (n >= 1) throw invalid(key, script, `${n} is neither a whole number of steps nor a ratio below 1`);
      return tomlFloat(n);
    }
    case 'choice': {
      const choices = (spec.choices ?? []).filter((choice): choice is string | number => choice !== null);
      const match = choices.find((choice) => choice === value);
      if (match === undefined) throw invalid(key, script, `${JSON.stringify(value)} is not one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`);
      if (typeof match === 'number') return tomlInt(match);
      return tomlStr(match);
    }
    case 'str': {
      const kv = KV_KEYS.get(key);
      if (kv !== undefined) {
        const items = typeof value === 'string' ? [value] : value;
        if (!isStringArray(items as KohyaArgValue)) throw invalid(key, script, 'expected a list of "name=value" strings');
        return tomlArray((items as string[]).map((item) => tomlStr(kvEntry(key, script, item, kv))));
      }
      if (PATH_KEYS.has(key)) {
        if (spec.list) {
          const items = typeof value === 'string' ? [value] : value;
          if (!isStringArray(items as KohyaArgValue)) throw invalid(key, script, 'expected a list of absolute paths');
          return tomlArray((items as string[]).map((item) => tomlStr(absolutePath(key, script, item))));
        }
        if (typeof value !== 'string') throw invalid(key, script, 'expected an absolute path');
        return tomlStr(absolutePath(key, script, value));
      }
      if (spec.list) {
        const items = typeof value === 'string' ? [value] : value;
        if (!isStringArray(items as KohyaArgValue)) throw invalid(key, script, 'expected a list of strings');
        return tomlArray((items as string[]).map((item) => tomlStr(checkText(key, script, item))));
      }
      if (typeof value === 'string') return tomlStr(checkText(key, script, value));
      if (COMMA_STRING_KEYS.has(key)) {
        // sd-scripts reads these as "512" / "512,768" / "2.0,4.0" strings and splits them itself.
        if (typeof value === 'number' && Number.isFinite(value)) return tomlStr(String(value));
        if (isNumberArray(value) && value.length === 2 && value.every(Number.isFinite)) return tomlStr(value.join(','));
      }
      throw invalid(key, script, `expected text, got ${JSON.stringify(value)}`);
    }
  }
}

/**
 * Render the config TOML for `script` from `args` plus the adapter-owned keys. Throws
 * `kohya-config-invalid` for an unknown key, a mistyped value or a relative path, and `kohya-needs-network`
 * for an option that needs the network or a credential.
 */
export function renderConfigToml(input: { script: KohyaTrainerScript; args: Record<string, KohyaArgValue> }, paths: KohyaConfigPaths): KohyaConfigToml {
  const { script } = input;
  const entries: Array<readonly [string, TomlValue]> = [];
  const readOnlyPaths: string[] = [];
  for (const key of Object.keys(input.args).sort()) {
    const value = input.args[key];
    if (value === undefined) continue;
    if (key.startsWith('-')) throw invalid(key, script, 'option names are written without the leading "--"', `Use "${key.replace(/^-+/, '')}".`);
    if (ADAPTER_OWNED_KEYS.has(key)) throw invalid(key, script, 'the adapter sets it for every run', 'Remove it: outputs, logs, sample prompts and the tokenizer cache live in the run and engine folders.');
    const refused = REFUSED_KEYS.get(key);
    if (refused !== undefined) throw invalid(key, script, refused, 'Remove it from the run config.');
    const network = NETWORK_KEYS.get(key);
    if (network !== undefined || (key === 'log_with' && value !== 'tensorboard')) {
      throw new LorasmithError({
        code: 'kohya-needs-network',
        message: `The training option "${key}" is refused: ${network ?? 'only TensorBoard logging works without the network'}.`,
        hint: 'Engine runs have no network access and no tokens. Remove the option (TensorBoard logging is on for every run).',
        exitCode: 2,
        status: 400,
        details: { key, script },
      });
    }
    const spec = kohyaArg(script, key);
    if (spec === undefined) throw invalid(key, script, `${script} has no such option`, 'Check the spelling; kohya-args.json lists every option of each script.');
    const typed = typedValue(spec, script, value);
    if (typed === undefined) continue;
    if (PATH_KEYS.has(key)) {
      if (typed.t === 'array') for (const item of typed.items) readOnlyPaths.push(String(item.v));
      else readOnlyPaths.push(String(typed.v));
    }
    if (key === 'metadata_thumbnail' && typed.t === 'str' && !typed.v.startsWith('data:')) {
      readOnlyPaths.push(absolutePath(key, script, typed.v));
    }
    entries.push([key, typed]);
  }

  const owned: Array<readonly [string, string]> = [
    ['output_dir', paths.outputDir],
    ['logging_dir', paths.loggingDir],
    ['tokenizer_cache_dir', paths.tokenizerCacheDir],
  ];
  if (paths.samplePromptsFile !== undefined) owned.push(['sample_prompts', paths.samplePromptsFile]);
  for (const [key, value] of owned) {
    if (kohyaArg(script, key) === undefined) throw invalid(key, script, `${script} has no such option`);
    entries.push([key, tomlStr(absolutePath(key, script, value))]);
  }

  const text = `# Written by lorasmith for sd-scripts ${script}; flat keys, read with --config_file.\n${formatTomlEntries(entries)}`;
  const expected: Record<string, TomlPlain> = {};
  for (const [key, value] of entries) expected[key] = tomlValueToPlain(value);
  const mismatch = tomlParseBackMismatch(text, expected);
  if (mismatch !== undefined) {
    throw new LorasmithError({ code: 'kohya-config-roundtrip', message: `The training config did not read back as written (${mismatch}).`, hint: 'This is a bug in lorasmith; please report it with the run config.', exitCode: 2, status: 500 });
  }
  return { text, entries, readOnlyPaths: [...new Set(readOnlyPaths)] };
}
