/**
 * lorasmith's kohya run config (src/training/schema/kohya-run.ts) → the kohya adapter's own input
 * (`KohyaRunInput`): sd-scripts option names for the family's trainer script, `network_args` /
 * `optimizer_args` as `k=v` lists, the dataset TOML's `[general]` / `[[datasets]]` / subsets, and the sample
 * prompts. Library ids and dataset names are already resolved to absolute paths (`ResolvedRunInputs`, built by
 * src/training/resolve-run.ts from the workspace), so this is a pure function and testable without one.
 *
 * Each schema field's description names the option it becomes (kohya-sd-scripts.md §3); the mapping below
 * follows them. An option the chosen script does not have (kohya-args.json) is never written: the validator
 * reports the field as unused for the family, and `mapKohyaRunDetailed` lists what was left out.
 */
import path from 'node:path';
import { LorasmithError } from '../../../core/errors.ts';
import { type KohyaFamily, type KohyaRunConfig, type OptimizerConfig, isKohyaFamily, networkModuleFor, trainerScriptFor, componentNeed } from '../../schema/index.ts';
import { kohyaArg } from './kohya-args.ts';
import type { KohyaArgValue, KohyaDatasetInput, KohyaDatasetOptions, KohyaRunInput, KohyaSamplePrompt, KohyaSubsetInput } from './types.ts';
import { toKeyValueArgs } from './write-config-toml.ts';

/** Absolute paths of the model files a run names, by the schema field that names them. */
export interface ResolvedRunModels {
  base: string;
  vae?: string;
  clipL?: string;
  clipG?: string;
  t5xxl?: string;
  gemma2?: string;
  /** `network.initialWeights`: the LoRA to continue from. */
  initialWeights?: string;
}

/** One subset as this run trains it: the dataset's metadata with the run's overrides applied. */
export interface ResolvedRunSubset {
  /** The subset's folder name inside its dataset (also the name of its per-run link folder). */
  name: string;
  /** Absolute folder holding the subset's images and captions. */
  dir: string;
  repeats: number;
  /** Caption for images without a caption file; empty for none. */
  classTokens: string;
  isReg: boolean;
  /** With the dot, e.g. `.txt`. */
  captionExtension: string;
  /** Per-subset overrides of the run-wide caption settings. */
  shuffleCaption?: boolean;
  keepTokens?: number;
  /** Image file names inside `dir`. */
  files: string[];
}

export interface ResolvedRunDatasetGroup {
  /** The lorasmith dataset name. */
  name: string;
  /** Absolute dataset folder. */
  dir: string;
  /** Included subsets only. */
  subsets: ResolvedRunSubset[];
}

/** One `datasets[]` entry of the run: the training dataset and its regularisation datasets (all `isReg`). */
export interface ResolvedRunDataset extends ResolvedRunDatasetGroup {
  regularisation: ResolvedRunDatasetGroup[];
}

export interface ResolvedRunInputs {
  models: ResolvedRunModels;
  /** Same order as `config.datasets`. */
  datasets: ResolvedRunDataset[];
  /** `--output_name` when the config has no `name` (e.g. the job id). */
  outputName?: string;
  /** `--seed` when the config has none (the job draws one and records it). */
  seed?: number;
}

export interface MapKohyaRunParams {
  config: KohyaRunConfig;
  resolved: ResolvedRunInputs;
}

/** A config field whose option the family's script does not have, so it was not written. */
export interface SkippedOption {
  option: string;
  reason: string;
}

export interface MappedKohyaRun {
  input: KohyaRunInput;
  skipped: SkippedOption[];
}

function mapError(message: string, hint: string): LorasmithError {
  return new LorasmithError({ code: 'run-map-invalid', message, hint, exitCode: 2, status: 400 });
}

/** `optimizer_args` from the typed optimizer arguments (Python literals, kohya-sd-scripts.md §1.3). */
export function optimizerArgsOf(optimizer: OptimizerConfig): string[] {
  const record: Record<string, string | number | boolean | number[]> = {};
  const args: Record<string, unknown> = optimizer.args;
  const names: ReadonlyArray<readonly [string, string]> = [
    ['weightDecay', 'weight_decay'],
    ['betas', 'betas'],
    ['eps', 'eps'],
    ['momentum', 'momentum'],
    ['decouple', 'decouple'],
    ['useBiasCorrection', 'use_bias_correction'],
    ['safeguardWarmup', 'safeguard_warmup'],
    ['d0', 'd0'],
    ['dCoef', 'd_coef'],
    ['relativeStep', 'relative_step'],
    ['scaleParameter', 'scale_parameter'],
    ['warmupInit', 'warmup_init'],
    ['warmupSteps', 'warmup_steps'],
  ];
  for (const [field, option] of names) {
    const value = args[field];
    if (typeof value === 'number' || typeof value === 'boolean') record[option] = value;
    else if (Array.isArray(value) && value.every((item) => typeof item === 'number')) record[option] = value;
  }
  return toKeyValueArgs(record, 'python-literal');
}

/** `network_args` for the network type (sd-scripts' `networks.lora*` or LyCORIS `lycoris.kohya`, §3.2). */
export function networkArgsOf(config: KohyaRunConfig, family: KohyaFamily): string[] {
  const { type, convDim, convAlpha, rankDropout, moduleDropout, lokrFactor } = config.network;
  const record: Record<string, string | number | boolean> = {};
  if (type === 'loha' || type === 'lokr' || type === 'dora') {
    record.algo = type === 'dora' ? 'lora' : type;
    if (type === 'dora') record.dora_wd = 'True';
    if (type === 'lokr' && lokrFactor !== undefined) record.factor = lokrFactor;
  }
  // A plain lora of networks.lora would still train convolutions with conv_dim; the schema says it does not.
  const trainsConv = type !== 'lora' && (family === 'sd1' || family === 'sd2' || family === 'sdxl');
  if (trainsConv && convDim !== undefined) record.conv_dim = convDim;
  if (trainsConv && convAlpha !== undefined) record.conv_alpha = convAlpha;
  if (rankDropout !== undefined) record.rank_dropout = rankDropout;
  if (moduleDropout !== undefined) record.module_dropout = moduleDropout;
  return toKeyValueArgs(record, 'string');
}

function samplePromptsOf(config: KohyaRunConfig): KohyaSamplePrompt[] {
  return config.sampling.prompts.map((prompt) => ({
    prompt: prompt.prompt,
    ...(prompt.negative === undefined || prompt.negative === '' ? {} : { negative_prompt: prompt.negative }),
    ...(prompt.width === undefined ? {} : { width: prompt.width }),
    ...(prompt.height === undefined ? {} : { height: prompt.height }),
    ...(prompt.seed === undefined ? {} : { seed: prompt.seed }),
    ...(prompt.steps === undefined ? {} : { sample_steps: prompt.steps }),
    ...(prompt.cfgScale === undefined ? {} : { scale: prompt.cfgScale }),
    ...(prompt.guidance === undefined ? {} : { guidance_scale: prompt.guidance }),
  }));
}

function isPlainName(name: string): boolean {
  return name.length > 0 && !name.includes('/') && !name.startsWith('.') && name !== '..';
}

function subsetInput(subset: ResolvedRunSubset, name: string, forceReg: boolean): KohyaSubsetInput {
  if (!path.isAbsolute(subset.dir)) throw mapError(`The folder of subset ${JSON.stringify(subset.name)} is not an absolute path.`, 'Resolve datasets through the workspace.');
  return {
    name,
    source_dir: subset.dir,
    files: [...subset.files],
    num_repeats: subset.repeats,
    ...(subset.classTokens === '' ? {} : { class_tokens: subset.classTokens }),
    caption_extension: subset.captionExtension,
    ...(subset.shuffleCaption === undefined ? {} : { shuffle_caption: subset.shuffleCaption }),
    ...(subset.keepTokens === undefined ? {} : { keep_tokens: subset.keepTokens }),
    ...(forceReg || subset.isReg ? { is_reg: true } : {}),
  };
}

/** One `[[datasets]]`: the training subsets, then each regularisation dataset's subsets (is_reg), names unique. */
function datasetInput(dataset: ResolvedRunDataset, index: number): KohyaDatasetInput {
  const used = new Set<string>();
  const unique = (wanted: string): string => {
    let name = wanted;
    for (let n = 2; used.has(name); n += 1) name = `${wanted}-${n}`;
    used.add(name);
    return name;
  };
  const subsets: KohyaSubsetInput[] = [];
  for (const subset of dataset.subsets) {
    if (!isPlainName(subset.name)) throw mapError(`Subset name ${JSON.stringify(subset.name)} of dataset ${dataset.name} is not a plain folder name.`, 'Rename the subset folder.');
    subsets.push(subsetInput(subset, unique(subset.name), false));
  }
  for (const reg of dataset.regularisation) {
    for (const subset of reg.subsets) subsets.push(subsetInput(subset, unique(`reg-${reg.name}-${subset.name}`), true));
  }
  if (subsets.length === 0) {
    throw mapError(`Dataset ${index + 1} (${dataset.name}) has no subset left to train on.`, 'Include at least one subset with images.');
  }
  return { subsets };
}

/** `[general]`: resolution, buckets, captions and augmentation, inherited by every dataset and subset. */
function generalOf(config: KohyaRunConfig): KohyaDatasetOptions {
  const { resolution, buckets, captions, augmentation } = config;
  const general: KohyaDatasetOptions = {
    resolution: resolution.width === resolution.height ? resolution.width : [resolution.width, resolution.height],
    enable_bucket: buckets.enabled,
    caption_extension: captions.extension,
    shuffle_caption: captions.shuffle,
    keep_tokens: captions.keepTokens,
    caption_separator: captions.separator,
    caption_dropout_rate: captions.dropoutRate,
    caption_dropout_every_n_epochs: captions.dropoutEveryNEpochs,
    caption_tag_dropout_rate: captions.tagDropoutRate,
    flip_aug: augmentation.flip,
    color_aug: augmentation.color,
    random_crop: augmentation.randomCrop,
  };
  if (buckets.enabled) {
    general.min_bucket_reso = buckets.minReso;
    general.max_bucket_reso = buckets.maxReso;
    general.bucket_reso_steps = buckets.stepSize;
    general.bucket_no_upscale = buckets.noUpscale;
  }
  if (captions.keepTokensSeparator !== undefined) general.keep_tokens_separator = captions.keepTokensSeparator;
  if (captions.prefix !== undefined && captions.prefix !== '') general.caption_prefix = captions.prefix;
  if (captions.suffix !== undefined && captions.suffix !== '') general.caption_suffix = captions.suffix;
  return general;
}

/** Every run-config field as sd-scripts options of `script`, plus what the script lacks. */
function trainingArgs(config: KohyaRunConfig, family: KohyaFamily, resolved: ResolvedRunInputs): { args: Record<string, KohyaArgValue>; skipped: SkippedOption[] } {
  const script = trainerScriptFor(family);
  const args: Record<string, KohyaArgValue> = {};
  const skipped: SkippedOption[] = [];
  const put = (option: string, value: KohyaArgValue | undefined): void => {
    if (value === undefined) return;
    if (kohyaArg(script, option) === undefined) {
      skipped.push({ option, reason: `${script} has no --${option}` });
      return;
    }
    args[option] = value;
  };
  const flag = (option: string, on: boolean): void => {
    if (on) put(option, true);
  };
  const { model, network, learningRate, scheduler, precision, memory, noise, captions, flow, sampling, saving, optimizer } = config;
  const { models } = resolved;

  // Model (§3.1). FLUX.1, Chroma and Lumina read their autoencoder from --ae, the others a replacement VAE from --vae.
  put('pretrained_model_name_or_path', models.base);
  if (models.vae !== undefined) put(family === 'flux1' || family === 'chroma' || family === 'lumina2' ? 'ae' : 'vae', models.vae);
  const components: ReadonlyArray<readonly ['clipL' | 'clipG' | 't5xxl' | 'gemma2', string]> = [
    ['clipL', 'clip_l'],
    ['clipG', 'clip_g'],
    ['t5xxl', 't5xxl'],
    ['gemma2', 'gemma2'],
  ];
  for (const [component, option] of components) {
    const file = models[component];
    if (file === undefined) continue;
    const need = componentNeed(family, component);
    if (need === undefined || need === 'ignored') skipped.push({ option, reason: `${family} does not use --${option}` });
    else put(option, file);
  }
  flag('v2', family === 'sd2');
  flag('v_parameterization', model.vPrediction && (family === 'sd1' || family === 'sd2' || family === 'sdxl'));
  if (family === 'sd1' || family === 'sd2') put('clip_skip', model.clipSkip);
  else if (model.clipSkip !== undefined) skipped.push({ option: 'clip_skip', reason: `${family} does not use --clip_skip` });
  flag('no_half_vae', model.noHalfVae);
  if (family === 'chroma') put('model_type', 'chroma');

  // Network (§3.2).
  put('network_module', network.module ?? networkModuleFor(family, network.type));
  put('network_dim', network.dim);
  put('network_alpha', network.alpha);
  put('network_dropout', network.dropout);
  const networkArgs = networkArgsOf(config, family);
  if (networkArgs.length > 0) put('network_args', networkArgs);
  flag('network_train_unet_only', !network.trainTextEncoders);
  put('network_weights', models.initialWeights);
  flag('dim_from_weights', network.dimFromWeights && models.initialWeights !== undefined);
  put('scale_weight_norms', network.scaleWeightNorms);

  // Optimisation (§3.3).
  put('optimizer_type', optimizer.type);
  const optimizerArgs = optimizerArgsOf(optimizer);
  if (optimizerArgs.length > 0) put('optimizer_args', optimizerArgs);
  put('learning_rate', learningRate.base);
  put('unet_lr', learningRate.unet);
  if (network.trainTextEncoders && learningRate.textEncoder !== undefined) put('text_encoder_lr', [learningRate.textEncoder]);
  put('lr_scheduler', scheduler.type);
  if (scheduler.warmupRatio !== undefined) put('lr_warmup_steps', scheduler.warmupRatio);
  else if (scheduler.warmupSteps > 0) put('lr_warmup_steps', scheduler.warmupSteps);
  if (scheduler.type === 'warmup_stable_decay') put('lr_decay_steps', scheduler.decaySteps);
  if (scheduler.type === 'cosine_with_restarts') put('lr_scheduler_num_cycles', scheduler.cycles);
  if (scheduler.type === 'polynomial') put('lr_scheduler_power', scheduler.power);
  if (scheduler.type === 'cosine_with_min_lr' || scheduler.type === 'cosine_warmup_with_min_lr' || scheduler.type === 'warmup_stable_decay') {
    put('lr_scheduler_min_lr_ratio', scheduler.minLrRatio);
  }
  if (config.duration.unit === 'epochs') put('max_train_epochs', config.duration.epochs);
  else put('max_train_steps', config.duration.steps);
  put('train_batch_size', config.batchSize);
  put('gradient_accumulation_steps', config.gradientAccumulationSteps);
  put('max_grad_norm', config.maxGradNorm);

  // Precision.
  put('mixed_precision', precision.mixed);
  flag(precision.mixed === 'bf16' ? 'full_bf16' : 'full_fp16', precision.fullHalf && precision.mixed !== 'no');
  flag('fp8_base', precision.fp8Base);
  put('save_precision', precision.save);

  // Memory and caching.
  flag('gradient_checkpointing', memory.gradientCheckpointing);
  flag('cache_latents', memory.cacheLatents !== 'off');
  flag('cache_latents_to_disk', memory.cacheLatents === 'disk');
  if (memory.cacheTextEncoderOutputs !== 'off') {
    flag('cache_text_encoder_outputs', true);
    flag('cache_text_encoder_outputs_to_disk', memory.cacheTextEncoderOutputs === 'disk');
  }
  if (memory.attention !== 'default') flag(memory.attention, true);
  put('blocks_to_swap', memory.blocksToSwap);
  flag('cpu_offload_checkpointing', memory.cpuOffloadCheckpointing);
  flag('fused_backward_pass', memory.fusedBackwardPass);
  put('vae_batch_size', memory.vaeBatchSize);
  put('max_data_loader_n_workers', memory.dataLoaderWorkers);
  flag('persistent_data_loader_workers', memory.persistentWorkers);

  // Noise and loss weighting.
  put('noise_offset', noise.offset);
  flag('noise_offset_random_strength', noise.offsetRandomStrength);
  put('adaptive_noise_scale', noise.adaptiveScale);
  if (noise.multiresIterations !== undefined) {
    put('multires_noise_iterations', noise.multiresIterations);
    put('multires_noise_discount', noise.multiresDiscount);
  }
  put('ip_noise_gamma', noise.ipNoiseGamma);
  put('min_snr_gamma', noise.minSnrGamma);
  flag('debiased_estimation_loss', noise.debiasedEstimation);
  flag('zero_terminal_snr', noise.zeroTerminalSnr);

  // Captions: 75 is CLIP's own limit and sd-scripts' default (its choices are None, 150, 225).
  if (captions.maxTokenLength !== 75) put('max_token_length', captions.maxTokenLength);

  // Flow matching (DiT families); the validator reports fields the family's script lacks.
  put('timestep_sampling', flow.timestepSampling);
  put('sigmoid_scale', flow.sigmoidScale);
  put('discrete_flow_shift', flow.discreteFlowShift);
  put('model_prediction_type', flow.modelPredictionType);
  put('guidance_scale', flow.guidanceScale);
  put('weighting_scheme', flow.weightingScheme);
  put('training_shift', flow.trainingShift);
  const t5Mask = flow.applyT5AttnMask ?? (family === 'chroma' ? true : undefined);
  if (t5Mask === true) put('apply_t5_attn_mask', true);

  // Sampling (§3.6): the prompts go to the adapter's prompt file, the cadence only when there are prompts.
  if (sampling.prompts.length > 0) {
    put('sample_every_n_epochs', sampling.everyNEpochs);
    put('sample_every_n_steps', sampling.everyNSteps);
    flag('sample_at_first', sampling.atFirst);
    put('sample_sampler', sampling.sampler);
  }

  // Saving (§3.4).
  const outputName = config.name ?? resolved.outputName;
  put('output_name', outputName);
  put('save_model_as', saving.format);
  put('save_every_n_epochs', saving.everyNEpochs);
  put('save_every_n_steps', saving.everyNSteps);
  put('save_last_n_epochs', saving.keepLastNEpochs);
  put('save_last_n_steps', saving.keepLastNSteps);
  flag('save_state', saving.saveState);
  flag('save_state_on_train_end', saving.saveStateOnTrainEnd);
  put('save_last_n_epochs_state', saving.keepLastNEpochsState);

  put('seed', config.seed ?? resolved.seed);
  return { args, skipped };
}

/** The kohya adapter's input for a run, and the options left out because the family's script lacks them. */
export function mapKohyaRunDetailed(params: MapKohyaRunParams): MappedKohyaRun {
  const { config, resolved } = params;
  const family = config.family;
  if (!isKohyaFamily(family)) {
    throw new LorasmithError({
      code: 'family-not-trainable',
      message: `lorasmith cannot train a LoRA for the ${family} family with kohya sd-scripts.`,
      hint: 'Pick one of sd1, sd2, sdxl, sd3, flux1, chroma, lumina2.',
      exitCode: 2,
      status: 400,
    });
  }
  if (resolved.datasets.length !== config.datasets.length) {
    throw mapError(`The run names ${config.datasets.length} datasets but ${resolved.datasets.length} were resolved.`, 'Resolve every dataset of the run.');
  }
  const { args, skipped } = trainingArgs(config, family, resolved);
  const samplePrompts = samplePromptsOf(config);
  const input: KohyaRunInput = {
    script: trainerScriptFor(family),
    args,
    general: generalOf(config),
    datasets: resolved.datasets.map(datasetInput),
    ...(samplePrompts.length > 0 ? { samplePrompts } : {}),
  };
  return { input, skipped };
}

/** The kohya adapter's input for a run: `mapKohyaRunDetailed(...).input`. */
export function mapKohyaRun(params: MapKohyaRunParams): KohyaRunInput {
  return mapKohyaRunDetailed(params).input;
}
