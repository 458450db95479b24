/**
 * The fingerprint's vocabulary. Inputs are format-neutral (what a safetensors header, or a checkpoint our
 * restricted reader converted, describes); outputs feed the library record and the store layout
 * (DESIGN.md §3: `models/<kind>/…`).
 */

export interface TensorDescription {
  name: string;
  dtype: string;
  shape: readonly number[];
}

export interface ModelDescription {
  tensors: readonly TensorDescription[];
  /** `__metadata__` of a safetensors header: every value is a string (kohya-sd-scripts.md §6). */
  metadata: Readonly<Record<string, string>>;
  /**
   * Values of 0-dim tensors the caller chose to read, by tensor name. A header holds shapes only, so a
   * LoRA's per-module `.alpha` is known only when the caller reads those few bytes and passes them here.
   */
  scalars?: Readonly<Record<string, number>>;
}

/** DESIGN.md §3. `tagger` is decided by the ONNX sniffing, never from tensor names. */
export type ModelKind = 'checkpoint' | 'lora' | 'vae' | 'text-encoder' | 'embedding' | 'tagger' | 'other';

/**
 * Families the references name. Pony, Illustrious and other SDXL fine-tunes are `sdxl`: neither the keys
 * nor any metadata key the references describe tells them apart.
 */
export type ModelFamily =
  | 'sd1'
  | 'sd2'
  | 'sdxl'
  | 'sd3'
  | 'flux1'
  | 'chroma'
  | 'lumina2'
  | 'hunyuan-image-2.1'
  | 'anima'
  | 'fluxflow'
  | 'unknown';

export type FamilyVariant = 'sd3-medium' | 'sd3.5-large' | 'sd3.5-medium' | 'flux1-dev' | 'flux1-schnell';

/** `unknown` means the file does not say: the weights never tell epsilon from v (§7.4), the user confirms. */
export type PredictionType = 'epsilon' | 'v' | 'unknown';

/**
 * How module names are spelled: kohya `lora_unet_…` (LyCORIS too), PEFT `…lora_A.weight`, old diffusers
 * `…lora.down.weight`.
 */
export type LoraNaming = 'kohya' | 'peft' | 'diffusers-legacy' | 'mixed' | 'unknown';

/** `locon` is LyCORIS' plain low-rank algorithm (`algo=lora|locon`); `lora` is sd-scripts' own module. */
export type LoraAlgorithm = 'lora' | 'locon' | 'loha' | 'lokr' | 'full' | 'mixed' | 'unknown';

/** Where `alpha` came from: the `.alpha` tensors' values, `ss_network_alpha`, or kohya's "missing alpha = rank". */
export type AlphaSource = 'tensors' | 'metadata' | 'implied-rank' | 'unknown';

export interface LoraTargets {
  /** Modules of the denoiser (kohya calls the DiT denoisers `lora_unet` too, §7.1). */
  unet: number;
  /** Modules per text encoder, keyed by the file's own prefix (`lora_te`, `lora_te1`, `text_encoder_2`, …). */
  textEncoders: Record<string, number>;
  /** Modules whose down weight is a k×k convolution with k > 1 (LoCon / LoRA-C3Lier `conv_dim`). */
  conv: number;
}

export interface LoraDetails {
  naming: LoraNaming;
  algorithm: LoraAlgorithm;
  /** DoRA: a `dora_scale` tensor, or `dora_wd` in `ss_network_args`. */
  dora: boolean;
  /** `ss_network_module` as written, e.g. `networks.lora_flux`, `lycoris.kohya`. */
  networkModule: string | null;
  moduleCount: number;
  /** The rank every non-conv module shares; null when it varies (then `rankByModule`) or is unreadable (LoKr full factors). */
  rank: number | null;
  /** The rank every k×k conv module shares. */
  convRank: number | null;
  rankByModule: Record<string, number> | null;
  alpha: number | null;
  alphaSource: AlphaSource;
  alphaByModule: Record<string, number> | null;
  targets: LoraTargets;
}

export interface Fingerprint {
  kind: ModelKind;
  family: ModelFamily;
  variant: FamilyVariant | null;
  predictionType: PredictionType;
  lora: LoraDetails | null;
  /** Which keys, shapes and metadata decided, in the order they were weighed; `conflict:` lines disagree. */
  evidence: string[];
}
