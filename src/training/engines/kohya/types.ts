/**
 * The kohya adapter's own input: what it needs to write sd-scripts' files and launch it. The run-config
 * schema (src/training/schema/) is mapped onto this by the caller; nothing here depends on it.
 *
 * Option names are sd-scripts' own (snake_case, without `--`), so a mapping is a rename at most.
 */
import type { KohyaTrainerScript } from './kohya-args.ts';

export type { KohyaTrainerScript } from './kohya-args.ts';

/** One value of a training option. Lists are for `nargs="*"` options (`network_args`, `text_encoder_lr`, …). */
export type KohyaArgValue = string | number | boolean | string[] | number[];

/** Subset-level keys of the dataset TOML that may also sit on a dataset or in `[general]` (inherited). */
export interface KohyaSubsetOptions {
  num_repeats?: number;
  shuffle_caption?: boolean;
  caption_separator?: string;
  keep_tokens?: number;
  keep_tokens_separator?: string;
  secondary_separator?: string;
  enable_wildcard?: boolean;
  color_aug?: boolean;
  flip_aug?: boolean;
  /** Two floats, low ≤ high. */
  face_crop_aug_range?: [number, number];
  random_crop?: boolean;
  caption_prefix?: string;
  caption_suffix?: string;
  token_warmup_min?: number;
  token_warmup_step?: number;
  resize_interpolation?: KohyaResizeInterpolation;
  caption_dropout_rate?: number;
  caption_dropout_every_n_epochs?: number;
  caption_tag_dropout_rate?: number;
  /** With the dot, e.g. `.txt`. sd-scripts' default is `.caption`. */
  caption_extension?: string;
  class_tokens?: string;
  cache_info?: boolean;
}

export type KohyaResizeInterpolation = 'lanczos' | 'nearest' | 'bilinear' | 'linear' | 'bicubic' | 'cubic' | 'area' | 'box';

/** Dataset-level keys (`[general]` and `[[datasets]]`), plus the inheritable subset keys. */
export interface KohyaDatasetOptions extends KohyaSubsetOptions {
  /** `n` means `(n, n)`; `[w, h]` otherwise. Required on every dataset (here or in `general`). */
  resolution?: number | [number, number];
  batch_size?: number;
  enable_bucket?: boolean;
  min_bucket_reso?: number;
  max_bucket_reso?: number;
  bucket_reso_steps?: number;
  bucket_no_upscale?: boolean;
  network_multiplier?: number;
  validation_split?: number;
  validation_seed?: number;
}

/** One DreamBooth-style subset: a folder of images (and captions) from a dataset. */
export interface KohyaSubsetInput extends KohyaSubsetOptions {
  /**
   * Name of the per-run link folder; sd-scripts records this basename in `ss_datasets`, `ss_tag_frequency`
   * and `ss_dataset_dirs`, so name it after the subset. A plain file name.
   */
  name: string;
  /** Absolute path of the read-only dataset folder holding the images (and captions). */
  source_dir: string;
  /** Image file names inside `source_dir` to use; all images of the folder when absent. */
  files?: string[];
  is_reg?: boolean;
  alpha_mask?: boolean;
}

export interface KohyaDatasetInput extends KohyaDatasetOptions {
  subsets: KohyaSubsetInput[];
}

/** One sample prompt (kohya-sd-scripts.md §3.6). */
export interface KohyaSamplePrompt {
  prompt: string;
  /** `--n` */
  negative_prompt?: string;
  /** `--w`, a multiple of 8, at least 64. */
  width?: number;
  /** `--h`, a multiple of 8, at least 64. */
  height?: number;
  /** `--d`, a non-negative integer. */
  seed?: number;
  /** `--s`, 1..1000. */
  sample_steps?: number;
  /** `--l`, CFG scale. */
  scale?: number;
  /** `--g`, embedded guidance (FLUX). */
  guidance_scale?: number;
  /** `--ss`, one of `--sample_sampler`'s choices. */
  sample_sampler?: string;
}

export interface KohyaRunInput {
  script: KohyaTrainerScript;
  /**
   * Training options, keyed by sd-scripts' option name without `--`. Every key must exist in
   * kohya-args.json for `script`. Paths (model files, `network_weights`, `resume`, …) are absolute.
   * The adapter owns `output_dir`, `logging_dir`, `sample_prompts` and `tokenizer_cache_dir` (see
   * `ADAPTER_OWNED_KEYS`); `network_args` / `optimizer_args` / `lr_scheduler_args` are `key=value` strings.
   */
  args: Record<string, KohyaArgValue>;
  /** Values for `[general]`: inherited by every dataset and subset. */
  general?: KohyaDatasetOptions;
  datasets: KohyaDatasetInput[];
  samplePrompts?: KohyaSamplePrompt[];
}
