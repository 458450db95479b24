/**
 * The `--config` YAML of a FluxFlow run in pipeline mode (fluxflow.md §1.2), from lorasmith's sub-schema:
 * every value typed as FluxFlow's code uses it (ints as ints, floats with a dot), every setting pipeline mode
 * reads written explicitly (CLI defaults differ from FluxFlow UI's, §5.5), the top-level `data:` section always
 * present (§1.1), and nothing pipeline mode ignores (per-step batch size, `cfg_dropout_prob`, …) nor anything
 * that needs the network (`use_lpips`, WebDataset) ever written.
 */
import type { FluxflowRunConfig, FluxflowStep } from '../../schema/index.ts';
import { dumpPyYaml, type PyMapping, type PyValue } from './pyyaml.ts';
import type { FluxflowResolvedRun } from './resolve-run.ts';

export interface PipelineYamlPaths {
  /** `output.output_path` (absolute, in `work/`). */
  outputDir: string;
  /** Dataset name → its captions file (absolute, in the run folder). */
  captionsFiles: Readonly<Record<string, string>>;
  /** `model_checkpoint`: a fine-tune's library file, or the resumed copy in `outputDir`; null starts from random weights. */
  modelCheckpoint: string | null;
  /** `pretrained_bert_model`: the DistilBERT folder in the engine cache; null leaves the text encoder random. */
  bertDir: string | null;
}

const int = (value: number): bigint => BigInt(value);

/** Our component names → FluxFlow's optimiser/scheduler keys. */
const COMPONENTS = { flow: 'flow', vae: 'vae', textEncoder: 'text_encoder', discriminator: 'discriminator' } as const;

/** camelCase key of ours → [FluxFlow key, int?]. Everything else in an optimiser or scheduler is a float, a string or a bool. */
const SNAKE: Readonly<Record<string, readonly [string, boolean]>> = {
  weightDecay: ['weight_decay', false],
  decoupledWeightDecay: ['decoupled_weight_decay', false],
  etaMinFactor: ['eta_min_factor', false],
  startFactor: ['start_factor', false],
  endFactor: ['end_factor', false],
  totalIters: ['total_iters', true],
  stepSize: ['step_size', true],
  patience: ['patience', true],
};

function settings(values: Readonly<Record<string, unknown>>): PyMapping {
  const out: PyMapping = {};
  for (const [key, item] of Object.entries(values)) {
    if (item === undefined) continue;
    const [name, isInt] = SNAKE[key] ?? [key, false];
    if (typeof item === 'number') out[name] = isInt ? int(item) : item;
    else if (Array.isArray(item)) out[name] = item.map((entry) => entry as number);
    else out[name] = item as string | boolean;
  }
  return out;
}

function perComponent(values: Readonly<Record<string, Readonly<Record<string, unknown>> | undefined>>): PyMapping {
  const out: PyMapping = {};
  for (const [ours, theirs] of Object.entries(COMPONENTS)) {
    const value = values[ours];
    if (value !== undefined) out[theirs] = settings(value);
  }
  return out;
}

function stepDocument(step: FluxflowStep, mainDataset: string): PyMapping {
  const doc: PyMapping = { name: step.name };
  if (step.description !== undefined) doc.description = step.description;
  doc.n_epochs = int(step.nEpochs);
  if (step.maxSteps !== undefined) doc.max_steps = int(step.maxSteps);
  if (step.dataset !== undefined && step.dataset !== mainDataset) doc.dataset = step.dataset;
  Object.assign(doc, {
    train_vae: step.trainVae,
    gan_training: step.ganTraining,
    train_spade: step.trainSpade,
    train_diff: step.trainDiff,
    train_diff_full: step.trainDiffFull,
    use_ema: step.useEma,
    kl_beta: step.klBeta,
    kl_warmup_steps: int(step.klWarmupSteps),
    kl_free_bits: step.klFreeBits,
    lambda_adv: step.lambdaAdv,
    mse_weight: step.mseWeight,
    r1_interval: int(step.r1Interval),
    r1_gamma: step.r1Gamma,
    instance_noise_std: step.instanceNoiseStd,
    instance_noise_decay: step.instanceNoiseDecay,
    adaptive_weights: step.adaptiveWeights,
    freeze: [...step.freeze],
    unfreeze: [...step.unfreeze],
  } satisfies PyMapping);
  const optimizers = perComponent(step.optimizers);
  const schedulers = perComponent(step.schedulers);
  // FluxFlow reads a step's lr only when the step lists no optimisers (§1.2).
  if (step.lr !== undefined && Object.keys(optimizers).length === 0) doc.lr = step.lr;
  if (Object.keys(optimizers).length > 0 || Object.keys(schedulers).length > 0) {
    const optimization: PyMapping = {};
    if (Object.keys(optimizers).length > 0) optimization.optimizers = optimizers;
    if (Object.keys(schedulers).length > 0) optimization.schedulers = schedulers;
    doc.optimization = optimization;
  }
  const { transition } = step;
  doc.transition_on =
    transition.mode === 'epoch' ? { mode: 'epoch' } : { mode: 'loss_threshold', metric: transition.metric, threshold: transition.threshold, max_epochs: int(transition.maxEpochs) };
  return doc;
}

function sampleSize(size: { width: number; height: number }): PyValue {
  return size.width === size.height ? int(size.width) : [int(size.width), int(size.height)];
}

/** The document as PyYAML will load it (ints as bigint, floats as number). */
export function pipelineDocument(input: FluxflowResolvedRun, paths: PipelineYamlPaths): PyMapping {
  const config: FluxflowRunConfig = input.config;
  const main = input.datasets[0];
  if (main === undefined) throw new Error('a FluxFlow run has a dataset');
  const captionsOf = (name: string): string => {
    const file = paths.captionsFiles[name];
    if (file === undefined) throw new Error(`no captions file for dataset ${name}`);
    return file;
  };

  const doc: PyMapping = {};
  if (paths.modelCheckpoint !== null) doc.model_checkpoint = paths.modelCheckpoint;
  doc.model = {
    vae_dim: int(config.model.vaeDim),
    feature_maps_dim: int(config.model.featureMapsDim),
    feature_maps_dim_disc: int(config.model.featureMapsDimDisc),
    text_embedding_dim: int(config.model.textEmbeddingDim),
    use_gradient_checkpointing: config.model.useGradientCheckpointing,
    pretrained_bert_model: paths.bertDir,
  };
  const data: PyMapping = { data_path: main.dir, captions_file: captionsOf(main.name) };
  if (config.data.fixedPromptPrefix !== undefined) data.fixed_prompt_prefix = config.data.fixedPromptPrefix;
  // `tokenizer_name` stays at its default, distilbert-base-uncased: the only tokenizer the offline cache holds, and not offered.
  Object.assign(data, { img_size: int(config.data.imgSize), channels: int(config.data.channels) } satisfies PyMapping);
  if (config.data.reducedMinSizes.length > 0) data.reduced_min_sizes = config.data.reducedMinSizes.map(int);
  doc.data = data;

  const pipeline: PyMapping = {};
  const named = input.datasets.slice(1);
  if (named.length > 0) {
    pipeline.datasets = Object.fromEntries(named.map((dataset) => [dataset.name, { type: 'local', image_folder: dataset.dir, captions_file: captionsOf(dataset.name) }]));
  }
  pipeline.steps = config.pipeline.steps.map((step) => stepDocument(step, main.name));
  doc.training = {
    batch_size: int(config.training.batchSize),
    workers: int(config.training.workers),
    lr: config.training.lr,
    use_fp16: config.training.useFp16,
    initial_clipping_norm: config.training.initialClippingNorm,
    pipeline,
  };

  const output: PyMapping = {
    output_path: paths.outputDir,
    log_interval: int(config.output.logInterval),
    checkpoint_save_interval: int(config.output.checkpointSaveInterval),
    samples_per_checkpoint: int(config.output.samples ? 1 : 0),
    no_samples: !config.output.samples,
    sample_captions: [...config.output.sampleCaptions],
    sample_sizes: config.output.sampleSizes.map(sampleSize),
  };
  if (input.testImages.length > 0) output.test_image_address = [...input.testImages];
  doc.output = output;
  return doc;
}

/** The YAML text; read back with PyYAML's rules and compared before it is returned (dumpPyYaml). */
export function renderPipelineYaml(input: FluxflowResolvedRun, paths: PipelineYamlPaths): string {
  return dumpPyYaml(pipelineDocument(input, paths));
}
