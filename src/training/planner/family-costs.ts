/**
 * Per-family numbers the planner estimates with. Parameter counts are the published model sizes; LoRA
 * parameters per rank are Σ(in + out) over the layers sd-scripts' network module targets (kohya-sd-scripts.md
 * §3.2, §7.1 — e.g. FLUX.1: 19 double blocks × 2 streams × (qkv, proj, mlp_0, mlp_2, mod_lin) + 38 single
 * blocks × (linear1, linear2, modulation_lin) = 4.79 M per rank, which matches a rank-16 FLUX LoRA of ~153 MB
 * in bf16). Activation figures are calibrated so the estimate lands on the reference's VRAM guidance (§9):
 * SD 1.x LoRA "just barely" in 8 GB at 512²; SDXL LoRA in 8 GB at 1024² with U-Net only, gradient
 * checkpointing, cached latents and text-encoder outputs, an 8-bit optimizer and dim 4–8; FLUX.1 with
 * `--fp8_base` at batch 2 in 24 GB, batch 1 + block swap in 16 GB, swap 16 in 12 GB, 22 in 10 GB, 28 in 8 GB.
 * They are uncalibrated against real GPUs; every message calls the result an estimate.
 */
import type { KohyaFamily } from '../schema/index.ts';

export interface FamilyVariant {
  label: string;
  /** Denoiser (U-Net / transformer) parameters, billions. */
  denoiserParamsB: number;
  /** Parameters a usual base-model file of this family holds, billions (single-file SD checkpoints include TE + VAE). */
  checkpointParamsB: number;
  /** LoRA parameters per unit of rank on the denoiser. */
  loraPerRankDenoiser: number;
  /** Transformer blocks `--blocks_to_swap` can move (the docs' maximum), when the family has block swap. */
  swappableBlocks?: number;
}

export interface FamilyCost {
  variants: readonly FamilyVariant[];
  /** All text encoders together, billions (CLIP-L 0.123, OpenCLIP-H 0.354, CLIP-G 0.695, T5-XXL 4.76, Gemma-2 2B 2.6). */
  textEncoderParamsB: number;
  /** The base-model file also holds the text encoders and the VAE (SD 1.x/2.x/SDXL single-file checkpoints). */
  textEncodersInCheckpoint: boolean;
  /** LoRA parameters per unit of rank on the text encoders (CLIP only: sd-scripts does not train T5 by default). */
  loraPerRankTextEncoders: number;
  /** Extra LoRA parameters per unit of `conv_dim` on the 3×3 convolutions (LoCon / LoRA-C3Lier). */
  loraPerRankConv: number;
  /** Activation memory in GiB per megapixel per image, with and without gradient checkpointing. */
  activationGiBPerMp: { checkpointing: number; full: number };
  /** Model loading and set-up before the first step, seconds (conservative). */
  startupSeconds: number;
  /** Latent channels of the VAE (disk size of cached latents). */
  latentChannels: number;
  /** Bytes of one cached text-encoder output file (`*_te_outputs.npz`), conservative; 0 where caching does not apply. */
  teOutputBytes: number;
  /** The family can cache text-encoder outputs (not SD 1.x/2.x). */
  canCacheTextEncoders: boolean;
  /** `--cpu_offload_checkpointing` exists (FLUX.1, SD3, Lumina; not Chroma). */
  canCpuOffloadCheckpointing: boolean;
}

const CLIP_L_PER_RANK = 12 * (4 * 768 * 2 + 2 * (768 + 3072)); // 165,888
const CLIP_G_PER_RANK = 32 * (4 * 1280 * 2 + 2 * (1280 + 5120)); // 737,280
const OPENCLIP_H_PER_RANK = 23 * (4 * 1024 * 2 + 2 * (1024 + 4096)); // 423,936
const FLUX_PER_RANK = 19 * 2 * (3072 + 9216 + (3072 + 3072) + (3072 + 12288) + (12288 + 3072) + (3072 + 18432)) + 38 * (3072 + 21504 + (15360 + 3072) + (3072 + 9216));
const sd3PerRank = (blocks: number, hidden: number): number => blocks * 2 * (hidden + 3 * hidden + 2 * hidden + 2 * (hidden + 4 * hidden) + (hidden + 6 * hidden));

/**
 * SD 1.x and 2.x share one U-Net layout and calibration: 4-channel latents, CLIP inside the single-file checkpoint,
 * no text-encoder output caching or CPU offload. They differ in the text encoder (CLIP-L vs OpenCLIP-H).
 */
const SD_UNET_COSTS = {
  textEncodersInCheckpoint: true,
  loraPerRankConv: 600_000,
  activationGiBPerMp: { checkpointing: 3.5, full: 14 },
  startupSeconds: 60,
  latentChannels: 4,
  teOutputBytes: 0,
  canCacheTextEncoders: false,
  canCpuOffloadCheckpointing: false,
} as const satisfies Partial<FamilyCost>;

export const FAMILY_COSTS: Readonly<Record<KohyaFamily, FamilyCost>> = {
  sd1: {
    ...SD_UNET_COSTS,
    variants: [{ label: 'SD 1.x', denoiserParamsB: 0.86, checkpointParamsB: 1.07, loraPerRankDenoiser: 400_000 }],
    textEncoderParamsB: 0.123,
    loraPerRankTextEncoders: CLIP_L_PER_RANK,
  },
  sd2: {
    ...SD_UNET_COSTS,
    variants: [{ label: 'SD 2.x', denoiserParamsB: 0.865, checkpointParamsB: 1.3, loraPerRankDenoiser: 420_000 }],
    textEncoderParamsB: 0.354,
    loraPerRankTextEncoders: OPENCLIP_H_PER_RANK,
  },
  sdxl: {
    variants: [{ label: 'SDXL', denoiserParamsB: 2.57, checkpointParamsB: 3.47, loraPerRankDenoiser: 2_600_000 }],
    textEncoderParamsB: 0.817,
    textEncodersInCheckpoint: true,
    loraPerRankTextEncoders: CLIP_L_PER_RANK + CLIP_G_PER_RANK,
    loraPerRankConv: 1_500_000,
    activationGiBPerMp: { checkpointing: 1.5, full: 14 },
    startupSeconds: 120,
    latentChannels: 4,
    teOutputBytes: (77 * 2048 + 1280) * 4,
    canCacheTextEncoders: true,
    canCpuOffloadCheckpointing: false,
  },
  sd3: {
    variants: [
      { label: 'SD 3 / 3.5 Medium', denoiserParamsB: 2.5, checkpointParamsB: 2.5, loraPerRankDenoiser: sd3PerRank(24, 1536), swappableBlocks: 22 },
      { label: 'SD 3.5 Large', denoiserParamsB: 8.1, checkpointParamsB: 8.1, loraPerRankDenoiser: sd3PerRank(38, 2432), swappableBlocks: 36 },
    ],
    textEncoderParamsB: 0.123 + 0.695 + 4.76,
    textEncodersInCheckpoint: false,
    loraPerRankTextEncoders: CLIP_L_PER_RANK + CLIP_G_PER_RANK,
    loraPerRankConv: 0,
    activationGiBPerMp: { checkpointing: 1.5, full: 12 },
    startupSeconds: 180,
    latentChannels: 16,
    teOutputBytes: (77 * 2048 + 256 * 4096 + 2048) * 4,
    canCacheTextEncoders: true,
    canCpuOffloadCheckpointing: true,
  },
  flux1: {
    variants: [{ label: 'FLUX.1', denoiserParamsB: 11.9, checkpointParamsB: 11.9, loraPerRankDenoiser: FLUX_PER_RANK, swappableBlocks: 35 }],
    textEncoderParamsB: 0.123 + 4.76,
    textEncodersInCheckpoint: false,
    loraPerRankTextEncoders: CLIP_L_PER_RANK,
    loraPerRankConv: 0,
    activationGiBPerMp: { checkpointing: 2.5, full: 12 },
    startupSeconds: 240,
    latentChannels: 16,
    teOutputBytes: (512 * 4096 + 768 + 512) * 4,
    canCacheTextEncoders: true,
    canCpuOffloadCheckpointing: true,
  },
  chroma: {
    variants: [{ label: 'Chroma', denoiserParamsB: 8.9, checkpointParamsB: 8.9, loraPerRankDenoiser: FLUX_PER_RANK, swappableBlocks: 35 }],
    textEncoderParamsB: 4.76,
    textEncodersInCheckpoint: false,
    loraPerRankTextEncoders: 0,
    loraPerRankConv: 0,
    activationGiBPerMp: { checkpointing: 2.5, full: 12 },
    startupSeconds: 240,
    latentChannels: 16,
    teOutputBytes: (512 * 4096 + 512) * 4,
    canCacheTextEncoders: true,
    canCpuOffloadCheckpointing: false,
  },
  lumina2: {
    variants: [{ label: 'Lumina Image 2.0', denoiserParamsB: 2.6, checkpointParamsB: 2.6, loraPerRankDenoiser: 1_300_000, swappableBlocks: 24 }],
    textEncoderParamsB: 2.6,
    textEncodersInCheckpoint: false,
    loraPerRankTextEncoders: 0,
    loraPerRankConv: 0,
    activationGiBPerMp: { checkpointing: 2, full: 12 },
    startupSeconds: 180,
    latentChannels: 16,
    teOutputBytes: 256 * 2304 * 4,
    canCacheTextEncoders: true,
    canCpuOffloadCheckpointing: true,
  },
};

/**
 * The variant a base-model file most likely is (SD 3 Medium vs 3.5 Large), and the bytes per parameter of its
 * file (1 = fp8, 2 = fp16/bf16, 4 = fp32), from its size: the pair whose product is nearest on a log scale.
 */
export function identifyVariant(family: KohyaFamily, sizeBytes: number | undefined): { variant: FamilyVariant; fileBytesPerParam: number; paramsB: number } {
  const variants = FAMILY_COSTS[family].variants;
  const first = variants[0];
  if (first === undefined) throw new Error(`no cost table for ${family}`);
  if (sizeBytes === undefined || !(sizeBytes > 0)) return { variant: first, fileBytesPerParam: 2, paramsB: first.checkpointParamsB };
  let best = { variant: first, fileBytesPerParam: 2, error: Number.POSITIVE_INFINITY };
  for (const variant of variants) {
    for (const bytes of [2, 1, 4]) {
      const error = Math.abs(Math.log(sizeBytes / (variant.checkpointParamsB * 1e9 * bytes)));
      if (error < best.error - 1e-9) best = { variant, fileBytesPerParam: bytes, error };
    }
  }
  return { variant: best.variant, fileBytesPerParam: best.fileBytesPerParam, paramsB: sizeBytes / best.fileBytesPerParam / 1e9 };
}
