/**
 * Starting points for kohya LoRA runs, by family and GPU memory. Values come from the reference's VRAM guidance
 * and the kohya docs' LoRA example (kohya-sd-scripts.md §1.2, §3.3, §9); where the reference names no number,
 * the preset's description says what lorasmith chose. Every preset saves the training state with each LoRA, so
 * a stopped run can resume. A preset never names models or datasets: the user picks those.
 *
 * Character presets keep the first caption tag (the trigger word) in place and never flip images (a character's
 * asymmetry is part of it); style presets use a larger rank, since a style spreads over the whole image, and
 * flip images.
 */
import type { KohyaFamily, KohyaRunInput } from '../schema/index.ts';

/** Every field optional at every depth; lists are replaced whole, so they stay as they are. */
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** The part of a kohya run a preset may set: everything but the identity, the models and the datasets. */
export type KohyaPresetConfig = DeepPartial<Omit<KohyaRunInput, 'schema' | 'kind' | 'family' | 'name' | 'model' | 'datasets' | 'seed'>>;

export type VramTier = 8 | 12 | 16 | 24;

export interface RunPreset {
  /** Stable id, e.g. `sdxl-character-12gb`. */
  name: string;
  title: string;
  description: string;
  family: KohyaFamily;
  /** GPU memory the preset is sized for, in GB. */
  vramGb: VramTier;
  config: KohyaPresetConfig;
}

/** The kohya docs' LoRA example (§1.2) and the saving every preset shares. */
const DOCS_EXAMPLE = {
  network: { type: 'lora', dim: 16, alpha: 1 },
  optimizer: { type: 'AdamW8bit' },
  learningRate: { base: 1e-4 },
  scheduler: { type: 'constant' },
  duration: { unit: 'epochs', epochs: 10 },
  memory: { gradientCheckpointing: true, attention: 'sdpa' },
  saving: { format: 'safetensors', everyNEpochs: 1, saveState: true },
} as const satisfies KohyaPresetConfig;

const SD15_BUCKETS = { enabled: true, minReso: 256, maxReso: 1024, stepSize: 64 } as const;
/** 1024² training with buckets up to 2048 on the long side, so portrait and landscape keep their area. */
const LARGE_BUCKETS = { enabled: true, minReso: 512, maxReso: 2048, stepSize: 64 } as const;

const LARGE_1024 = { resolution: { width: 1024, height: 1024 }, buckets: LARGE_BUCKETS } as const;

const CHARACTER_CAPTIONS = { shuffle: true, keepTokens: 1 } as const;
const STYLE_CAPTIONS = { shuffle: true, keepTokens: 0 } as const;

/** The min-SNR weighting the kohya docs quote as the paper's recommendation. */
const MIN_SNR = { minSnrGamma: 5 } as const;

export const RUN_PRESETS: readonly RunPreset[] = [
  {
    name: 'sd15-character-8gb',
    title: 'SD 1.5 character, 8 GB',
    description:
      'SD 1.5 at 512×512 on an 8 GB GPU: the kohya docs LoRA example (dim 16, alpha 1, AdamW8bit, 1e-4, constant, fp16, gradient checkpointing) with full fp16, which the docs say keeps SD 1.x under 8 GB, and cached latents. Trains the text encoder too, as kohya does by default.',
    family: 'sd1',
    vramGb: 8,
    config: {
      ...DOCS_EXAMPLE,
      network: { ...DOCS_EXAMPLE.network, trainTextEncoders: true },
      resolution: { width: 512, height: 512 },
      buckets: SD15_BUCKETS,
      batchSize: 1,
      precision: { mixed: 'fp16', fullHalf: true },
      memory: { ...DOCS_EXAMPLE.memory, cacheLatents: 'memory' },
      noise: MIN_SNR,
      captions: CHARACTER_CAPTIONS,
    },
  },
  sdxlPreset({
    name: 'sdxl-character-8gb',
    title: 'SDXL / Pony / Illustrious character, 8 GB',
    description:
      'The kohya docs recipe for SDXL LoRA on 8 GB: U-Net only, gradient checkpointing, cached latents and text-encoder outputs, an 8-bit optimizer and a low rank (dim 8; the docs say 4 to 8). Cached captions cannot be shuffled, so captions stay as written.',
    vramGb: 8,
    dim: 8,
    batchSize: 1,
    cacheTextEncoderOutputs: true,
    captions: { shuffle: false, keepTokens: 0 },
  }),
  sdxlPreset({
    name: 'sdxl-character-12gb',
    title: 'SDXL / Pony / Illustrious character, 12 GB',
    description:
      'SDXL at 1024×1024 with U-Net only (the kohya docs highly recommend it for SDXL), gradient checkpointing, cached latents, AdamW8bit and the docs example rank 16. Text encoders stay loaded so captions can be shuffled with the trigger word kept first.',
    vramGb: 12,
    dim: DOCS_EXAMPLE.network.dim,
    batchSize: 1,
    captions: CHARACTER_CAPTIONS,
  }),
  sdxlPreset({
    name: 'sdxl-character-24gb',
    title: 'SDXL / Pony / Illustrious character, 24 GB',
    description:
      'SDXL at 1024×1024 with batch size 2 and rank 32 (lorasmith’s choice for the extra memory). Gradient checkpointing stays on: the kohya docs warn that SDXL LoRA can run out of memory even on 24 GB.',
    vramGb: 24,
    dim: 32,
    batchSize: 2,
    captions: CHARACTER_CAPTIONS,
  }),
  sdxlPreset({
    name: 'sdxl-style-12gb',
    title: 'SDXL / Pony / Illustrious style, 12 GB',
    description:
      'SDXL style LoRA on 12 GB: as the 12 GB character preset, with rank 32 (lorasmith’s choice: a style spreads over the whole image), shuffled captions without a fixed first tag, and mirrored images.',
    vramGb: 12,
    dim: 32,
    batchSize: 1,
    captions: STYLE_CAPTIONS,
    flip: true,
  }),
  sdxlPreset({
    name: 'sdxl-style-24gb',
    title: 'SDXL / Pony / Illustrious style, 24 GB',
    description: 'SDXL style LoRA on 24 GB: rank 64 and batch size 2 (lorasmith’s choices), shuffled captions, mirrored images, gradient checkpointing kept on.',
    vramGb: 24,
    dim: 64,
    batchSize: 2,
    captions: STYLE_CAPTIONS,
    flip: true,
  }),
  fluxPreset(24, 'FLUX.1-dev on 24 GB, per the kohya FLUX docs: fp8 base model, batch size 2, no block swapping.', { batchSize: 2 }),
  fluxPreset(
    16,
    'FLUX.1-dev on 16 GB, per the kohya FLUX docs: fp8 base model, batch size 1 and block swapping. The docs give no block count for 16 GB; lorasmith swaps 8 (12 GB needs 16).',
    { batchSize: 1, blocksToSwap: 8 },
  ),
  fluxPreset(12, 'FLUX.1-dev on 12 GB, per the kohya FLUX docs: fp8 base model, 16 swapped blocks and 8-bit AdamW.', { batchSize: 1, blocksToSwap: 16 }),
  fluxPreset(
    8,
    'FLUX.1-dev on 8 GB, per the kohya FLUX docs: fp8 base model and 28 swapped blocks. Pick an fp8 T5-XXL file (e.g. t5xxl_fp8_e4m3fn.safetensors): the docs recommend it below 10 GB.',
    { batchSize: 1, blocksToSwap: 28 },
  ),
  {
    name: 'sd35-large-16gb',
    title: 'SD 3.5 Large, 16 GB',
    description:
      'SD 3.5 at 1024×1024 with the SD3 docs example’s 32 swapped blocks, cached latents and text-encoder outputs (the T5-XXL encoder is large) and U-Net only. The reference gives no GB figures for SD3 and calls block swapping experimental; the 16 GB tier is lorasmith’s estimate.',
    family: 'sd3',
    vramGb: 16,
    config: {
      ...DOCS_EXAMPLE,
      network: { ...DOCS_EXAMPLE.network, trainTextEncoders: false },
      ...LARGE_1024,
      batchSize: 1,
      precision: { mixed: 'bf16', save: 'bf16' },
      memory: { ...DOCS_EXAMPLE.memory, cacheLatents: 'disk', cacheTextEncoderOutputs: 'disk', blocksToSwap: 32 },
      captions: { shuffle: false, keepTokens: 0 },
    },
  },
];

interface SdxlTier {
  name: string;
  title: string;
  description: string;
  vramGb: VramTier;
  dim: number;
  batchSize: number;
  captions: { shuffle: boolean; keepTokens: number };
  /** Cache text-encoder outputs too (frees the encoders' memory; captions can then not be shuffled). */
  cacheTextEncoderOutputs?: boolean;
  /** Mirror images (style presets). */
  flip?: boolean;
}

/** SDXL (and Pony / Illustrious) at 1024² with U-Net only, bf16, latents cached in memory and min-SNR weighting. */
function sdxlPreset(tier: SdxlTier): RunPreset {
  return {
    name: tier.name,
    title: tier.title,
    description: tier.description,
    family: 'sdxl',
    vramGb: tier.vramGb,
    config: {
      ...DOCS_EXAMPLE,
      network: { ...DOCS_EXAMPLE.network, dim: tier.dim, trainTextEncoders: false },
      ...LARGE_1024,
      batchSize: tier.batchSize,
      precision: { mixed: 'bf16' },
      memory: { ...DOCS_EXAMPLE.memory, cacheLatents: 'memory', ...(tier.cacheTextEncoderOutputs === true ? { cacheTextEncoderOutputs: 'memory' } : {}) },
      noise: MIN_SNR,
      captions: tier.captions,
      ...(tier.flip === true ? { augmentation: { flip: true } } : {}),
    },
  };
}

interface FluxMemory {
  batchSize: number;
  blocksToSwap?: number;
}

/**
 * FLUX.1-dev by memory tier (kohya-sd-scripts.md §9, "with `--fp8_base`"). Text-encoder outputs are cached and
 * the text encoders not trained, so T5-XXL leaves the GPU; cached captions cannot be shuffled.
 */
function fluxPreset(vramGb: VramTier, description: string, memory: FluxMemory): RunPreset {
  return {
    name: `flux1-dev-${vramGb}gb`,
    title: `FLUX.1-dev, ${vramGb} GB`,
    description,
    family: 'flux1',
    vramGb,
    config: {
      ...DOCS_EXAMPLE,
      network: { ...DOCS_EXAMPLE.network, trainTextEncoders: false },
      ...LARGE_1024,
      batchSize: memory.batchSize,
      precision: { mixed: 'bf16', fp8Base: true, save: 'bf16' },
      memory: {
        ...DOCS_EXAMPLE.memory,
        cacheLatents: 'disk',
        cacheTextEncoderOutputs: 'disk',
        ...(memory.blocksToSwap === undefined ? {} : { blocksToSwap: memory.blocksToSwap }),
      },
      captions: { shuffle: false, keepTokens: 0 },
    },
  };
}
