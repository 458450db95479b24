/**
 * LoRA Easy Training Scripts saved TOML (`--from let`, tagging-and-config-import.md B2): `<section>.args` tables
 * flattened into training args, `dataset_args` into the dataset `[general]`, `[[subsets]]` into one dataset, as
 * the Backend (`utils/validation.py`) does.
 */
import type { KohyaNetworkScript } from '../schema/index.ts';
import { parseTomlText } from './kohya-toml.ts';
import { mapSdScriptsArgs } from './sd-args.ts';
import type { ImportResult, UnmappedKey } from './types.ts';
import { type Dict, dropFalsy, isDict, isFalsy, normaliseNumbers, pythonString, toNumber, toText } from './values.ts';

/** The UI's defaults for keys a saved file lacks (each `main_ui_files/*UI.py` `__init__`, B2). */
const UI_DEFAULTS: Readonly<Dict> = {
  seed: 23,
  clip_skip: 2,
  max_train_epochs: 1,
  max_token_length: 225,
  mixed_precision: 'fp16',
  network_dim: 32,
  network_alpha: 16.0,
  optimizer_type: 'AdamW',
  lr_scheduler: 'cosine',
  learning_rate: 1e-4,
};
const DATASET_DEFAULTS: Readonly<Dict> = { resolution: 512, batch_size: 1, min_bucket_reso: 256, max_bucket_reso: 1024, bucket_reso_steps: 64 };

/** LETS' own optimizers, shipped in the Backend's LoraEasyCustomOptimizer package (B2). */
const CUSTOM_OPTIMIZERS: Readonly<Record<string, string>> = {
  CAME: 'LoraEasyCustomOptimizer.came.CAME',
  Compass: 'LoraEasyCustomOptimizer.compass.Compass',
  LPFAdamW: 'LoraEasyCustomOptimizer.lpfadamw.LPFAdamW',
  RMSProp: 'LoraEasyCustomOptimizer.rmsprop.RMSProp',
};
const FRONTEND_ONLY = ['save_toml', 'save_toml_location', 'tag_occurrence', 'tag_file_location'];
const EASY_NAME_KEYS = ['output_dir', 'output_name', 'resume', 'log_prefix', 'tag_file_location', 'save_toml_location'];
const LIST_NETWORK_ARGS = new Set(['down_lr_weight', 'up_lr_weight', 'block_dims', 'block_alphas', 'conv_block_dims', 'conv_block_alphas']);

export function importLetToml(text: string): ImportResult {
  const parsed = parseTomlText(text, true);
  if (!parsed.ok) return { ok: false, format: 'let', error: { code: 'parse-failed', message: parsed.message }, operatorPaths: [], unmapped: [], notes: [] };
  const table = parsed.table;
  const notes: string[] = [];
  const unmapped: UnmappedKey[] = [];

  const mode = isDict(table.train_mode) ? toText(table.train_mode.train_mode) : undefined;
  if (mode !== undefined && mode !== 'lora') {
    return { ok: false, format: 'let', error: { code: 'not-a-lora-run', message: `The LETS config trains "${mode}", not a LoRA; lorasmith imports LoRA runs only.` }, operatorPaths: [], unmapped: [], notes: [] };
  }

  const args: Dict = {};
  const general: Dict = {};
  let networkTable: Dict | undefined;
  let optimizerTable: Dict | undefined;
  let schedulerTable: Dict | undefined;
  let flux = false;
  for (const [section, body] of Object.entries(table)) {
    if (section === 'subsets' || section === 'train_mode') continue;
    if (!isDict(body)) {
      unmapped.push({ key: section, value: body, reason: 'not a LETS section' });
      continue;
    }
    if (section === 'flux_args' && Object.keys(body).length > 0) flux = true;
    if (isDict(body.args)) {
      for (const [key, value] of Object.entries(body.args)) {
        if (key === 'network_args' && isDict(value)) networkTable = value;
        else if (key === 'optimizer_args' && isDict(value)) optimizerTable = value;
        else if (key === 'lr_scheduler_args' && isDict(value)) schedulerTable = value;
        else args[key] = normaliseNumbers(value);
      }
    }
    if (isDict(body.dataset_args)) Object.assign(general, normaliseNumbers(body.dataset_args));
  }

  // Defaults for keys the file lacks, then the Backend's falsy rule ("false" included; "true" → true).
  for (const [key, value] of Object.entries(UI_DEFAULTS)) if (!(key in args)) args[key] = value;
  for (const [key, value] of Object.entries(DATASET_DEFAULTS)) if (!(key in general)) general[key] = value;
  if (optimizerTable === undefined) optimizerTable = { weight_decay: '0.1' };
  for (const target of [args, general]) for (const [key, value] of Object.entries(target)) if (value === 'true') target[key] = true;
  const dropped = [...dropFalsy(args), ...dropFalsy(general)];
  if (dropped.length > 0) notes.push(`Dropped as unset (LETS does not pass 0, "" or false): ${dropped.sort().join(', ')}.`);

  // easy_name fills ${replace}.
  const easyName = toText(args.easy_name);
  delete args.easy_name;
  if (easyName !== undefined) {
    for (const key of EASY_NAME_KEYS) {
      const value = args[key];
      if (typeof value === 'string') args[key] = value.replaceAll('${replace}', easyName);
    }
  }
  for (const key of FRONTEND_ONLY) {
    if (args[key] !== undefined) {
      unmapped.push({ key, value: args[key], reason: 'LETS frontend option, ignored by sd-scripts' });
      delete args[key];
    }
  }

  // Script.
  const sdxl = args.sdxl === true;
  delete args.sdxl;
  const script: KohyaNetworkScript = flux ? 'flux_train_network.py' : sdxl ? 'sdxl_train_network.py' : 'train_network.py';
  if (args.mixed_precision === 'float') args.mixed_precision = 'no';

  // Network module from the network-args table.
  const netArgs: string[] = [];
  const netTable: Dict = { ...(networkTable ?? {}) };
  const fa = args.fa === true || netTable.fa === true;
  delete args.fa;
  delete netTable.fa;
  if (netTable.algo !== undefined && !isFalsy(netTable.algo)) args.network_module = 'lycoris.kohya';
  else if (netTable.unit !== undefined && !isFalsy(netTable.unit)) args.network_module = 'networks.dylora';
  else if (fa) args.network_module = 'networks.lora_fa';
  else args.network_module = args.guidance_scale !== undefined ? 'networks.lora_flux' : 'networks.lora';
  for (const [key, value] of Object.entries(netTable)) {
    if (isFalsy(value)) continue;
    netArgs.push(`${key}=${LIST_NETWORK_ARGS.has(key) && Array.isArray(value) ? value.map((item) => pythonString(item)).join(',') : pythonString(value)}`);
  }
  if (netArgs.length > 0) args.network_args = netArgs;

  // Optimizer: LETS' own optimizers become dotted classes; argument strings "true"/"false" become Python booleans.
  const optimizer = toText(args.optimizer_type);
  if (optimizer !== undefined && CUSTOM_OPTIMIZERS[optimizer] !== undefined) args.optimizer_type = CUSTOM_OPTIMIZERS[optimizer];
  const optArgs: string[] = [];
  for (const [key, value] of Object.entries(optimizerTable)) {
    if (isFalsy(value)) continue;
    optArgs.push(`${key}=${value === 'true' ? 'True' : value === 'false' ? 'False' : pythonString(value)}`);
  }
  if (optArgs.length > 0) args.optimizer_args = optArgs;

  // Scheduler: a custom lr_scheduler_type takes warm-up and cycles as its own arguments (Backend, B2).
  const schedulerArgs: string[] = [];
  for (const [key, value] of Object.entries(schedulerTable ?? {})) if (!isFalsy(value)) schedulerArgs.push(`${key}=${pythonString(value)}`);
  const warmupRatio = toNumber(args.warmup_ratio);
  delete args.warmup_ratio;
  if (args.lr_scheduler_type !== undefined) {
    const cycles = toNumber(args.lr_scheduler_num_cycles) ?? 1;
    delete args.lr_scheduler_num_cycles;
    if (warmupRatio !== undefined) schedulerArgs.push(`warmup_steps=round(S*${warmupRatio})//${cycles}`);
    schedulerArgs.push(`first_cycle_max_steps=S//${cycles}`);
    notes.push(`The custom scheduler's warmup_steps and first_cycle_max_steps depend on the total step count S, which the Backend computes from the dataset; the fallback lr_scheduler "${toText(args.lr_scheduler) ?? 'constant'}" is imported instead.`);
  } else if (warmupRatio !== undefined && warmupRatio > 0) {
    // round(S·ratio) steps: the same warm-up as a ratio of all steps.
    args.lr_warmup_steps = warmupRatio;
  }
  if (schedulerArgs.length > 0) args.lr_scheduler_args = schedulerArgs;

  // Dataset [general] keys use dataset names; sd-scripts' namespace names them train_batch_size etc.
  for (const [key, value] of Object.entries(general)) args[key === 'batch_size' ? 'train_batch_size' : key] = value;

  // [[subsets]]: `name` is removed by the Backend; lorasmith keeps it as the override name.
  const subsets = Array.isArray(table.subsets) ? table.subsets.filter(isDict).map((subset) => {
    const copy = normaliseNumbers(subset) as Dict;
    for (const [key, value] of Object.entries(copy)) if (isFalsy(value)) delete copy[key];
    return copy;
  }) : [];

  return mapSdScriptsArgs({ format: 'let', args, script, subsets, unmapped, notes });
}
