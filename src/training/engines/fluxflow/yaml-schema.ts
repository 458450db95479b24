/**
 * A transcription of the keys FluxFlow's `--config` YAML knows (fluxflow.md §1.2, `parse_args` in
 * scripts/train.py and pipeline_config.py at the pinned commit), with the Python type each must have and
 * whether pipeline mode — the only mode lorasmith runs — reads it.
 *
 * FluxFlow itself silently ignores unknown keys and checks no types (a `"3"` for `n_epochs` fails later with a
 * TypeError). `checkPipelineYaml` reports all three, so the writer's spec can prove lorasmith emits only typed,
 * known, read keys, and the engine double can refuse a mistyped value and record an ignored one.
 */
import type { PyMapping, PyValue } from './pyyaml.ts';

export type YamlKind =
  | { t: 'int' }
  | { t: 'float' }
  | { t: 'bool' }
  | { t: 'str' }
  | { t: 'list'; of: YamlKind }
  | { t: 'oneOf'; of: YamlKind[] }
  | { t: 'section'; fields: Readonly<Record<string, YamlField>> }
  | { t: 'mapOf'; of: YamlKind };

export interface YamlField {
  kind: YamlKind;
  /** Read in pipeline mode; `false`: parsed (or accepted) and never used there (§1.2 "Dead in pipeline mode"). */
  read: boolean;
  /** `None` is a valid value (FluxFlow's own default). */
  nullable?: boolean;
}

const INT: YamlKind = { t: 'int' };
const FLOAT: YamlKind = { t: 'float' };
const BOOL: YamlKind = { t: 'bool' };
const STR: YamlKind = { t: 'str' };

const read = (kind: YamlKind, nullable = false): YamlField => (nullable ? { kind, read: true, nullable } : { kind, read: true });
const unread = (kind: YamlKind): YamlField => ({ kind, read: false });
const section = (fields: Record<string, YamlField>): YamlKind => ({ t: 'section', fields });

const optimizer = section({
  type: read(STR),
  lr: read(FLOAT),
  betas: read({ t: 'list', of: FLOAT }),
  momentum: read(FLOAT),
  weight_decay: read(FLOAT),
  eps: read(FLOAT),
  alpha: read(FLOAT),
  centered: read(BOOL),
  amsgrad: read(BOOL),
  decoupled_weight_decay: read(BOOL),
});

const scheduler = section({
  type: read(STR),
  eta_min_factor: read(FLOAT),
  start_factor: read(FLOAT),
  end_factor: read(FLOAT),
  total_iters: read(INT),
  step_size: read(INT),
  gamma: read(FLOAT),
  mode: read(STR),
  factor: read(FLOAT),
  patience: read(INT),
});

const MODE_FLAGS = ['train_vae', 'gan_training', 'use_lpips', 'train_spade', 'train_diff', 'train_diff_full'] as const;

/** Fields of one pipeline step (and of `pipeline.defaults`, shallow-merged into every step). */
export const STEP_FIELDS: Readonly<Record<string, YamlField>> = {
  name: read(STR),
  description: read(STR),
  n_epochs: read(INT),
  dataset: read(STR),
  max_steps: read(INT),
  ...Object.fromEntries(MODE_FLAGS.map((flag) => [flag, read(BOOL)])),
  use_ema: read(BOOL),
  cfg_dropout_prob: unread(FLOAT),
  freeze: read({ t: 'list', of: STR }),
  unfreeze: read({ t: 'list', of: STR }),
  lr: read(FLOAT),
  batch_size: unread(INT),
  workers: unread(INT),
  lr_min: unread(FLOAT),
  use_fp16: unread(BOOL),
  initial_clipping_norm: unread(FLOAT),
  kl_beta: read(FLOAT),
  kl_warmup_steps: read(INT),
  kl_free_bits: read(FLOAT),
  lambda_adv: read(FLOAT),
  lambda_lpips: read(FLOAT),
  mse_weight: read(FLOAT),
  r1_interval: read(INT),
  r1_gamma: read(FLOAT),
  instance_noise_std: read(FLOAT),
  instance_noise_decay: read(FLOAT),
  adaptive_weights: read(BOOL),
  optimization: read(section({ optimizers: read({ t: 'mapOf', of: optimizer }), schedulers: read({ t: 'mapOf', of: scheduler }) })),
  transition_on: read(section({ mode: read(STR), metric: read(STR), threshold: read(FLOAT), max_epochs: read(INT) })),
};

const namedDataset = section({
  type: read(STR),
  image_folder: read(STR),
  captions_file: read(STR),
  webdataset_url: read(STR),
  webdataset_token: read(STR),
  webdataset_image_key: read(STR),
  webdataset_label_key: read(STR),
  webdataset_caption_key: read(STR),
  webdataset_size: read(INT),
  webdataset_samples_per_shard: read(INT),
  batch_size: read(INT),
  workers: read(INT),
});

/** The whole document. */
export const PIPELINE_YAML_SCHEMA: Readonly<Record<string, YamlField>> = {
  model_checkpoint: read(STR, true),
  model: read(
    section({
      vae_dim: read(INT),
      feature_maps_dim: read(INT),
      feature_maps_dim_disc: read(INT),
      text_embedding_dim: read(INT),
      use_gradient_checkpointing: read(BOOL),
      pretrained_bert_model: read(STR, true),
      model_type: read(STR),
    }),
  ),
  data: read(
    section({
      data_path: read(STR),
      captions_file: read(STR),
      fixed_prompt_prefix: read(STR, true),
      use_webdataset: read(BOOL),
      webdataset_token: read(STR, true),
      webdataset_url: read(STR),
      webdataset_image_key: read(STR),
      webdataset_label_key: read(STR),
      webdataset_caption_key: read(STR),
      webdataset_size: read(INT, true),
      webdataset_samples_per_shard: read(INT),
      use_tt2m: read(BOOL),
      tt2m_token: read(STR, true),
      img_size: read(INT),
      channels: read(INT),
      tokenizer_name: read(STR),
      dataloader_max_retries: unread(INT),
      dataloader_retry_delay: unread(FLOAT),
      reduced_min_sizes: read({ t: 'list', of: INT }, true),
    }),
  ),
  training: read(
    section({
      n_epochs: unread(INT),
      batch_size: read(INT),
      workers: read(INT),
      lr: read(FLOAT),
      lr_min: unread(FLOAT),
      preserve_lr: unread(BOOL),
      training_steps: unread(INT),
      use_fp16: read(BOOL),
      initial_clipping_norm: read(FLOAT),
      ...Object.fromEntries(MODE_FLAGS.map((flag) => [flag, unread(BOOL)])),
      kl_beta: unread(FLOAT),
      kl_warmup_steps: unread(INT),
      kl_free_bits: unread(FLOAT),
      lambda_adv: unread(FLOAT),
      lambda_lpips: unread(FLOAT),
      pipeline: read(
        section({
          defaults: read(section(STEP_FIELDS)),
          datasets: read({ t: 'mapOf', of: namedDataset }),
          default_dataset: read(STR),
          steps: read({ t: 'list', of: section(STEP_FIELDS) }),
        }),
      ),
    }),
  ),
  optimization: read(section({ optim_sched_config: unread(STR) })),
  output: read(
    section({
      output_path: read(STR),
      log_interval: read(INT),
      checkpoint_save_interval: read(INT),
      samples_per_checkpoint: read(INT),
      no_samples: read(BOOL),
      test_image_address: read({ t: 'list', of: STR }),
      sample_captions: read({ t: 'list', of: STR }),
      sample_sizes: read({ t: 'list', of: { t: 'oneOf', of: [INT, { t: 'list', of: INT }] } }),
    }),
  ),
};

export interface YamlTypeError {
  path: string;
  expected: string;
  got: string;
}

export interface PipelineYamlCheck {
  /** Keys FluxFlow does not know: it ignores them without a word. */
  unknown: string[];
  /** Known keys pipeline mode never reads. */
  unread: string[];
  /** Values of a type the code that reads them cannot use. */
  typeErrors: YamlTypeError[];
}

/** Python's name for a value's type, as a TypeError prints it. */
export function pyTypeName(value: PyValue): string {
  if (value === null) return 'NoneType';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'float';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (value instanceof Date) return 'datetime';
  return Array.isArray(value) ? 'list' : 'dict';
}

function kindName(kind: YamlKind): string {
  switch (kind.t) {
    case 'list':
      return `list[${kindName(kind.of)}]`;
    case 'oneOf':
      return kind.of.map(kindName).join(' | ');
    case 'section':
    case 'mapOf':
      return 'dict';
    default:
      return kind.t;
  }
}

function isMapping(value: PyValue): value is PyMapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Whether a value fits a kind, without descending into sections (those are walked by `check`). */
function fits(kind: YamlKind, value: PyValue): boolean {
  switch (kind.t) {
    case 'int':
      return typeof value === 'bigint';
    // Python accepts an int wherever it does float arithmetic.
    case 'float':
      return typeof value === 'number' || typeof value === 'bigint';
    case 'bool':
      return typeof value === 'boolean';
    case 'str':
      return typeof value === 'string';
    case 'list':
      return Array.isArray(value) && value.every((item) => fits(kind.of, item));
    case 'oneOf':
      return kind.of.some((option) => fits(option, value));
    case 'section':
    case 'mapOf':
      return isMapping(value);
  }
}

function check(fields: Readonly<Record<string, YamlField>>, value: PyMapping, at: string, out: PipelineYamlCheck): void {
  for (const [key, item] of Object.entries(value)) {
    const where = at === '' ? key : `${at}.${key}`;
    const field = fields[key];
    if (field === undefined) {
      out.unknown.push(where);
      continue;
    }
    if (!field.read) out.unread.push(where);
    if (item === null && field.nullable === true) continue;
    walk(field.kind, item, where, out);
  }
}

function walk(kind: YamlKind, value: PyValue, where: string, out: PipelineYamlCheck): void {
  if (!fits(kind, value)) {
    out.typeErrors.push({ path: where, expected: kindName(kind), got: pyTypeName(value) });
    return;
  }
  if (kind.t === 'section') check(kind.fields, value as PyMapping, where, out);
  else if (kind.t === 'mapOf') for (const [name, item] of Object.entries(value as PyMapping)) walk(kind.of, item, `${where}.${name}`, out);
  else if (kind.t === 'list' && kind.of.t === 'section') (value as PyValue[]).forEach((item, index) => walk(kind.of, item, `${where}[${index}]`, out));
}

/** Check a loaded `--config` document against what FluxFlow knows, reads and can use. */
export function checkPipelineYaml(doc: PyValue): PipelineYamlCheck {
  const out: PipelineYamlCheck = { unknown: [], unread: [], typeErrors: [] };
  if (!isMapping(doc)) {
    out.typeErrors.push({ path: '', expected: 'dict', got: pyTypeName(doc) });
    return out;
  }
  check(PIPELINE_YAML_SCHEMA, doc, '', out);
  return out;
}
