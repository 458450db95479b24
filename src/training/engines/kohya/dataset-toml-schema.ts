/**
 * A transcription of sd-scripts' dataset-config validation (`library/config_util.py` `ConfigSanitizer`,
 * kohya-sd-scripts.md §2) for DreamBooth-style datasets with caption dropout, as the network trainers
 * build it. It checks a parsed TOML document whose integers are BigInt (smol-toml `integersAsBigInt: true`),
 * so the strict int/float split of voluptuous is kept: `1` is not a float, `2.0` is not an int.
 * Unknown keys fail, as voluptuous' default `extra=PREVENT_EXTRA` does.
 */
import { z } from 'zod';

const int = z.bigint();
const float = z.number();
const intOrFloat = z.union([z.bigint(), z.number()]);

/** `SUBSET_ASCENDABLE_SCHEMA` */
const subsetAscendable = {
  color_aug: z.boolean(),
  face_crop_aug_range: z.tuple([float, float]),
  flip_aug: z.boolean(),
  num_repeats: int,
  random_crop: z.boolean(),
  shuffle_caption: z.boolean(),
  keep_tokens: int,
  keep_tokens_separator: z.string(),
  secondary_separator: z.string(),
  caption_separator: z.string(),
  enable_wildcard: z.boolean(),
  token_warmup_min: int,
  token_warmup_step: intOrFloat,
  caption_prefix: z.string(),
  caption_suffix: z.string(),
  custom_attributes: z.record(z.string(), z.unknown()),
  resize_interpolation: z.string(),
};
/** `DO_SUBSET_ASCENDABLE_SCHEMA` (caption dropout; on in every network trainer). */
const dropoutAscendable = {
  caption_dropout_every_n_epochs: int,
  caption_dropout_rate: intOrFloat,
  caption_tag_dropout_rate: intOrFloat,
};
/** `DB_SUBSET_ASCENDABLE_SCHEMA` */
const dreamboothAscendable = {
  caption_extension: z.string(),
  class_tokens: z.string(),
  cache_info: z.boolean(),
};
/** `DB_SUBSET_DISTINCT_SCHEMA` */
const dreamboothDistinct = {
  image_dir: z.string(),
  is_reg: z.boolean(),
  alpha_mask: z.boolean(),
};
/** `DATASET_ASCENDABLE_SCHEMA` */
const datasetAscendable = {
  batch_size: int,
  bucket_no_upscale: z.boolean(),
  bucket_reso_steps: int,
  enable_bucket: z.boolean(),
  max_bucket_reso: int,
  min_bucket_reso: int,
  validation_seed: int,
  validation_split: float,
  resolution: z.union([int, z.tuple([int, int])]),
  network_multiplier: float,
  resize_interpolation: z.string(),
};

function allOptional<T extends Record<string, z.ZodType>>(shape: T): { [K in keyof T]: z.ZodOptional<T[K]> } {
  const out: Record<string, z.ZodType> = {};
  for (const [key, schema] of Object.entries(shape)) out[key] = schema.optional();
  return out as { [K in keyof T]: z.ZodOptional<T[K]> };
}

export const kohyaDreamboothSubsetSchema = z.strictObject({
  ...allOptional({ ...subsetAscendable, ...dreamboothDistinct, ...dreamboothAscendable, ...dropoutAscendable }),
  image_dir: z.string(),
});

export const kohyaDreamboothDatasetSchema = z.strictObject({
  ...allOptional({ ...datasetAscendable, ...subsetAscendable, ...dreamboothAscendable, ...dropoutAscendable }),
  subsets: z.array(kohyaDreamboothSubsetSchema),
});

export const kohyaGeneralSchema = z.strictObject(allOptional({ ...datasetAscendable, ...subsetAscendable, ...dreamboothAscendable, ...dropoutAscendable }));

/** The whole `--dataset_config` document (`user_config_validator`). */
export const kohyaDatasetConfigSchema = z.strictObject({
  general: kohyaGeneralSchema.optional(),
  datasets: z.array(kohyaDreamboothDatasetSchema).optional(),
});

/** Keys by TOML type, as the writer must print them. */
export const DATASET_INT_KEYS: ReadonlySet<string> = new Set([
  'num_repeats',
  'keep_tokens',
  'token_warmup_min',
  'caption_dropout_every_n_epochs',
  'batch_size',
  'bucket_reso_steps',
  'max_bucket_reso',
  'min_bucket_reso',
  'validation_seed',
]);
export const DATASET_FLOAT_KEYS: ReadonlySet<string> = new Set(['validation_split', 'network_multiplier', 'token_warmup_step', 'caption_dropout_rate', 'caption_tag_dropout_rate']);
export const DATASET_BOOL_KEYS: ReadonlySet<string> = new Set([
  'color_aug',
  'flip_aug',
  'random_crop',
  'shuffle_caption',
  'enable_wildcard',
  'cache_info',
  'enable_bucket',
  'bucket_no_upscale',
  'is_reg',
  'alpha_mask',
]);
export const DATASET_STRING_KEYS: ReadonlySet<string> = new Set([
  'keep_tokens_separator',
  'secondary_separator',
  'caption_separator',
  'caption_prefix',
  'caption_suffix',
  'resize_interpolation',
  'caption_extension',
  'class_tokens',
  'image_dir',
]);

/** Keys allowed in `[general]` and `[[datasets]]` (besides `subsets`). */
export const DATASET_LEVEL_KEYS: ReadonlySet<string> = new Set(Object.keys(kohyaGeneralSchema.shape));
/** Keys allowed in `[[datasets.subsets]]`. */
export const SUBSET_LEVEL_KEYS: ReadonlySet<string> = new Set(Object.keys(kohyaDreamboothSubsetSchema.shape));
