/**
 * The dataset TOML passed as `--dataset_config <run>/dataset.toml` (kohya-sd-scripts.md §2):
 * `[general]`, then `[[datasets]]`, each followed by its `[[datasets.subsets]]`.
 *
 * sd-scripts validates it strictly (unknown keys fail; no int↔float coercion), so every key is printed with
 * the type config_util.py expects, and the text is parsed back and checked against the transcription in
 * dataset-toml-schema.ts before it is returned. For a launch each subset's `image_dir` is its per-run link folder
 * in `work/images/` (link-images.ts), so the caches sd-scripts writes next to the images land in the run; an
 * export for sd-scripts run outside lorasmith (`train --export-kohya`) names the dataset folders themselves.
 */
import { LorasmithError } from '../../../core/errors.ts';
import {
  DATASET_BOOL_KEYS,
  DATASET_FLOAT_KEYS,
  DATASET_INT_KEYS,
  DATASET_LEVEL_KEYS,
  DATASET_STRING_KEYS,
  SUBSET_LEVEL_KEYS,
  kohyaDatasetConfigSchema,
} from './dataset-toml-schema.ts';
import { subsetLinkDir, type KohyaRunLayout } from './layout.ts';
import {
  formatTomlEntries,
  tomlArray,
  tomlBool,
  tomlFloat,
  tomlInt,
  tomlParseBackMismatch,
  tomlStr,
  tomlValueToPlain,
  parseTomlTyped,
  type TomlPlain,
  type TomlValue,
} from './toml-format.ts';
import type { KohyaArgValue, KohyaDatasetInput, KohyaDatasetOptions, KohyaSubsetInput, KohyaTrainerScript } from './types.ts';

/** The multiple `bucket_reso_steps` must be for each trainer (kohya-sd-scripts.md §1.1; `verify_bucket_reso_steps`). */
export const BUCKET_STEP_MULTIPLE: Readonly<Record<KohyaTrainerScript, number>> = {
  'train_network.py': 64,
  'sdxl_train_network.py': 32,
  'sd3_train_network.py': 32,
  'flux_train_network.py': 64,
  'lumina_train_network.py': 64,
  'train_db.py': 64,
  'sdxl_train.py': 32,
  'flux_train.py': 16,
};

const RESIZE_INTERPOLATIONS: ReadonlySet<string> = new Set(['lanczos', 'nearest', 'bilinear', 'linear', 'bicubic', 'cubic', 'area', 'box']);
/** Keys of a subset input that are the adapter's, not sd-scripts'. */
const ADAPTER_SUBSET_KEYS: ReadonlySet<string> = new Set(['name', 'source_dir', 'files']);

/** One subset as the run will see it: what link-images.ts needs to build its folder. */
export interface KohyaSubsetPlan {
  datasetIndex: number;
  subsetIndex: number;
  name: string;
  /** Absolute read-only dataset folder. */
  sourceDir: string;
  /** The folder written as `image_dir`: the per-run link folder, or `sourceDir` with `'sources'`. */
  linkDir: string;
  files?: string[];
  /** Effective caption extension (subset → dataset → general → args → `.caption`). */
  captionExtension: string;
  isReg: boolean;
}

export interface KohyaDatasetToml {
  text: string;
  /** The document as sd-scripts will read it (ints as BigInt). */
  document: Record<string, TomlPlain>;
  subsets: KohyaSubsetPlan[];
}

/**
 * Where each subset's `image_dir` points: the per-run link folders under the layout's `imagesDir` (a launch),
 * or `'sources'`, the dataset folders themselves (an export, which has no run folder to link into).
 */
export type DatasetImageDirs = Pick<KohyaRunLayout, 'imagesDir'> | 'sources';

export interface RenderDatasetTomlInput {
  script: KohyaTrainerScript;
  general?: KohyaDatasetOptions;
  datasets: KohyaDatasetInput[];
  /** The run's training options: sd-scripts falls back to them for dataset keys (`resolution`, `caption_extension`, …). */
  args?: Record<string, KohyaArgValue>;
}

function invalid(where: string, reason: string, hint?: string): LorasmithError {
  return new LorasmithError({
    code: 'kohya-dataset-invalid',
    message: `The dataset config cannot be written: ${where}: ${reason}.`,
    hint: hint ?? 'Check the dataset and subset settings of the run.',
    exitCode: 2,
    status: 400,
    details: { where },
  });
}

function wholeNumber(where: string, key: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid(where, `${key} must be a whole number, got ${JSON.stringify(value)}`);
  if (value < min) throw invalid(where, `${key} must be at least ${min}, got ${value}`);
  return value;
}

function finiteNumber(where: string, key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(where, `${key} must be a number, got ${JSON.stringify(value)}`);
  return value;
}

const INT_MINIMUM: Readonly<Record<string, number>> = {
  num_repeats: 1,
  batch_size: 1,
  bucket_reso_steps: 1,
  min_bucket_reso: 1,
  max_bucket_reso: 1,
  keep_tokens: 0,
  token_warmup_min: 0,
  caption_dropout_every_n_epochs: 0,
  validation_seed: 0,
};

function typedDatasetValue(where: string, key: string, value: unknown): TomlValue {
  if (key === 'resolution') {
    if (typeof value === 'number') return tomlInt(wholeNumber(where, key, value, 1));
    if (Array.isArray(value) && value.length === 2) return tomlArray(value.map((side) => tomlInt(wholeNumber(where, key, side, 1))));
    throw invalid(where, `resolution must be a whole number or [width, height], got ${JSON.stringify(value)}`);
  }
  if (key === 'face_crop_aug_range') {
    if (!Array.isArray(value) || value.length !== 2) throw invalid(where, 'face_crop_aug_range must be [low, high]');
    const [low, high] = value.map((item) => finiteNumber(where, key, item)) as [number, number];
    if (low > high) throw invalid(where, 'face_crop_aug_range must be [low, high] with low ≤ high');
    return tomlArray([tomlFloat(low), tomlFloat(high)]);
  }
  if (DATASET_INT_KEYS.has(key)) return tomlInt(wholeNumber(where, key, value, INT_MINIMUM[key] ?? 0));
  if (DATASET_FLOAT_KEYS.has(key)) {
    const n = finiteNumber(where, key, value);
    if ((key === 'caption_dropout_rate' || key === 'caption_tag_dropout_rate') && (n < 0 || n > 1)) throw invalid(where, `${key} must be between 0 and 1`);
    if (key === 'validation_split' && (n < 0 || n >= 1)) throw invalid(where, 'validation_split must be at least 0 and below 1');
    if (key === 'token_warmup_step' && n < 0) throw invalid(where, 'token_warmup_step must be 0 or more');
    return tomlFloat(n);
  }
  if (DATASET_BOOL_KEYS.has(key)) {
    if (typeof value !== 'boolean') throw invalid(where, `${key} must be true or false, got ${JSON.stringify(value)}`);
    return tomlBool(value);
  }
  if (DATASET_STRING_KEYS.has(key)) {
    if (typeof value !== 'string') throw invalid(where, `${key} must be text, got ${JSON.stringify(value)}`);
    if (value.includes('\0')) throw invalid(where, `${key} contains a NUL character`);
    if (key === 'caption_extension' && !/^\.[^/\\\s\0]+$/.test(value)) throw invalid(where, `caption_extension must start with "." and name a file extension, got ${JSON.stringify(value)}`, 'Use e.g. ".txt".');
    if (key === 'resize_interpolation' && !RESIZE_INTERPOLATIONS.has(value)) throw invalid(where, `resize_interpolation ${JSON.stringify(value)} is not one of ${[...RESIZE_INTERPOLATIONS].join(', ')}`);
    return tomlStr(value);
  }
  throw invalid(where, `unknown key ${key}`);
}

function tableEntries(where: string, source: object, allowed: ReadonlySet<string>, skip: ReadonlySet<string>): Array<readonly [string, TomlValue]> {
  const entries: Array<readonly [string, TomlValue]> = [];
  for (const [key, value] of Object.entries(source)) {
    if (skip.has(key) || value === undefined) continue;
    if (!allowed.has(key)) {
      throw invalid(where, `sd-scripts does not accept ${JSON.stringify(key)} here`, key === 'is_reg' || key === 'alpha_mask' ? `${key} belongs on a subset.` : 'Remove the key; sd-scripts rejects unknown dataset keys.');
    }
    entries.push([key, typedDatasetValue(where, key, value)]);
  }
  return entries;
}

function isPlainFileName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= 255 && !name.includes('/') && !name.includes('\\') && !name.startsWith('.') && !/[\u0000-\u001f\u007f]/.test(name);
}

function pick<T>(...values: Array<T | undefined>): T | undefined {
  for (const value of values) if (value !== undefined) return value;
  return undefined;
}

function resolutionSides(value: unknown): [number, number] | undefined {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) return [value[0] as number, value[1] as number];
  if (typeof value === 'string') {
    const parts = value.split(',').map((part) => Number(part.trim()));
    if (parts.length === 1 && Number.isInteger(parts[0])) return [parts[0] as number, parts[0] as number];
    if (parts.length === 2 && parts.every(Number.isInteger)) return [parts[0] as number, parts[1] as number];
  }
  return undefined;
}

/** Checks sd-scripts asserts at start: resolution present, bucket steps per family, min/max bucket reso. */
function checkDataset(where: string, script: KohyaTrainerScript, dataset: KohyaDatasetInput, general: KohyaDatasetOptions, args: Record<string, KohyaArgValue>): void {
  const resolution = resolutionSides(pick<unknown>(dataset.resolution, general.resolution, args.resolution));
  if (resolution === undefined) throw invalid(where, 'resolution is required', 'Set the training resolution on the dataset, e.g. 1024 or [1024, 768].');
  const enableBucket = pick<unknown>(dataset.enable_bucket, general.enable_bucket, args.enable_bucket) === true;
  const steps = pick<unknown>(dataset.bucket_reso_steps, general.bucket_reso_steps, args.bucket_reso_steps);
  const multiple = BUCKET_STEP_MULTIPLE[script];
  if (typeof steps === 'number' && steps % multiple !== 0) {
    throw invalid(where, `bucket_reso_steps is ${steps}; ${script} needs a multiple of ${multiple}`, 'Use 64, which every family accepts.');
  }
  if (!enableBucket) return;
  const step = typeof steps === 'number' ? steps : 64;
  const rawMin = pick<unknown>(dataset.min_bucket_reso, general.min_bucket_reso, args.min_bucket_reso);
  const rawMax = pick<unknown>(dataset.max_bucket_reso, general.max_bucket_reso, args.max_bucket_reso);
  const min = typeof rawMin === 'number' ? rawMin - (rawMin % step) : 256;
  const max = typeof rawMax === 'number' ? (rawMax % step === 0 ? rawMax : rawMax + step - (rawMax % step)) : 1024;
  if (Math.min(...resolution) < min) throw invalid(where, `min_bucket_reso (${min}) is larger than the resolution's smaller side (${Math.min(...resolution)})`, 'Lower min_bucket_reso or raise the resolution.');
  if (Math.max(...resolution) > max) throw invalid(where, `max_bucket_reso (${max}) is smaller than the resolution's larger side (${Math.max(...resolution)})`, 'Raise max_bucket_reso to at least the resolution.');
}

/**
 * Render the dataset TOML. `imageDirs` says what each subset's `image_dir` is (`DatasetImageDirs`). Throws
 * `kohya-dataset-invalid` with the dataset/subset it is about.
 */
export function renderDatasetToml(input: RenderDatasetTomlInput, imageDirs: DatasetImageDirs): KohyaDatasetToml {
  const general = input.general ?? {};
  const args = input.args ?? {};
  if (input.datasets.length === 0) throw invalid('datasets', 'the run has no dataset', 'Add at least one dataset with one subset.');

  const generalEntries = tableEntries('[general]', general, DATASET_LEVEL_KEYS, new Set());
  const document: Record<string, TomlPlain> = {};
  let text = '# Written by lorasmith for sd-scripts --dataset_config (DreamBooth-style datasets).\n';
  if (generalEntries.length > 0) {
    text += `[general]\n${formatTomlEntries(generalEntries)}`;
    document.general = Object.fromEntries(generalEntries.map(([key, value]) => [key, tomlValueToPlain(value)]));
  }

  const datasetsPlain: TomlPlain[] = [];
  const subsets: KohyaSubsetPlan[] = [];
  input.datasets.forEach((dataset, datasetIndex) => {
    const where = `dataset ${datasetIndex + 1}`;
    checkDataset(where, input.script, dataset, general, args);
    const entries = tableEntries(where, dataset, DATASET_LEVEL_KEYS, new Set(['subsets']));
    if (dataset.subsets.length === 0) throw invalid(where, 'the dataset has no subset');
    text += `\n[[datasets]]\n${formatTomlEntries(entries)}`;
    const subsetsPlain: TomlPlain[] = [];
    const names = new Set<string>();
    dataset.subsets.forEach((subset: KohyaSubsetInput, subsetIndex) => {
      const subWhere = `${where}, subset ${JSON.stringify(subset.name)}`;
      if (!isPlainFileName(subset.name)) throw invalid(subWhere, 'the subset name must be a plain file name (no "/", no leading ".", no control characters)');
      if (names.has(subset.name)) throw invalid(subWhere, 'two subsets of one dataset have the same name', 'sd-scripts ignores a second subset with the same image folder; rename one.');
      names.add(subset.name);
      if (typeof subset.source_dir !== 'string' || !subset.source_dir.startsWith('/')) throw invalid(subWhere, 'source_dir must be an absolute path');
      if (Object.hasOwn(subset, 'image_dir')) throw invalid(subWhere, 'image_dir is set by the adapter (the per-run link folder)', 'Give the dataset folder as source_dir.');
      const linkDir = imageDirs === 'sources' ? subset.source_dir : subsetLinkDir(imageDirs, datasetIndex, subset.name);
      const subEntries: Array<readonly [string, TomlValue]> = [['image_dir', tomlStr(linkDir)], ...tableEntries(subWhere, subset, SUBSET_LEVEL_KEYS, ADAPTER_SUBSET_KEYS)];
      text += `\n[[datasets.subsets]]\n${formatTomlEntries(subEntries)}`;
      subsetsPlain.push(Object.fromEntries(subEntries.map(([key, value]) => [key, tomlValueToPlain(value)])));
      const captionExtension = pick<unknown>(subset.caption_extension, dataset.caption_extension, general.caption_extension, args.caption_extension);
      subsets.push({
        datasetIndex,
        subsetIndex,
        name: subset.name,
        sourceDir: subset.source_dir,
        linkDir,
        ...(subset.files === undefined ? {} : { files: [...subset.files] }),
        captionExtension: typeof captionExtension === 'string' ? captionExtension : '.caption',
        isReg: subset.is_reg === true,
      });
    });
    datasetsPlain.push({ ...Object.fromEntries(entries.map(([key, value]) => [key, tomlValueToPlain(value)])), subsets: subsetsPlain });
  });
  document.datasets = datasetsPlain;

  const mismatch = tomlParseBackMismatch(text, document);
  const checked = mismatch === undefined ? kohyaDatasetConfigSchema.safeParse(parseTomlTyped(text)) : undefined;
  if (mismatch !== undefined || checked?.success !== true) {
    throw new LorasmithError({
      code: 'kohya-dataset-roundtrip',
      message: `The dataset config did not read back as sd-scripts expects (${mismatch ?? checked?.error?.issues[0]?.message ?? 'unknown'}).`,
      hint: 'This is a bug in lorasmith; please report it with the run config.',
      exitCode: 2,
      status: 500,
    });
  }
  return { text, document, subsets };
}
