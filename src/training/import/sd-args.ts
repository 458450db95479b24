/**
 * sd-scripts' training arguments (one flat namespace, kohya-sd-scripts.md §1.3) mapped onto lorasmith's kohya run
 * config. Every importer first rebuilds what its tool hands to sd-scripts, then calls `mapSdScriptsArgs`, so the
 * sd-scripts → lorasmith mapping lives here once. Paths become `operatorPaths`; keys lorasmith has no field for
 * become `unmapped` with a reason; defaults where sd-scripts and lorasmith differ are spelt out in `notes`.
 */
import type { KohyaNetworkScript, KohyaRunInput, NetworkModule, NetworkType, OptimizerType, RunFamily } from '../schema/index.ts';
import { NETWORK_MODULES, RUN_SCHEMA_ID, SAMPLE_SAMPLERS, SCHEDULERS, networkModuleFor } from '../schema/index.ts';
import type { Dict } from './values.ts';
import { parseKeyValues, parsePythonLiteral, redact, toBoolean, toInteger, toNumber, toStringList, toText } from './values.ts';
import { parseSamplePrompts } from './sample-prompts.ts';
import type { ImportFormat, ImportResult, MissingInput, OperatorPath, OperatorPathRole, UnmappedKey } from './types.ts';

/** A dataset subset as LETS and Ktiseos write it into their dataset TOML (kohya-sd-scripts.md §2.2 keys). */
export type SubsetArgs = Dict;

export interface SdScriptsInput {
  format: ImportFormat;
  /** The flat sd-scripts namespace (config TOML keys, CLI keys merged in). */
  args: Dict;
  /** The trainer script the tool would launch; undefined when the file does not say (a plain sd-scripts TOML). */
  script?: KohyaNetworkScript;
  /** Overrides the family worked out from the script (Chroma, Anima, an operator's choice). */
  family?: RunFamily;
  /** Dataset-TOML subsets (LETS `[[subsets]]`, Ktiseos `subsets[]`); `name` is kept as the override name. */
  subsets?: SubsetArgs[];
  /** What the tool-specific importer already reported. */
  unmapped?: UnmappedKey[];
  notes?: string[];
}

const OPTIMIZER_TYPES: readonly OptimizerType[] = [
  'AdamW',
  'AdamW8bit',
  'PagedAdamW',
  'PagedAdamW8bit',
  'PagedAdamW32bit',
  'Lion',
  'Lion8bit',
  'PagedLion8bit',
  'SGDNesterov',
  'SGDNesterov8bit',
  'DAdaptation',
  'DAdaptAdaGrad',
  'DAdaptAdam',
  'DAdaptAdan',
  'DAdaptAdanIP',
  'DAdaptLion',
  'DAdaptSGD',
  'Prodigy',
  'AdaFactor',
  'AdamWScheduleFree',
  'RAdamScheduleFree',
  'SGDScheduleFree',
];

type ArgKind = 'number' | 'int' | 'bool' | 'betas';
/** sd-scripts optimizer argument → lorasmith key and type (optimizer.ts). */
const OPTIMIZER_ARG_FIELDS: Readonly<Record<string, readonly [string, ArgKind]>> = {
  weight_decay: ['weightDecay', 'number'],
  betas: ['betas', 'betas'],
  eps: ['eps', 'number'],
  momentum: ['momentum', 'number'],
  decouple: ['decouple', 'bool'],
  use_bias_correction: ['useBiasCorrection', 'bool'],
  safeguard_warmup: ['safeguardWarmup', 'bool'],
  d0: ['d0', 'number'],
  d_coef: ['dCoef', 'number'],
  relative_step: ['relativeStep', 'bool'],
  scale_parameter: ['scaleParameter', 'bool'],
  warmup_init: ['warmupInit', 'bool'],
  warmup_steps: ['warmupSteps', 'int'],
};

/** The optimizer arguments each lorasmith optimizer takes (optimizer.ts). */
function optimizerArgsFor(type: OptimizerType): readonly string[] {
  if (type.startsWith('DAdapt')) return ['weight_decay'];
  if (type === 'Prodigy') return ['weight_decay', 'betas', 'decouple', 'use_bias_correction', 'safeguard_warmup', 'd0', 'd_coef'];
  if (type === 'AdaFactor') return ['relative_step', 'scale_parameter', 'warmup_init'];
  if (type === 'AdamWScheduleFree') return ['weight_decay', 'betas', 'warmup_steps'];
  if (type === 'RAdamScheduleFree') return ['weight_decay', 'betas'];
  if (type === 'SGDScheduleFree') return ['momentum', 'weight_decay', 'warmup_steps'];
  if (type.startsWith('SGD')) return ['momentum', 'weight_decay'];
  if (type.includes('Lion')) return ['weight_decay', 'betas'];
  return ['weight_decay', 'betas', 'eps'];
}

const SCRIPT_FAMILY: Readonly<Record<KohyaNetworkScript, RunFamily>> = {
  'train_network.py': 'sd1',
  'sdxl_train_network.py': 'sdxl',
  'sd3_train_network.py': 'sd3',
  'flux_train_network.py': 'flux1',
  'lumina_train_network.py': 'lumina2',
};

const DEFAULT_RESOLUTION: Readonly<Record<RunFamily, number>> = {
  sd1: 512,
  sd2: 768,
  sdxl: 1024,
  sd3: 1024,
  flux1: 1024,
  chroma: 1024,
  lumina2: 1024,
  'hunyuan-image-2.1': 2048,
  anima: 1024,
};

/** Subset keys a lorasmith subset override holds (kohya name → lorasmith name). */
const SUBSET_OVERRIDE_KEYS: Readonly<Record<string, string>> = {
  num_repeats: 'repeats',
  class_tokens: 'classTokens',
  is_reg: 'isReg',
  shuffle_caption: 'shuffleCaption',
  keep_tokens: 'keepTokens',
};

/** Subset keys that are run-wide in lorasmith: taken from the first subset when the run does not set them. */
const SUBSET_RUN_WIDE_KEYS = new Set([
  'caption_extension',
  'keep_tokens_separator',
  'caption_separator',
  'caption_dropout_rate',
  'caption_dropout_every_n_epochs',
  'caption_tag_dropout_rate',
  'caption_prefix',
  'caption_suffix',
  'flip_aug',
  'color_aug',
  'random_crop',
]);

const SUBSET_NAME = /^[\p{L}\p{N}][\p{L}\p{N}\p{M} ._()-]{0,99}$/u;
const OUTPUT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function basename(path: string): string {
  const parts = path.replace(/[\\/]+$/, '').split(/[\\/]/);
  return parts[parts.length - 1] ?? '';
}

type Writable = Record<string, unknown>;

/** Map one sd-scripts namespace onto a lorasmith run config. */
export function mapSdScriptsArgs(input: SdScriptsInput): ImportResult {
  const args: Dict = { ...input.args };
  const unmapped: UnmappedKey[] = [...(input.unmapped ?? [])];
  const notes: string[] = [...(input.notes ?? [])];
  const operatorPaths: OperatorPath[] = [];
  const missing: MissingInput[] = [];
  const used = new Set<string>();

  const has = (key: string): boolean => args[key] !== undefined && args[key] !== null;
  const take = (key: string): unknown => {
    used.add(key);
    return args[key];
  };
  const reject = (key: string, reason: string, value: unknown = args[key]): void => {
    used.add(key);
    unmapped.push({ key, value: redact(key, value), reason });
  };
  /** A typed reader: an absent key is undefined; a value of the wrong type is rejected with `expected <what>`. */
  const reader =
    <T>(convert: (value: unknown) => T | undefined, what: string) =>
    (key: string): T | undefined => {
      if (!has(key)) return void used.add(key);
      const value = convert(take(key));
      if (value === undefined) reject(key, `expected ${what}`);
      return value;
    };
  const num = reader(toNumber, 'a number');
  const int = reader(toInteger, 'an integer');
  const bool = reader(toBoolean, 'a boolean');
  const text = reader(toText, 'a string');
  const path = (key: string, field: string, role: OperatorPathRole): string | undefined => {
    const value = text(key);
    if (value === undefined || value === '') return undefined;
    operatorPaths.push({ field, path: value, role, source: key });
    return value;
  };
  const set = (target: Writable, key: string, value: unknown): void => {
    if (value !== undefined) target[key] = value;
  };
  /** A config section from `field: reader(key)` pairs: fields whose option is absent stay out, so lorasmith's defaults apply. */
  const section = (fields: Writable): Writable => {
    const out: Writable = {};
    for (const [key, value] of Object.entries(fields)) set(out, key, value);
    return out;
  };

  // --- refused outright: a state folder from another tool cannot be trusted or located inside the studio.
  const resume = text('resume');
  if (resume !== undefined && resume !== '') {
    operatorPaths.push({ field: 'resume', path: resume, role: 'resume', source: 'resume' });
    return {
      ok: false,
      format: input.format,
      error: {
        code: 'resume-refused',
        message: `The config resumes from the training state folder "${resume}", which lives outside the studio; lorasmith only resumes its own runs. Remove \`resume\` and import again, or start a new run (use \`network_weights\` to continue from a LoRA file).`,
      },
      operatorPaths,
      unmapped,
      notes,
    };
  }

  // --- output locations: rewritten into the run's work folder.
  for (const key of ['output_dir', 'logging_dir']) {
    const value = text(key);
    if (value !== undefined && value !== '') notes.push(`${key} "${value}" is not kept: lorasmith writes into the run's work folder.`);
  }

  // --- family
  let family: RunFamily;
  if (input.family !== undefined) {
    family = input.family;
  } else if (input.script !== undefined) {
    family = SCRIPT_FAMILY[input.script];
    if (family === 'sd1' && bool('v2') === true) family = 'sd2';
    if (family === 'flux1' && text('model_type') === 'chroma') family = 'chroma';
  } else {
    family = guessFamily(args);
    notes.push(`The file does not name its trainer script; the model family was guessed as ${family}. Check it before training.`);
  }
  used.add('v2');
  if (has('model_type') && family !== 'chroma' && text('model_type') !== 'flux') reject('model_type', 'only "chroma" (FLUX.1 trainer) is a lorasmith family');
  used.add('model_type');
  if (family === 'sd2' && bool('v2') !== true) notes.push('v2 is implied by the SD 2.x family.');

  const config: Writable = { schema: RUN_SCHEMA_ID, kind: 'kohya', family };

  // --- model
  const base = path('pretrained_model_name_or_path', 'model.base', 'model');
  if (base === undefined) missing.push({ field: 'model.base', role: 'model' });
  const usesAe = family === 'flux1' || family === 'chroma' || family === 'lumina2';
  const vae = path(usesAe ? 'ae' : 'vae', 'model.vae', 'vae');
  if (has(usesAe ? 'vae' : 'ae')) reject(usesAe ? 'vae' : 'ae', usesAe ? 'this family takes its autoencoder as `ae`' : 'only FLUX.1, Chroma and Lumina take `ae`');
  config.model = section({
    base: base ?? '',
    vae,
    clipL: path('clip_l', 'model.clipL', 'text-encoder'),
    clipG: path('clip_g', 'model.clipG', 'text-encoder'),
    t5xxl: path('t5xxl', 'model.t5xxl', 'text-encoder'),
    gemma2: path('gemma2', 'model.gemma2', 'text-encoder'),
    vPrediction: bool('v_parameterization'),
    clipSkip: int('clip_skip'),
    noHalfVae: bool('no_half_vae'),
  });

  // --- datasets
  const datasets: Writable[] = [];
  const datasetConfig = text('dataset_config');
  if (datasetConfig !== undefined && datasetConfig !== '') {
    operatorPaths.push({ field: 'datasets[0].dataset', path: datasetConfig, role: 'dataset-config', source: 'dataset_config' });
    datasets.push({ dataset: datasetConfig });
    notes.push('dataset_config names a dataset TOML: import its folders as lorasmith datasets and name them here.');
    for (const key of ['train_data_dir', 'reg_data_dir', 'in_json']) if (has(key)) reject(key, 'ignored by sd-scripts when dataset_config is given');
  } else {
    const trainDir = path('train_data_dir', 'datasets[0].dataset', 'train-data-dir');
    if (trainDir !== undefined) datasets.push({ dataset: trainDir });
  }
  addSubsets(input.subsets ?? [], datasets, operatorPaths, unmapped, notes, args);
  const regDir = text('reg_data_dir');
  if (regDir !== undefined && regDir !== '' && !used.has('in_json')) {
    if (datasets.length === 0) datasets.push({ dataset: '' });
    const first = datasets[0] as Writable;
    const regs = (first.regularisation as Writable[] | undefined) ?? [];
    operatorPaths.push({ field: `datasets[0].regularisation[${regs.length}].dataset`, path: regDir, role: 'reg-data-dir', source: 'reg_data_dir' });
    regs.push({ dataset: regDir });
    first.regularisation = regs;
  }
  if (datasets.length === 0 || datasets[0]?.dataset === '') missing.push({ field: 'datasets[0].dataset', role: 'train-data-dir' });
  if (has('in_json')) reject('in_json', 'fine-tuning metadata files are not a lorasmith dataset source');
  config.datasets = datasets;

  // --- resolution and buckets
  const resolution = parseResolution(take('resolution'));
  if (resolution === undefined) {
    if (has('resolution')) reject('resolution', 'expected "W,H", "N", N or [W, H]');
    const side = DEFAULT_RESOLUTION[family];
    config.resolution = { width: side, height: side };
    notes.push(`No resolution in the file; ${side}×${side} is the ${family} default.`);
  } else {
    config.resolution = resolution;
  }
  config.buckets = section({
    enabled: bool('enable_bucket') ?? false,
    minReso: int('min_bucket_reso'),
    maxReso: int('max_bucket_reso'),
    stepSize: int('bucket_reso_steps'),
    noUpscale: bool('bucket_no_upscale'),
  });

  set(config, 'batchSize', int('train_batch_size'));
  set(config, 'gradientAccumulationSteps', int('gradient_accumulation_steps'));
  set(config, 'maxGradNorm', num('max_grad_norm'));

  // --- duration: sd-scripts lets max_train_epochs override max_train_steps.
  const epochs = int('max_train_epochs');
  const steps = int('max_train_steps');
  if (epochs !== undefined && epochs > 0) {
    config.duration = { unit: 'epochs', epochs };
    if (steps !== undefined) reject('max_train_steps', 'overridden by max_train_epochs in sd-scripts', steps);
  } else if (steps !== undefined && steps > 0) {
    config.duration = { unit: 'steps', steps };
  } else {
    config.duration = { unit: 'steps', steps: 1600 };
    notes.push('No run length in the file: sd-scripts trains its default 1600 steps.');
  }

  // --- network
  config.network = mapNetwork(family, { has, take, text, num, int, bool, reject, path }, notes, unmapped);

  // --- optimizer and learning rates
  config.optimizer = mapOptimizer({ has, take, text, num, int, bool, reject, path }, notes, unmapped);
  const learningRate: Writable = {};
  set(learningRate, 'base', num('learning_rate') ?? (has('learning_rate') ? undefined : 2e-6));
  if (!has('learning_rate')) notes.push('No learning_rate in the file: sd-scripts’ default 2e-6 is kept.');
  set(learningRate, 'unet', num('unet_lr'));
  if (has('text_encoder_lr')) {
    const raw = take('text_encoder_lr');
    const list = Array.isArray(raw) ? raw : [raw];
    const first = toNumber(list[0]);
    if (first === undefined) reject('text_encoder_lr', 'expected a number or a list of numbers');
    else learningRate.textEncoder = first;
    if (list.length > 1 && list.some((item) => toNumber(item) !== first)) {
      unmapped.push({ key: 'text_encoder_lr', value: raw, reason: 'one text-encoder rate in lorasmith; the first is used' });
    }
  }
  config.learningRate = learningRate;

  // --- scheduler
  const scheduler: Writable = {};
  const schedulerName = text('lr_scheduler');
  if (schedulerName !== undefined) {
    if ((SCHEDULERS as readonly string[]).includes(schedulerName)) scheduler.type = schedulerName;
    else reject('lr_scheduler', `not offered by lorasmith (one of ${SCHEDULERS.join(', ')})`, schedulerName);
  }
  const warmup = num('lr_warmup_steps');
  if (warmup !== undefined && warmup > 0) {
    if (warmup < 1) scheduler.warmupRatio = warmup;
    else if (Number.isInteger(warmup)) scheduler.warmupSteps = warmup;
    else reject('lr_warmup_steps', 'a warm-up of 1 or more must be a whole number of steps', warmup);
  }
  const decay = num('lr_decay_steps');
  if (decay !== undefined && decay > 0) {
    if (Number.isInteger(decay)) scheduler.decaySteps = decay;
    else reject('lr_decay_steps', 'lorasmith takes the decay as a whole number of steps', decay);
  }
  const cycles = int('lr_scheduler_num_cycles');
  if (cycles !== undefined && cycles >= 1) scheduler.cycles = cycles;
  set(scheduler, 'power', num('lr_scheduler_power'));
  set(scheduler, 'minLrRatio', num('lr_scheduler_min_lr_ratio'));
  if (has('lr_scheduler_type')) reject('lr_scheduler_type', 'custom scheduler classes are not offered: lorasmith does not import arbitrary Python classes');
  if (has('lr_scheduler_args')) reject('lr_scheduler_args', 'only the custom schedulers take free-form scheduler arguments in lorasmith’s scheduler set');
  config.scheduler = scheduler;

  // --- precision
  const precision: Writable = {};
  const mixed = text('mixed_precision');
  if (mixed === undefined) {
    precision.mixed = 'no';
    notes.push('No mixed_precision in the file: sd-scripts’ default "no" is kept (lorasmith would start from bf16).');
  } else if (mixed === 'no' || mixed === 'fp16' || mixed === 'bf16') {
    precision.mixed = mixed;
  } else {
    reject('mixed_precision', 'expected no, fp16 or bf16', mixed);
  }
  const fullFp16 = bool('full_fp16');
  const fullBf16 = bool('full_bf16');
  if (fullFp16 === true || fullBf16 === true) {
    precision.fullHalf = true;
    if ((fullFp16 === true && mixed !== 'fp16') || (fullBf16 === true && mixed !== 'bf16')) {
      notes.push('full_fp16/full_bf16 does not match mixed_precision; lorasmith follows mixed_precision.');
    }
  }
  set(precision, 'fp8Base', bool('fp8_base'));
  const save = text('save_precision');
  if (save !== undefined) {
    if (save === 'float' || save === 'fp16' || save === 'bf16') precision.save = save;
    else reject('save_precision', 'expected float, fp16 or bf16', save);
  }
  config.precision = precision;

  // --- memory
  const memory: Writable = {};
  memory.gradientCheckpointing = bool('gradient_checkpointing') ?? false;
  const latents = bool('cache_latents');
  const latentsDisk = bool('cache_latents_to_disk');
  memory.cacheLatents = latentsDisk === true ? 'disk' : latents === true ? 'memory' : 'off';
  const teOutputs = bool('cache_text_encoder_outputs');
  const teOutputsDisk = bool('cache_text_encoder_outputs_to_disk');
  memory.cacheTextEncoderOutputs = teOutputsDisk === true ? 'disk' : teOutputs === true ? 'memory' : 'off';
  const attention = (['sdpa', 'xformers', 'mem_eff_attn'] as const).filter((key) => bool(key) === true);
  memory.attention = attention[0] ?? 'default';
  if (attention.length > 1) notes.push(`Several attention options are on (${attention.join(', ')}); lorasmith keeps ${attention[0]}.`);
  const blocks = int('blocks_to_swap');
  if (blocks !== undefined && blocks > 0) memory.blocksToSwap = blocks;
  set(memory, 'cpuOffloadCheckpointing', bool('cpu_offload_checkpointing'));
  set(memory, 'fusedBackwardPass', bool('fused_backward_pass'));
  const vaeBatch = int('vae_batch_size');
  if (vaeBatch !== undefined && vaeBatch > 0) memory.vaeBatchSize = vaeBatch;
  set(memory, 'dataLoaderWorkers', int('max_data_loader_n_workers'));
  set(memory, 'persistentWorkers', bool('persistent_data_loader_workers'));
  config.memory = memory;

  // --- noise
  config.noise = section({
    offset: num('noise_offset'),
    offsetRandomStrength: bool('noise_offset_random_strength'),
    adaptiveScale: num('adaptive_noise_scale'),
    multiresIterations: int('multires_noise_iterations'),
    multiresDiscount: num('multires_noise_discount'),
    ipNoiseGamma: num('ip_noise_gamma'),
    minSnrGamma: num('min_snr_gamma'),
    debiasedEstimation: bool('debiased_estimation_loss'),
    zeroTerminalSnr: bool('zero_terminal_snr'),
  });

  // --- captions and augmentation
  const captions: Writable = {};
  const extension = text('caption_extension');
  if (extension !== undefined) captions.extension = extension;
  else notes.push('No caption_extension in the file: sd-scripts would read ".caption" files; lorasmith datasets use ".txt".');
  set(captions, 'shuffle', bool('shuffle_caption'));
  set(captions, 'keepTokens', int('keep_tokens'));
  const separatorKeep = text('keep_tokens_separator');
  if (separatorKeep !== undefined && separatorKeep !== '') captions.keepTokensSeparator = separatorKeep;
  const separator = text('caption_separator');
  if (separator !== undefined && separator !== '') captions.separator = separator;
  set(captions, 'dropoutRate', num('caption_dropout_rate'));
  set(captions, 'dropoutEveryNEpochs', int('caption_dropout_every_n_epochs'));
  set(captions, 'tagDropoutRate', num('caption_tag_dropout_rate'));
  set(captions, 'prefix', text('caption_prefix'));
  set(captions, 'suffix', text('caption_suffix'));
  const maxTokens = int('max_token_length');
  if (maxTokens !== undefined) {
    if (maxTokens === 75 || maxTokens === 150 || maxTokens === 225) captions.maxTokenLength = maxTokens;
    else reject('max_token_length', 'expected 75, 150 or 225', maxTokens);
  }
  config.captions = captions;
  config.augmentation = section({ flip: bool('flip_aug'), color: bool('color_aug'), randomCrop: bool('random_crop') });

  // --- flow matching
  const flow = section({
    timestepSampling: text('timestep_sampling'),
    sigmoidScale: num('sigmoid_scale'),
    discreteFlowShift: num('discrete_flow_shift'),
    modelPredictionType: text('model_prediction_type'),
    guidanceScale: num('guidance_scale'),
    weightingScheme: text('weighting_scheme'),
    trainingShift: num('training_shift'),
    applyT5AttnMask: bool('apply_t5_attn_mask'),
  });
  // Chroma requires the mask and lorasmith turns it on when unset; an explicit false is kept for the validator.
  if (family === 'chroma' && flow.applyT5AttnMask === true) delete flow.applyT5AttnMask;
  config.flow = flow;

  // --- sampling
  const sampling: Writable = {};
  const promptFile = text('sample_prompts');
  if (promptFile !== undefined && promptFile !== '') {
    if (input.format === 'kohya-gui' && /\n|--[nwhdsl] /.test(promptFile)) {
      // The GUI keeps the prompt text itself and writes the file at training start (B1).
      const parsed = parseSamplePrompts(promptFile);
      sampling.prompts = parsed.prompts;
      for (const line of parsed.skipped) unmapped.push({ key: 'sample_prompts', value: line, reason: 'prompt option lorasmith does not take' });
    } else {
      operatorPaths.push({ field: 'sampling.prompts', path: promptFile, role: 'sample-prompts', source: 'sample_prompts' });
      notes.push('sample_prompts names a prompt file: copy its prompts into sampling.prompts.');
    }
  }
  const sampleEpochs = int('sample_every_n_epochs');
  if (sampleEpochs !== undefined && sampleEpochs > 0) sampling.everyNEpochs = sampleEpochs;
  const sampleSteps = int('sample_every_n_steps');
  if (sampleSteps !== undefined && sampleSteps > 0) sampling.everyNSteps = sampleSteps;
  set(sampling, 'atFirst', bool('sample_at_first'));
  const sampler = text('sample_sampler');
  if (sampler !== undefined) {
    if ((SAMPLE_SAMPLERS as readonly string[]).includes(sampler)) sampling.sampler = sampler;
    else reject('sample_sampler', 'not a sampler sd-scripts offers', sampler);
  }
  config.sampling = sampling;

  // --- saving
  const saving: Writable = {};
  const format = text('save_model_as');
  if (format !== undefined && format !== 'safetensors') reject('save_model_as', 'lorasmith saves safetensors only', format);
  for (const [key, field] of [
    ['save_every_n_epochs', 'everyNEpochs'],
    ['save_every_n_steps', 'everyNSteps'],
    ['save_last_n_epochs', 'keepLastNEpochs'],
    ['save_last_n_steps', 'keepLastNSteps'],
    ['save_last_n_epochs_state', 'keepLastNEpochsState'],
  ] as const) {
    const value = int(key);
    if (value !== undefined && value > 0) saving[field] = value;
  }
  set(saving, 'saveState', bool('save_state'));
  set(saving, 'saveStateOnTrainEnd', bool('save_state_on_train_end'));
  config.saving = saving;

  // --- seed and name
  const seed = int('seed');
  if (seed !== undefined) config.seed = seed;
  const outputName = text('output_name');
  if (outputName !== undefined && outputName !== '') {
    if (OUTPUT_NAME.test(outputName)) config.name = outputName;
    else reject('output_name', 'a lorasmith LoRA name is letters, digits, ".", "_" and "-" (at most 64)', outputName);
  }

  // --- known keys lorasmith sets itself, then everything else
  for (const key of ['log_with', 'log_prefix', 'log_tracker_name', 'log_tracker_config', 'wandb_api_key', 'wandb_run_name', 'log_config']) {
    if (has(key)) reject(key, 'logging is configured by the studio');
  }
  for (const [key, value] of Object.entries(args)) {
    if (used.has(key) || value === undefined || value === null) continue;
    unmapped.push({ key, value: redact(key, value), reason: 'no lorasmith run-config field for this sd-scripts option' });
  }

  return { ok: true, format: input.format, config: config as KohyaRunInput, operatorPaths, missing, unmapped, notes };
}

interface Readers {
  has(key: string): boolean;
  take(key: string): unknown;
  text(key: string): string | undefined;
  num(key: string): number | undefined;
  int(key: string): number | undefined;
  bool(key: string): boolean | undefined;
  reject(key: string, reason: string, value?: unknown): void;
  path(key: string, field: string, role: OperatorPathRole): string | undefined;
}

function guessFamily(args: Dict): RunFamily {
  if (args.gemma2 !== undefined) return 'lumina2';
  if (args.clip_g !== undefined || args.training_shift !== undefined) return 'sd3';
  if (args.ae !== undefined || args.t5xxl !== undefined || args.guidance_scale !== undefined) return args.model_type === 'chroma' ? 'chroma' : 'flux1';
  if (toBoolean(args.v2) === true) return 'sd2';
  const resolution = parseResolution(args.resolution);
  return resolution !== undefined && Math.max(resolution.width, resolution.height) >= 1024 ? 'sdxl' : 'sd1';
}

export function parseResolution(value: unknown): { width: number; height: number } | undefined {
  let parts: unknown[];
  if (typeof value === 'string') parts = value.split(',');
  else if (Array.isArray(value)) parts = value;
  else if (typeof value === 'number') parts = [value];
  else return undefined;
  const sides = parts.map((part) => toInteger(typeof part === 'string' ? part.trim() : part));
  if (sides.length === 0 || sides.length > 2 || sides.some((side) => side === undefined)) return undefined;
  const width = sides[0] as number;
  return { width, height: sides[1] ?? width };
}

const LYCORIS_TYPES: Readonly<Record<string, NetworkType>> = { loha: 'loha', lokr: 'lokr' };
/** network_args a lorasmith network field holds. */
const NETWORK_ARG_FIELDS: Readonly<Record<string, readonly [string, 'int' | 'number']>> = {
  conv_dim: ['convDim', 'int'],
  conv_alpha: ['convAlpha', 'number'],
  rank_dropout: ['rankDropout', 'number'],
  module_dropout: ['moduleDropout', 'number'],
  factor: ['lokrFactor', 'int'],
};

function mapNetwork(family: RunFamily, read: Readers, notes: string[], unmapped: UnmappedKey[]): Writable {
  const network: Writable = {};
  const module = read.text('network_module');
  const rawArgs = read.has('network_args') ? read.take('network_args') : undefined;
  const list = rawArgs === undefined ? [] : toStringList(rawArgs);
  if (list === undefined) read.reject('network_args', 'expected an array of "k=v" strings');
  const netArgs = new Map(parseKeyValues(list ?? []));

  let type: NetworkType = 'lora';
  if (module === undefined || module === 'networks.lora' || module === 'networks.lora_sd3' || module === 'networks.lora_flux' || module === 'networks.lora_lumina') {
    type = netArgs.has('conv_dim') && module !== 'networks.lora_flux' && module !== 'networks.lora_sd3' && module !== 'networks.lora_lumina' ? 'locon' : 'lora';
  } else if (module === 'lycoris.kohya') {
    const algo = (netArgs.get('algo') ?? 'lora').toLowerCase();
    netArgs.delete('algo');
    const decompose = netArgs.get('weight_decompose') ?? netArgs.get('dora_wd');
    const isDora = decompose !== undefined && toBoolean(decompose) === true;
    netArgs.delete('weight_decompose');
    netArgs.delete('dora_wd');
    if ((algo === 'lora' || algo === 'locon') && isDora) type = 'dora';
    else if (LYCORIS_TYPES[algo] !== undefined) type = LYCORIS_TYPES[algo];
    else if (algo === 'locon') {
      type = 'locon';
      notes.push('LyCORIS "locon" is imported as sd-scripts’ own LoCon (networks.lora with conv_dim), the LoCon lorasmith offers.');
    } else if (algo === 'lora') {
      notes.push('LyCORIS "lora" is imported as sd-scripts’ own LoRA (networks.lora).');
    } else {
      unmapped.push({ key: 'network_args.algo', value: algo, reason: 'LyCORIS algorithm lorasmith does not offer (lora, locon, loha, lokr, dora); a plain LoRA is imported instead' });
    }
    if (isDora && type !== 'dora') unmapped.push({ key: 'network_args.weight_decompose', value: decompose, reason: 'DoRA is offered on lora/locon only' });
    if (type === 'locon' && !netArgs.has('conv_dim')) notes.push('No conv_dim given: LyCORIS defaults it to dim; set network.convDim.');
  } else {
    read.reject('network_module', `lorasmith offers ${NETWORK_MODULES.join(', ')}; a plain LoRA is imported instead`, module);
  }
  network.type = type;
  if (module !== undefined && (NETWORK_MODULES as readonly string[]).includes(module) && family !== 'hunyuan-image-2.1' && family !== 'anima') {
    const expected = networkModuleFor(family, type);
    if (expected === module) network.module = module as NetworkModule;
    else if (module !== 'lycoris.kohya') notes.push(`network_module ${module} is not the one lorasmith uses for ${family}/${type} (${expected}); it is left for lorasmith to pick.`);
  }

  for (const [key, value] of netArgs) {
    const field = NETWORK_ARG_FIELDS[key];
    const parsed = field === undefined ? undefined : field[1] === 'int' ? toInteger(value) : toNumber(value);
    if (field !== undefined && parsed !== undefined) network[field[0]] = parsed;
    else unmapped.push({ key: `network_args.${key}`, value, reason: field === undefined ? 'network argument lorasmith has no field for' : 'expected a number' });
  }

  const dim = read.int('network_dim');
  const alpha = read.num('network_alpha');
  network.dim = dim ?? 4;
  network.alpha = alpha ?? 1;
  if (dim === undefined) notes.push('No network_dim in the file: sd-scripts’ LoRA default 4 is kept.');
  const dropout = read.num('network_dropout');
  if (dropout !== undefined && dropout > 0) network.dropout = dropout;
  const unetOnly = read.bool('network_train_unet_only');
  const teOnly = read.bool('network_train_text_encoder_only');
  network.trainTextEncoders = unetOnly !== true;
  if (teOnly === true) read.reject('network_train_text_encoder_only', 'lorasmith always trains the U-Net/transformer adapters; the text encoders are trained alongside', true);
  const weights = read.path('network_weights', 'network.initialWeights', 'network-weights');
  if (weights !== undefined) network.initialWeights = weights;
  const fromWeights = read.bool('dim_from_weights');
  if (fromWeights !== undefined) network.dimFromWeights = fromWeights;
  const norms = read.num('scale_weight_norms');
  if (norms !== undefined && norms > 0) network.scaleWeightNorms = norms;
  return network;
}

function mapOptimizer(read: Readers, notes: string[], unmapped: UnmappedKey[]): Writable {
  const raw = read.text('optimizer_type');
  const legacy8bit = read.bool('use_8bit_adam');
  let type: OptimizerType | undefined;
  if (raw === undefined || raw === '') {
    type = legacy8bit === true ? 'AdamW8bit' : 'AdamW';
    if (legacy8bit === undefined) notes.push('No optimizer_type in the file: sd-scripts’ default AdamW is kept.');
  } else {
    type = OPTIMIZER_TYPES.find((name) => name.toLowerCase() === raw.toLowerCase());
    if (type === undefined) {
      read.reject('optimizer_type', 'lorasmith offers sd-scripts’ built-in optimizers only, not arbitrary Python classes; AdamW8bit is imported instead', raw);
      if (read.has('optimizer_args')) read.reject('optimizer_args', `arguments of ${raw}, which is not imported`);
      notes.push(`Optimizer ${raw} is not offered; the imported run uses AdamW8bit. Pick an optimizer before training.`);
      return { type: 'AdamW8bit' };
    }
  }
  const args: Writable = {};
  const allowed = optimizerArgsFor(type);
  const rawArgs = read.has('optimizer_args') ? read.take('optimizer_args') : undefined;
  const list = rawArgs === undefined ? [] : toStringList(rawArgs);
  if (list === undefined) read.reject('optimizer_args', 'expected an array of "k=v" strings');
  for (const [key, value] of parseKeyValues(list ?? [])) {
    const field = OPTIMIZER_ARG_FIELDS[key];
    if (field === undefined || !allowed.includes(key)) {
      unmapped.push({ key: `optimizer_args.${key}`, value, reason: `not an argument lorasmith offers for ${type}` });
      continue;
    }
    const literal = parsePythonLiteral(value);
    const parsed = convertArg(literal, field[1]);
    if (parsed === undefined) unmapped.push({ key: `optimizer_args.${key}`, value, reason: `expected ${field[1] === 'betas' ? 'two numbers' : `a ${field[1]}`}` });
    else args[field[0]] = parsed;
  }
  if (type === 'AdaFactor') {
    // transformers' Adafactor defaults relative_step and scale_parameter to True; lorasmith's defaults are off.
    if (args.relativeStep === undefined) args.relativeStep = true;
    if (args.scaleParameter === undefined) args.scaleParameter = true;
    notes.push('AdaFactor without relative_step/scale_parameter keeps transformers’ defaults (both on).');
  }
  return { type, args };
}

function convertArg(value: unknown, kind: ArgKind): unknown {
  if (kind === 'bool') return typeof value === 'boolean' ? value : undefined;
  if (kind === 'number') return typeof value === 'number' ? value : undefined;
  if (kind === 'int') return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
  return Array.isArray(value) && value.length === 2 && value.every((item) => typeof item === 'number') ? value : undefined;
}

function addSubsets(subsets: readonly SubsetArgs[], datasets: Writable[], operatorPaths: OperatorPath[], unmapped: UnmappedKey[], notes: string[], args: Dict): void {
  subsets.forEach((subset, index) => {
    const imageDir = toText(subset.image_dir);
    if (imageDir === undefined || imageDir === '') {
      unmapped.push({ key: `subsets[${index}]`, value: subset, reason: 'a subset without image_dir cannot be imported' });
      return;
    }
    const isReg = toBoolean(subset.is_reg) === true;
    const named = toText(subset.name);
    const name = named !== undefined && SUBSET_NAME.test(named) ? named : basename(imageDir);
    const override: Writable = { name };
    for (const [key, value] of Object.entries(subset)) {
      if (key === 'image_dir' || key === 'name' || key === 'is_reg') continue;
      const field = SUBSET_OVERRIDE_KEYS[key];
      if (field !== undefined && !isReg) {
        const parsed = key === 'class_tokens' ? toText(value) : key === 'shuffle_caption' ? toBoolean(value) : toInteger(value);
        if (parsed !== undefined) override[field] = parsed;
        else unmapped.push({ key: `subsets[${index}].${key}`, value, reason: 'unexpected type' });
      } else if (SUBSET_RUN_WIDE_KEYS.has(key)) {
        if (args[key] === undefined) args[key] = value;
        else if (args[key] !== value) unmapped.push({ key: `subsets[${index}].${key}`, value, reason: 'per-subset value differs from the run-wide one; lorasmith sets it per run' });
      } else {
        unmapped.push({ key: `subsets[${index}].${key}`, value, reason: isReg ? 'a regularisation dataset takes no per-subset settings here' : 'subset option lorasmith has no field for' });
      }
    }
    if (isReg) {
      if (datasets.length === 0) datasets.push({ dataset: '' });
      const first = datasets[0] as Writable;
      const regs = (first.regularisation as Writable[] | undefined) ?? [];
      operatorPaths.push({ field: `datasets[0].regularisation[${regs.length}].dataset`, path: imageDir, role: 'reg-data-dir', source: `subsets[${index}].image_dir` });
      regs.push({ dataset: imageDir });
      first.regularisation = regs;
      return;
    }
    const slot = datasets.findIndex((entry) => entry.dataset === '');
    const at = slot >= 0 ? slot : datasets.length;
    const entry: Writable = slot >= 0 ? (datasets[slot] as Writable) : { dataset: imageDir };
    if (slot < 0) datasets.push(entry);
    entry.dataset = imageDir;
    operatorPaths.push({ field: `datasets[${at}].dataset`, path: imageDir, role: 'train-data-dir', source: `subsets[${index}].image_dir` });
    if (Object.keys(override).length > 1) {
      entry.subsets = [override];
      notes.push(`Subset ${index} (${imageDir}) becomes dataset ${at}; its settings are kept as an override of subset "${name}" — rename it to the subset the imported dataset has.`);
    }
  });
}
