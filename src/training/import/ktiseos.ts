/**
 * Ktiseos-Nyx-Trainer presets (`--from ktiseos`, tagging-and-config-import.md B3): `TrainingConfig` keys mapped the
 * way `KohyaTOMLGenerator` maps them, with the block a faithful importer must fix (network keys written top-level,
 * where sd-scripts never reads them) moved into `network_args`.
 */
import type { KohyaNetworkScript, RunFamily } from '../schema/index.ts';
import { mapSdScriptsArgs } from './sd-args.ts';
import type { ImportResult, UnmappedKey } from './types.ts';
import { type Dict, dropFalsy, isDict, toBoolean, toNumber, toText } from './values.ts';

const META_KEYS = ['name', 'description', 'model_type', 'is_builtin', 'attribution', 'training_type', 'created_at'];

const MODEL_TYPES: Readonly<Record<string, { script?: KohyaNetworkScript; family: RunFamily }>> = {
  'SD1.5': { script: 'train_network.py', family: 'sd1' },
  SDXL: { script: 'sdxl_train_network.py', family: 'sdxl' },
  Flux: { script: 'flux_train_network.py', family: 'flux1' },
  SD3: { script: 'sd3_train_network.py', family: 'sd3' },
  'SD3.5': { script: 'sd3_train_network.py', family: 'sd3' },
  Lumina: { script: 'lumina_train_network.py', family: 'lumina2' },
  Chroma: { script: 'flux_train_network.py', family: 'chroma' },
  Anima: { family: 'anima' },
  HunyuanImage: { family: 'hunyuan-image-2.1' },
};

const LYCORIS_ALGOS: Readonly<Record<string, string>> = {
  LoCon: 'locon',
  LoHa: 'loha',
  LoKr: 'lokr',
  Full: 'full',
  IA3: 'ia3',
  DyLoRA: 'dylora',
  GLoRA: 'glora',
  'Diag-OFT': 'diag-oft',
  BOFT: 'boft',
  ABBA: 'abba',
  TLoRA: 'tlora',
};

/** Written top-level by Ktiseos (ignored by sd-scripts); moved into network_args here. */
const NETWORK_KEYS = ['conv_dim', 'conv_alpha', 'rank_dropout', 'module_dropout', 'factor', 'down_lr_weight', 'mid_lr_weight', 'up_lr_weight', 'block_dims', 'block_alphas', 'conv_block_dims', 'conv_block_alphas'];

const PATH_KEYS: Readonly<Record<string, string>> = {
  model_path: 'pretrained_model_name_or_path',
  pretrained_model_name_or_path: 'pretrained_model_name_or_path',
  vae_path: 'vae',
  clip_l_path: 'clip_l',
  clip_g_path: 'clip_g',
  t5xxl_path: 't5xxl',
  ae_path: 'ae',
  text_encoder_path: 'text_encoder',
  byt5_path: 'byt5',
  continue_from_lora: 'network_weights',
  resume_from_state: 'resume',
  dataset_dir: 'train_data_dir',
  train_data_dir: 'train_data_dir',
};

const CUSTOM_OPTIMIZERS: Readonly<Record<string, string>> = {
  CAME: 'LoraEasyCustomOptimizer.came.CAME',
  Compass: 'LoraEasyCustomOptimizer.compass.Compass',
  LPFAdamW: 'LoraEasyCustomOptimizer.lpfadamw.LPFAdamW',
  RMSProp: 'LoraEasyCustomOptimizer.rmsprop.RMSProp',
  AMUSE: 'LoraEasyCustomOptimizer.amuse.AMUSE',
  MODA: 'LoraEasyCustomOptimizer.moda.MODA',
  SODA: 'LoraEasyCustomOptimizer.soda.SODA',
};

const CUSTOM_SCHEDULERS: Readonly<Record<string, string>> = {
  rex: 'LoraEasyCustomOptimizer.RexAnnealingWarmRestarts.RexAnnealingWarmRestarts',
  cosine_annealing: 'LoraEasyCustomOptimizer.CosineAnnealingWarmRestarts.CosineAnnealingWarmRestarts',
};

/**
 * Ktiseos' `optimizer_args` string: split on whitespace or top-level commas, quotes stripped, `()[]{}` groups kept
 * with inner spaces removed, a token without "=" joined to the one before (`betas=0.9,0.99`).
 */
export function splitKtiseosOptimizerArgs(text: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let depth = 0;
  for (const char of text.replaceAll('"', '').replaceAll("'", '')) {
    if ('([{'.includes(char)) depth += 1;
    if (')]}'.includes(char)) depth = Math.max(0, depth - 1);
    if (depth > 0 && /\s/.test(char)) continue;
    if (depth === 0 && (char === ',' || /\s/.test(char))) {
      if (current !== '') tokens.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  if (current !== '') tokens.push(current);
  const joined: string[] = [];
  for (const token of tokens) {
    const last = joined.length - 1;
    if (!token.includes('=') && last >= 0) joined[last] = `${joined[last] ?? ''},${token}`;
    else joined.push(token);
  }
  return joined;
}

export function importKtiseosPreset(text: string): ImportResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return failure(`The file is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isDict(parsed)) return failure('A Ktiseos-Nyx preset is a JSON object.');
  const notes: string[] = [];
  const unmapped: UnmappedKey[] = [];
  const source: Dict = isDict(parsed.config) ? { ...parsed.config } : Object.fromEntries(Object.entries(parsed).filter(([key]) => !META_KEYS.includes(key)));
  const modelType = toText(parsed.model_type) ?? toText(source.model_type);
  delete source.model_type;
  const training = toText(parsed.training_type);
  if (training !== undefined && training !== 'lora') {
    return { ok: false, format: 'ktiseos', error: { code: 'not-a-lora-run', message: `The preset trains "${training}", not a LoRA; lorasmith imports LoRA runs only.` }, operatorPaths: [], unmapped: [], notes: [] };
  }
  const target = modelType === undefined ? undefined : MODEL_TYPES[modelType];
  if (target === undefined) notes.push(`Unknown model_type ${JSON.stringify(modelType ?? null)}; the family is guessed.`);
  if (target !== undefined && target.script === undefined) notes.push(`${modelType} is recognised but lorasmith cannot train it in this version.`);
  const take = (key: string): unknown => {
    const value = source[key];
    delete source[key];
    return value;
  };

  // Gates, before the falsy rule.
  const gates: Array<[string, string[]]> = [
    ['min_snr_gamma_enabled', ['min_snr_gamma']],
    ['ip_noise_gamma_enabled', ['ip_noise_gamma']],
    ['multinoise', ['multires_noise_iterations', 'multires_noise_discount']],
  ];
  for (const [gate, keys] of gates) {
    const on = toBoolean(take(gate)) === true;
    for (const key of keys) {
      if (!on && source[key] !== undefined) {
        const value = take(key);
        if (value !== 0 && value !== '' && value !== false) unmapped.push({ key, value, reason: `not written: ${gate} is off` });
      }
    }
    if (gate === 'multinoise' && on && toNumber(source.multires_noise_iterations) === undefined) source.multires_noise_iterations = 6;
  }

  const dropped = dropFalsy(source);
  if (dropped.length > 0) notes.push(`Dropped as unset (Ktiseos writes these only when set): ${dropped.sort().join(', ')}.`);

  const args: Dict = {};
  for (const [from, to] of Object.entries(PATH_KEYS)) {
    if (source[from] !== undefined) args[to] = take(from);
  }
  for (const key of ['text_encoder', 'byt5']) {
    if (args[key] !== undefined) {
      unmapped.push({ key, value: args[key], reason: 'model file of a family lorasmith does not train' });
      delete args[key];
    }
  }
  if (args.train_data_dir !== undefined) notes.push('The dataset path is read from the preset; Ktiseos resolves subsets relative to it.');
  const wandbKey = take('wandb_key');
  if (wandbKey !== undefined) unmapped.push({ key: 'wandb_key', value: '<redacted>', reason: 'a secret, passed by Ktiseos as WANDB_API_KEY; not imported' });

  // Network.
  const loraType = toText(take('lora_type')) ?? 'LoRA';
  const networkArgs: string[] = [];
  if (loraType === 'LoRA') {
    args.network_module = target?.family === 'anima' ? 'networks.lora_anima' : 'networks.lora';
  } else if (loraType === 'DoRA') {
    args.network_module = 'lycoris.kohya';
    networkArgs.push('algo=lora', 'weight_decompose=True');
  } else if (LYCORIS_ALGOS[loraType] !== undefined) {
    args.network_module = 'lycoris.kohya';
    networkArgs.push(`algo=${LYCORIS_ALGOS[loraType]}`);
  } else {
    unmapped.push({ key: 'lora_type', value: loraType, reason: 'unknown Ktiseos LoRA type' });
  }
  const presetModule = take('network_module');
  if (presetModule !== undefined) unmapped.push({ key: 'network_module', value: presetModule, reason: 'Ktiseos picks the module from lora_type; the preset’s value is not used' });
  const moved: string[] = [];
  for (const key of NETWORK_KEYS) {
    const value = take(key);
    if (value === undefined) continue;
    networkArgs.push(`${key}=${Array.isArray(value) ? value.join(',') : String(value)}`);
    moved.push(key);
  }
  if (moved.length > 0) notes.push(`Moved into network_args (Ktiseos writes them top-level, where sd-scripts does not read them): ${moved.join(', ')}.`);
  if (networkArgs.length > 0) args.network_args = networkArgs;

  // Optimizer.
  const optimizer = toText(take('optimizer_type'));
  const custom = optimizer !== undefined && CUSTOM_OPTIMIZERS[optimizer] !== undefined;
  if (optimizer !== undefined) {
    if (custom) args.optimizer_type = CUSTOM_OPTIMIZERS[optimizer];
    else if (/ScheduleFree$/.test(optimizer)) {
      args.optimizer_type = optimizer;
      notes.push(`${optimizer}: Ktiseos loads it from schedulefree.${optimizer}; lorasmith uses sd-scripts’ built-in ${optimizer}.`);
    } else args.optimizer_type = optimizer;
  }
  const optArgsText = take('optimizer_args');
  const optArgs = typeof optArgsText === 'string' ? splitKtiseosOptimizerArgs(optArgsText) : Array.isArray(optArgsText) ? optArgsText.map(String) : [];
  const weightDecay = take('weight_decay');
  if (weightDecay !== undefined) {
    if (custom && !optArgs.some((arg) => arg.startsWith('weight_decay='))) optArgs.push(`weight_decay=${String(weightDecay)}`);
    else unmapped.push({ key: 'weight_decay', value: weightDecay, reason: custom ? 'already in optimizer_args' : 'written top-level by Ktiseos, where sd-scripts ignores it; set it in optimizer_args' });
  }
  if (optArgs.length > 0) args.optimizer_args = optArgs;

  // Scheduler.
  const scheduler = toText(take('lr_scheduler'));
  const cycles = toNumber(take('lr_scheduler_number'));
  const gamma = take('lr_scheduler_gamma');
  if (cycles !== undefined) args.lr_scheduler_num_cycles = cycles;
  if (scheduler !== undefined && CUSTOM_SCHEDULERS[scheduler] !== undefined) {
    args.lr_scheduler_type = CUSTOM_SCHEDULERS[scheduler];
    const schedulerArgs: string[] = [];
    if (gamma !== undefined) schedulerArgs.push(`gamma=${String(gamma)}`);
    schedulerArgs.push(`first_cycle_max_steps=S//${cycles ?? 1}`);
    args.lr_scheduler_args = schedulerArgs;
    args.lr_scheduler = 'cosine_with_restarts';
    notes.push(`lr_scheduler "${scheduler}" is a LoraEasyCustomOptimizer class lorasmith does not offer; cosine_with_restarts is imported in its place. first_cycle_max_steps depends on the total step count S.`);
  } else {
    if (scheduler !== undefined) args.lr_scheduler = scheduler;
    if (gamma !== undefined) unmapped.push({ key: 'lr_scheduler_gamma', value: gamma, reason: 'used only by the rex and cosine_annealing schedulers' });
  }
  const power = take('lr_power');
  if (power !== undefined) args.lr_scheduler_power = power;
  const warmupSteps = toNumber(take('lr_warmup_steps'));
  const warmupRatio = toNumber(take('lr_warmup_ratio'));
  if (warmupSteps !== undefined && warmupSteps > 0) args.lr_warmup_steps = warmupSteps;
  else if (warmupRatio !== undefined && warmupRatio > 0) args.lr_warmup_steps = warmupRatio;

  // Attention.
  const attention = toText(take('cross_attention'));
  if (attention === 'sdpa' || attention === 'xformers' || attention === 'mem_eff_attn') args[attention] = true;
  else if (attention !== undefined && attention !== 'none') unmapped.push({ key: 'cross_attention', value: attention, reason: 'expected sdpa, xformers or mem_eff_attn' });

  // Run length: steps if > 0, else epochs.
  const steps = take('max_train_steps');
  const epochs = take('max_train_epochs');
  if (steps !== undefined) args.max_train_steps = steps;
  else if (epochs !== undefined) args.max_train_epochs = epochs;

  // Dataset TOML keys.
  const repeats = take('num_repeats');
  const rawSubsets = take('subsets');
  const subsets = Array.isArray(rawSubsets) ? rawSubsets.filter(isDict) : [];
  if (repeats !== undefined) {
    if (subsets.length > 0) {
      for (const subset of subsets) if (subset.num_repeats === undefined) subset.num_repeats = repeats;
    } else unmapped.push({ key: 'num_repeats', value: repeats, reason: 'no dataset subset in the preset to carry it; set the repeats on the lorasmith dataset’s subsets' });
  }
  if (subsets.length > 0) notes.push('Ktiseos subset image_dir values are relative to the dataset base folder.');
  const persistent = take('persistent_data_loader_workers');
  if (persistent !== undefined) args.persistent_data_loader_workers = toBoolean(persistent) ?? toNumber(persistent) === 1;

  for (const [key, value] of Object.entries(source)) if (args[key] === undefined) args[key] = value;

  return mapSdScriptsArgs({ format: 'ktiseos', args, script: target?.script, family: target?.family, subsets, unmapped, notes });
}

function failure(message: string): ImportResult {
  return { ok: false, format: 'ktiseos', error: { code: 'parse-failed', message }, operatorPaths: [], unmapped: [], notes: [] };
}
