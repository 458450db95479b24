/**
 * bmaltais/kohya_ss GUI saved JSON (`--from kohya-gui`, tagging-and-config-import.md B1): GUI field names turned
 * into the sd-scripts config the GUI writes at training start, with HEAD (v25+) semantics and the legacy fixes of
 * `update_my_data`.
 */
import type { KohyaNetworkScript } from '../schema/index.ts';
import { mapSdScriptsArgs } from './sd-args.ts';
import type { ImportResult, UnmappedKey } from './types.ts';
import { type Dict, dropFalsy, isDict, parseCliTail, toBoolean, toInteger, toNumber, toText } from './values.ts';

/** Network arguments by `LoRA_type` family; the GUI writes only the set its type shows (B1). */
const LYCORIS_ARGS = [
  'conv_dim',
  'conv_alpha',
  'rank_dropout',
  'module_dropout',
  'use_tucker',
  'use_scalar',
  'use_cp',
  'decompose_both',
  'rank_dropout_scale',
  'train_norm',
  'bypass_mode',
  'dora_wd',
  'rescaled',
  'train_on_input',
] as const;
const KOHYA_ARGS = ['rank_dropout', 'module_dropout', 'down_lr_weight', 'mid_lr_weight', 'up_lr_weight', 'block_lr_zero_threshold', 'block_dims', 'block_alphas', 'conv_block_dims', 'conv_block_alphas', 'loraplus_lr_ratio', 'loraplus_unet_lr_ratio', 'loraplus_text_encoder_lr_ratio'] as const;
const LYCORIS_ALGOS: Readonly<Record<string, string>> = {
  'LyCORIS/LoCon': 'locon',
  'LyCORIS/LoHa': 'loha',
  'LyCORIS/LoKr': 'lokr',
  'LyCORIS/DyLoRA': 'dylora',
  'LyCORIS/GLoRA': 'glora',
  'LyCORIS/iA3': 'ia3',
  'LyCORIS/Diag-OFT': 'diag-oft',
  'LyCORIS/BOFT': 'boft',
  'LyCORIS/Native Fine-Tuning': 'full',
};
/** Keys the GUI keeps for itself or hands to `accelerate launch`. */
const GUI_ONLY: Readonly<Record<string, string>> = {
  model_list: 'GUI only',
  training_preset: 'GUI only',
  num_cpu_threads_per_process: '`accelerate launch` flag, set by the studio',
  num_processes: '`accelerate launch` flag, set by the studio',
  num_machines: '`accelerate launch` flag, set by the studio',
  gpu_ids: '`accelerate launch` flag, set by the studio',
  multi_gpu: '`accelerate launch` flag, set by the studio',
  main_process_port: '`accelerate launch` flag, set by the studio',
  dynamo_backend: '`accelerate launch` flag, set by the studio',
  stop_text_encoder_training: 'ignored by the GUI’s LoRA tab ("not yet supported")',
  stop_text_encoder_training_pct: 'ignored by the GUI’s LoRA tab ("not yet supported")',
  wandb_run_name: 'logging is configured by the studio',
  wandb_api_key: 'logging is configured by the studio',
};

export function importKohyaGuiJson(text: string): ImportResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return failure(`The file is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isDict(parsed)) return failure('A kohya_ss GUI config is a JSON object of GUI fields.');
  const gui: Dict = { ...parsed };
  const notes: string[] = [];
  const unmapped: UnmappedKey[] = [];
  const take = (key: string): unknown => {
    const value = gui[key];
    delete gui[key];
    return value;
  };

  // Legacy forms first (update_my_data), so the falsy rule sees the fixed values.
  if (gui.LoRA_type === 'LoCon') gui.LoRA_type = 'LyCORIS/LoCon';
  if (gui.lora_network_weights !== undefined && gui.network_weights === undefined) gui.network_weights = take('lora_network_weights');
  if (gui.use_wandb !== undefined) {
    const wandb = toBoolean(take('use_wandb'));
    if (wandb === true) gui.log_with = 'wandb';
  }
  if (typeof gui.xformers === 'boolean') gui.xformers = gui.xformers ? 'xformers' : 'none';
  if (gui.save_model_as !== undefined && gui.save_model_as !== 'safetensors' && gui.save_model_as !== 'ckpt') gui.save_model_as = 'safetensors';
  const cyclesRaw = take('lr_scheduler_num_cycles');
  const cycles = toInteger(cyclesRaw);
  const epoch = toInteger(take('epoch'));

  // The script.
  const sdxl = toBoolean(take('sdxl')) === true;
  const flux = toBoolean(take('flux1_checkbox')) === true;
  const sd3 = toBoolean(take('sd3_checkbox')) === true;
  const script: KohyaNetworkScript = flux ? 'flux_train_network.py' : sd3 ? 'sd3_train_network.py' : sdxl ? 'sdxl_train_network.py' : 'train_network.py';

  // Noise gate, before the falsy rule drops the type.
  const noiseType = toText(take('noise_offset_type')) ?? 'Original';
  const gatedOut = noiseType === 'Multires' ? ['noise_offset', 'adaptive_noise_scale', 'noise_offset_random_strength'] : ['multires_noise_iterations', 'multires_noise_discount'];
  for (const key of gatedOut) {
    const value = take(key);
    if (value !== undefined && value !== 0 && value !== false && value !== '') {
      unmapped.push({ key, value, reason: `not written by the GUI: noise_offset_type is ${noiseType}` });
    }
  }
  if (noiseType === 'Multires' && toNumber(gui.multires_noise_discount) === undefined) gui.multires_noise_discount = 0.3;

  // SDXL-prefixed keys apply only with sdxl.
  for (const [from, to] of [
    ['sdxl_no_half_vae', 'no_half_vae'],
    ['sdxl_cache_text_encoder_outputs', 'cache_text_encoder_outputs'],
  ] as const) {
    const value = take(from);
    if (sdxl && toBoolean(value) === true) gui[to] = true;
    else if (!sdxl && toBoolean(value) === true) unmapped.push({ key: from, value, reason: 'applies only to SDXL runs' });
  }

  // Learning-rate gates (HEAD).
  const teLr = toNumber(gui.text_encoder_lr) ?? 0;
  const unetLr = toNumber(gui.unet_lr) ?? 0;
  if (teLr === 0 && unetLr !== 0) gui.network_train_unet_only = true;
  if (unetLr === 0 && teLr !== 0) gui.network_train_text_encoder_only = true;

  // Warm-up: percent of steps (B1 table); v25+ writes a ratio unless lr_warmup_steps overrides it.
  const warmupPct = toNumber(take('lr_warmup'));
  const warmupSteps = toInteger(take('lr_warmup_steps'));
  if (warmupSteps !== undefined && warmupSteps > 0) gui.lr_warmup_steps = warmupSteps;
  else if (warmupPct !== undefined && warmupPct > 0) {
    gui.lr_warmup_steps = warmupPct / 100;
    notes.push(`lr_warmup ${warmupPct}% is read as a warm-up ratio of ${warmupPct / 100} (GUI v25+; v24 wrote round(${warmupPct}% of max_train_steps) steps).`);
  }

  // The B0 falsy rule (0, "", false dropped), then GUI → sd-scripts renames.
  const dropped = dropFalsy(gui);
  if (dropped.length > 0) notes.push(`Dropped as unset (the GUI does not write 0, "" or false): ${dropped.sort().join(', ')}.`);

  const args: Dict = {};
  const rename = (from: string, to: string): void => {
    if (gui[from] !== undefined) args[to] = take(from);
  };
  rename('max_resolution', 'resolution');
  if (gui.optimizer !== undefined) {
    rename('optimizer', 'optimizer_type');
    take('use_8bit_adam');
  } else if (gui.use_8bit_adam !== undefined) {
    args.optimizer_type = toBoolean(take('use_8bit_adam')) === true ? 'AdamW8bit' : 'AdamW';
  }
  for (const key of ['optimizer_args', 'lr_scheduler_args']) {
    const value = take(key);
    if (typeof value === 'string') args[key] = value.replaceAll('"', '').split(/\s+/).filter((token) => token !== '');
  }

  // Network module and arguments by LoRA_type.
  const loraType = toText(take('LoRA_type')) ?? 'Standard';
  const networkArgs: string[] = [];
  const pushArg = (name: string, key: string): void => {
    const value = take(key);
    if (value !== undefined) networkArgs.push(`${name}=${String(value)}`);
  };
  if (loraType.startsWith('LyCORIS/')) {
    args.network_module = 'lycoris.kohya';
    const algo = LYCORIS_ALGOS[loraType];
    if (algo === undefined) unmapped.push({ key: 'LoRA_type', value: loraType, reason: 'unknown LyCORIS type' });
    else networkArgs.push(`algo=${algo}`);
    for (const key of LYCORIS_ARGS) pushArg(key, key);
    pushArg('preset', 'LyCORIS_preset');
    pushArg('constraint', 'constrain');
    if (loraType === 'LyCORIS/LoKr') pushArg('factor', 'factor');
    if (loraType === 'LyCORIS/DyLoRA') pushArg('block_size', 'unit');
  } else {
    const modules: Readonly<Record<string, string>> = {
      Standard: sd3 ? 'networks.lora_sd3' : 'networks.lora',
      'Kohya LoCon': 'networks.lora',
      'Kohya DyLoRA': 'networks.dylora',
      'LoRA-FA': 'networks.lora_fa',
      'Kohya LoHa': 'networks.loha',
      'Kohya LoKr': 'networks.lokr',
      Flux1: 'networks.lora_flux',
    };
    const module = modules[loraType];
    if (module === undefined) unmapped.push({ key: 'LoRA_type', value: loraType, reason: 'unknown LoRA type' });
    args.network_module = module ?? 'networks.lora';
    if (loraType === 'Kohya LoCon' || loraType === 'Kohya DyLoRA') {
      pushArg('conv_dim', 'conv_dim');
      pushArg('conv_alpha', 'conv_alpha');
    }
    if (loraType === 'Kohya DyLoRA') pushArg('unit', 'unit');
    for (const key of KOHYA_ARGS) pushArg(key, key);
  }
  if (networkArgs.length > 0) args.network_args = networkArgs;
  for (const key of [...LYCORIS_ARGS, ...KOHYA_ARGS, 'LyCORIS_preset', 'constrain', 'factor', 'unit']) {
    const value = take(key);
    if (value !== undefined) unmapped.push({ key, value, reason: `not written for LoRA_type ${loraType}` });
  }

  // Attention.
  const attention = toText(take('xformers'));
  if (attention === 'xformers' || attention === 'sdpa') args[attention] = true;

  // Cycles: v24+ loads "" or a non-integer as 1 (v23 used epoch).
  args.lr_scheduler_num_cycles = cycles !== undefined && cycles >= 1 ? cycles : 1;
  if (cycles === undefined && cyclesRaw !== undefined) notes.push(`lr_scheduler_num_cycles ${JSON.stringify(cyclesRaw)} is read as 1 (GUI v24+; v23 used epoch${epoch === undefined ? '' : ` = ${epoch}`}).`);

  // Run length: `epoch` is the GUI's folder-mode epoch count, turned into steps by the GUI; lorasmith counts epochs itself.
  if (gui.max_train_epochs === undefined && gui.max_train_steps === undefined && epoch !== undefined && epoch > 0) {
    args.max_train_epochs = epoch;
    notes.push(`epoch ${epoch} becomes a run of ${epoch} epochs (the GUI computes the same number of steps from the folder repeats).`);
  }

  // CLI tail: appended after --config_file, so it wins.
  const tail = take('additional_parameters');
  for (const [key, value] of typeof tail === 'string' ? parseCliTail(tail) : []) {
    args[key] = value;
    notes.push(`additional_parameters --${key} is applied (the command line wins over the config file).`);
  }

  for (const [key, reason] of Object.entries(GUI_ONLY)) {
    const value = take(key);
    if (value !== undefined) unmapped.push({ key, value: key.includes('key') ? '<redacted>' : value, reason });
  }
  // Same-named keys pass through.
  for (const [key, value] of Object.entries(gui)) if (args[key] === undefined) args[key] = value;

  return mapSdScriptsArgs({ format: 'kohya-gui', args, script, unmapped, notes });
}

function failure(message: string): ImportResult {
  return { ok: false, format: 'kohya-gui', error: { code: 'parse-failed', message }, operatorPaths: [], unmapped: [], notes: [] };
}
