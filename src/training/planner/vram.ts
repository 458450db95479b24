/**
 * GPU memory estimate of a kohya LoRA run and its verdict against a device's free memory
 * (model-file-security.md §4 GPU-R01/R03). The estimate adds: CUDA context; the base model's weights at the
 * training precision (fp8 with `--fp8_base`, less what `--blocks_to_swap` keeps on the CPU); the text
 * encoders unless their outputs are cached (and they are not trained); the VAE unless latents are cached;
 * the LoRA's weights, gradients and optimizer state; and activations per megapixel × batch, much smaller with
 * gradient checkpointing. It is an uncalibrated estimate and every message says so.
 *
 * Verdict, with F the free memory of the selected GPU (the least free one for a multi-GPU run) and the margin
 * (default 1.5): ≤ 0.9 F fits; ≤ margin × F is tight (the run starts with a warning, the numbers and fixes);
 * above margin × F the start is refused (GPU-R03), again with the numbers and fixes.
 */
import type { KohyaFamily, KohyaRunConfig, NetworkType, OptimizerType } from '../schema/index.ts';
import { FAMILY_COSTS, identifyVariant } from './family-costs.ts';
import type { GpuDevice, GpuProbe } from './probe-gpus.ts';

const GiB = 1024 ** 3;
const CUDA_CONTEXT_GIB = 1.2;
const VAE_PARAMS_B = 0.084;
const SWAP_BUFFER_GIB = 0.5;
export const DEFAULT_VRAM_MARGIN = 1.5;
/** Below this share of free memory a run "fits"; above it, up to the margin, it is "tight". */
export const FITS_SHARE = 0.9;

/** Optimizer state bytes per trained parameter (fp32 states; 8-bit ones 1 byte per state). */
const OPTIMIZER_STATE_BYTES: Record<OptimizerType, number> = {
  AdamW: 8,
  AdamW8bit: 2,
  PagedAdamW: 8,
  PagedAdamW8bit: 2,
  PagedAdamW32bit: 8,
  Lion: 4,
  Lion8bit: 1,
  PagedLion8bit: 1,
  SGDNesterov: 4,
  SGDNesterov8bit: 1,
  DAdaptation: 12,
  DAdaptAdaGrad: 8,
  DAdaptAdam: 12,
  DAdaptAdan: 16,
  DAdaptAdanIP: 16,
  DAdaptLion: 8,
  DAdaptSGD: 8,
  Prodigy: 16,
  AdaFactor: 1,
  AdamWScheduleFree: 12,
  RAdamScheduleFree: 12,
  SGDScheduleFree: 8,
};

export function optimizerStateBytes(type: OptimizerType): number {
  return OPTIMIZER_STATE_BYTES[type] ?? 8;
}

/** The settings the estimate depends on, flattened from a run config so a fix can change one and recompute. */
export interface VramInputs {
  family: KohyaFamily;
  /** Bytes of the validated base-model file (GPU-R01); unset uses the family's usual size. */
  modelSizeBytes?: number;
  mixed: 'no' | 'fp16' | 'bf16';
  fullHalf: boolean;
  fp8Base: boolean;
  networkType: NetworkType;
  dim: number;
  convDim?: number;
  trainTextEncoders: boolean;
  batchSize: number;
  width: number;
  height: number;
  gradientCheckpointing: boolean;
  cacheLatents: boolean;
  cacheTextEncoderOutputs: boolean;
  optimizer: OptimizerType;
  blocksToSwap?: number;
  cpuOffloadCheckpointing: boolean;
  noHalfVae: boolean;
}

export function vramInputsFrom(config: KohyaRunConfig, family: KohyaFamily, modelSizeBytes?: number): VramInputs {
  return {
    family,
    ...(modelSizeBytes === undefined ? {} : { modelSizeBytes }),
    mixed: config.precision.mixed,
    fullHalf: config.precision.fullHalf,
    fp8Base: config.precision.fp8Base,
    networkType: config.network.type,
    dim: config.network.dim,
    ...(config.network.convDim === undefined ? {} : { convDim: config.network.convDim }),
    trainTextEncoders: config.network.trainTextEncoders,
    batchSize: config.batchSize,
    width: config.resolution.width,
    height: config.resolution.height,
    gradientCheckpointing: config.memory.gradientCheckpointing,
    cacheLatents: config.memory.cacheLatents !== 'off',
    cacheTextEncoderOutputs: config.memory.cacheTextEncoderOutputs !== 'off',
    optimizer: config.optimizer.type,
    ...(config.memory.blocksToSwap === undefined ? {} : { blocksToSwap: config.memory.blocksToSwap }),
    cpuOffloadCheckpointing: config.memory.cpuOffloadCheckpointing,
    noHalfVae: config.model.noHalfVae,
  };
}

export interface VramBreakdown {
  cudaContextGb: number;
  baseModelGb: number;
  textEncodersGb: number;
  vaeGb: number;
  networkGb: number;
  activationsGb: number;
}

/** Trained LoRA parameters: rank × per-rank counts, LoCon conv layers, LyCORIS factors (LoHa ×2, LoKr ×0.5). */
export function networkParams(inputs: Pick<VramInputs, 'family' | 'modelSizeBytes' | 'networkType' | 'dim' | 'convDim' | 'trainTextEncoders'>): number {
  const cost = FAMILY_COSTS[inputs.family];
  const { variant } = identifyVariant(inputs.family, inputs.modelSizeBytes);
  let params = inputs.dim * variant.loraPerRankDenoiser;
  if (inputs.trainTextEncoders) params += inputs.dim * cost.loraPerRankTextEncoders;
  const convDim = inputs.convDim ?? (inputs.networkType === 'loha' || inputs.networkType === 'lokr' || inputs.networkType === 'dora' ? inputs.dim : undefined);
  if (inputs.networkType !== 'lora' && convDim !== undefined) params += convDim * cost.loraPerRankConv;
  if (inputs.networkType === 'loha') params *= 2;
  if (inputs.networkType === 'lokr') params *= 0.5;
  return Math.round(params);
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

export function estimateVram(inputs: VramInputs): { estimateGb: number; breakdown: VramBreakdown } {
  const cost = FAMILY_COSTS[inputs.family];
  const { variant, paramsB } = identifyVariant(inputs.family, inputs.modelSizeBytes);
  const halfBytes = inputs.mixed === 'no' ? 4 : 2;
  // Scale the nominal denoiser by the file's actual size (a pruned or larger fine-tune).
  const scale = paramsB / variant.checkpointParamsB;
  const denoiserParams = variant.denoiserParamsB * scale * 1e9;
  let baseGb = (denoiserParams * (inputs.fp8Base ? 1 : halfBytes)) / GiB;
  if (inputs.blocksToSwap !== undefined && variant.swappableBlocks !== undefined) {
    const blocks = Math.min(inputs.blocksToSwap, variant.swappableBlocks);
    baseGb = baseGb * (1 - blocks / (variant.swappableBlocks + 2)) + SWAP_BUFFER_GIB;
  }
  const teResident = !(inputs.cacheTextEncoderOutputs && cost.canCacheTextEncoders && !inputs.trainTextEncoders);
  const textEncodersGb = teResident ? (cost.textEncoderParamsB * 1e9 * halfBytes) / GiB + (inputs.trainTextEncoders ? 0.3 * inputs.batchSize : 0) : 0;
  const megapixels = (inputs.width * inputs.height) / 1e6;
  const vaeGb = inputs.cacheLatents ? 0 : (VAE_PARAMS_B * 1e9 * (inputs.noHalfVae ? 4 : halfBytes)) / GiB + 0.6 * megapixels * inputs.batchSize;
  const params = networkParams(inputs);
  const weightBytes = inputs.fullHalf ? 2 : 4;
  const networkGb = (params * (2 * weightBytes + optimizerStateBytes(inputs.optimizer))) / GiB;
  const perMp = inputs.gradientCheckpointing ? cost.activationGiBPerMp.checkpointing : cost.activationGiBPerMp.full;
  let activationsGb = perMp * megapixels * inputs.batchSize * (inputs.mixed === 'no' ? 2 : 1);
  if (inputs.cpuOffloadCheckpointing && inputs.gradientCheckpointing && cost.canCpuOffloadCheckpointing && inputs.blocksToSwap === undefined) {
    activationsGb = Math.max(activationsGb * 0.5, activationsGb - 1);
  }
  const breakdown: VramBreakdown = {
    cudaContextGb: round1(CUDA_CONTEXT_GIB),
    baseModelGb: round1(baseGb),
    textEncodersGb: round1(textEncodersGb),
    vaeGb: round1(vaeGb),
    networkGb: round1(networkGb),
    activationsGb: round1(activationsGb),
  };
  const total = CUDA_CONTEXT_GIB + baseGb + textEncodersGb + vaeGb + networkGb + activationsGb;
  return { estimateGb: round1(total), breakdown };
}

export type VramFit = 'fits' | 'tight' | 'too-big' | 'unknown';

export interface VramFix {
  /** What to change, in the run config's terms. */
  change: string;
  estimateGb: number;
  savesGb: number;
}

export interface VramVerdict {
  estimateGb: number;
  /** Free memory of the selected GPU (the least free of a multi-GPU set); null when there is no GPU list. */
  freeGb: number | null;
  totalGb: number | null;
  fit: VramFit;
  /** Concrete fixes, each with the recomputed estimate, best first; empty when the run fits. */
  fixes: string[];
  fixDetails: VramFix[];
  breakdown: VramBreakdown;
  margin: number;
  /** GPU-R03: true only when the estimate exceeds margin × free. */
  refuse: boolean;
  /** `gpu_unknown`: the start needs an explicit override (`--allow-unknown-gpu`). */
  needsOverride: boolean;
  gpuIndices: number[];
  message: string;
}

/** GPU-R03: fits ≤ 0.9 × free; tight ≤ margin × free (warn, start); too-big beyond (refuse). Both in MiB. */
export function classifyFit(estimateMiB: number, freeMiB: number, margin: number = DEFAULT_VRAM_MARGIN): Exclude<VramFit, 'unknown'> {
  if (estimateMiB <= FITS_SHARE * freeMiB) return 'fits';
  return estimateMiB <= margin * freeMiB ? 'tight' : 'too-big';
}

interface FixCandidate {
  change: string;
  apply: (inputs: VramInputs) => VramInputs | null;
}

const HALF_RES = (side: number): number => Math.max(256, Math.floor((side * 0.75) / 64) * 64);

function candidateFixes(inputs: VramInputs, targetGb: number | null): FixCandidate[] {
  const cost = FAMILY_COSTS[inputs.family];
  const { variant } = identifyVariant(inputs.family, inputs.modelSizeBytes);
  const list: FixCandidate[] = [];
  if (!inputs.gradientCheckpointing) list.push({ change: 'turn on gradient checkpointing (memory.gradientCheckpointing = true)', apply: (i) => ({ ...i, gradientCheckpointing: true }) });
  if (!inputs.cacheLatents) list.push({ change: 'cache latents (memory.cacheLatents = "disk"; not with colour augmentation or random crop)', apply: (i) => ({ ...i, cacheLatents: true }) });
  if (cost.canCacheTextEncoders && (!inputs.cacheTextEncoderOutputs || inputs.trainTextEncoders)) {
    list.push({
      change: `cache text-encoder outputs (memory.cacheTextEncoderOutputs = "disk"${inputs.trainTextEncoders ? ', network.trainTextEncoders = false' : ''}; needs fixed captions: no shuffling or dropout)`,
      apply: (i) => ({ ...i, cacheTextEncoderOutputs: true, trainTextEncoders: false }),
    });
  } else if (inputs.trainTextEncoders) {
    list.push({ change: 'train the U-Net only (network.trainTextEncoders = false)', apply: (i) => ({ ...i, trainTextEncoders: false }) });
  }
  if (optimizerStateBytes(inputs.optimizer) > 2) list.push({ change: 'use an 8-bit optimizer (optimizer.type = "AdamW8bit") or AdaFactor', apply: (i) => ({ ...i, optimizer: 'AdamW8bit' }) });
  if (!inputs.fp8Base && inputs.mixed !== 'no' && inputs.family !== 'sd1' && inputs.family !== 'sd2') {
    list.push({ change: 'load the base model in fp8 (precision.fp8Base = true)', apply: (i) => ({ ...i, fp8Base: true }) });
  }
  if (inputs.mixed === 'no') list.push({ change: 'train in mixed precision (precision.mixed = "bf16", or "fp16" on GPUs without bf16)', apply: (i) => ({ ...i, mixed: 'bf16' }) });
  if (inputs.batchSize > 1) {
    const half = Math.max(1, Math.floor(inputs.batchSize / 2));
    list.push({ change: `halve the batch (batchSize = ${half}) and double gradientAccumulationSteps to keep the effective batch`, apply: (i) => ({ ...i, batchSize: half }) });
  }
  if (variant.swappableBlocks !== undefined && (inputs.blocksToSwap ?? 0) < variant.swappableBlocks) {
    const max = variant.swappableBlocks;
    list.push({
      change: '',
      apply: (i) => {
        // The fewest swapped blocks that reach the target, else the most the family allows.
        for (let blocks = Math.max(1, (i.blocksToSwap ?? 0) + 1); blocks <= max; blocks++) {
          const next = { ...i, blocksToSwap: blocks, cpuOffloadCheckpointing: false };
          if (targetGb !== null && estimateVram(next).estimateGb <= targetGb) return next;
        }
        return { ...i, blocksToSwap: max, cpuOffloadCheckpointing: false };
      },
    });
  }
  if (cost.canCpuOffloadCheckpointing && inputs.gradientCheckpointing && !inputs.cpuOffloadCheckpointing && inputs.blocksToSwap === undefined) {
    list.push({ change: 'offload checkpointed activations to the CPU (memory.cpuOffloadCheckpointing = true; about 15% slower)', apply: (i) => ({ ...i, cpuOffloadCheckpointing: true }) });
  }
  if (Math.max(inputs.width, inputs.height) > 512) {
    const w = HALF_RES(inputs.width);
    const h = HALF_RES(inputs.height);
    list.push({ change: `train at a lower resolution (resolution = ${w}×${h})`, apply: (i) => ({ ...i, width: w, height: h }) });
  }
  if (inputs.dim > 8) list.push({ change: 'use a lower rank (network.dim = 8)', apply: (i) => ({ ...i, dim: 8, ...(i.convDim === undefined ? {} : { convDim: Math.min(i.convDim, 8) }) }) });
  return list;
}

const describeChange = (candidate: FixCandidate, next: VramInputs): string =>
  candidate.change !== '' ? candidate.change : `swap ${next.blocksToSwap ?? 0} transformer blocks to the CPU (memory.blocksToSwap = ${next.blocksToSwap ?? 0}; slower)`;

/**
 * Each applicable fix applied alone, with its recomputed estimate, ordered by saving (fixes saving < 0.1 GiB
 * are left out). When no single fix reaches `targetGb`, one more entry combines fixes, biggest saving first
 * and block swap last (so it swaps only what is still needed), until the target is reached.
 */
export function vramFixes(inputs: VramInputs, targetGb: number | null): VramFix[] {
  const before = estimateVram(inputs).estimateGb;
  const fixes: Array<VramFix & { candidate: FixCandidate }> = [];
  for (const candidate of candidateFixes(inputs, targetGb)) {
    const next = candidate.apply(inputs);
    if (next === null) continue;
    const after = estimateVram(next).estimateGb;
    const saves = round1(before - after);
    if (saves < 0.1) continue;
    fixes.push({ change: describeChange(candidate, next), estimateGb: after, savesGb: saves, candidate });
  }
  fixes.sort((a, b) => b.savesGb - a.savesGb);
  const singles: VramFix[] = fixes.map(({ change, estimateGb, savesGb }) => ({ change, estimateGb, savesGb }));
  if (targetGb === null || singles.length < 2 || singles.some((fix) => fix.estimateGb <= targetGb)) return singles;
  let current = inputs;
  const changes: string[] = [];
  const ordered = [...fixes.filter((fix) => fix.candidate.change !== ''), ...fixes.filter((fix) => fix.candidate.change === '')];
  for (const { candidate } of ordered) {
    if (estimateVram(current).estimateGb <= targetGb) break;
    // Re-derive the candidate from the current settings (the block count depends on what is already applied).
    const fresh = candidateFixes(current, targetGb).find((c) => c.change === candidate.change);
    const next = fresh?.apply(current) ?? null;
    if (fresh === undefined || next === null || estimateVram(current).estimateGb - estimateVram(next).estimateGb < 0.1) continue;
    changes.push(describeChange(fresh, next));
    current = next;
  }
  const after = estimateVram(current).estimateGb;
  if (changes.length >= 2) singles.push({ change: `all of: ${changes.join('; ')}`, estimateGb: after, savesGb: round1(before - after) });
  return singles;
}

const fmt = (gb: number): string => `${gb.toFixed(1)} GiB`;

function selectGpus(gpus: GpuDevice[], indices: readonly number[] | undefined): GpuDevice[] | string {
  if (indices === undefined || indices.length === 0) {
    const best = [...gpus].sort((a, b) => b.memoryFreeMiB - a.memoryFreeMiB)[0];
    return best === undefined ? 'no GPU listed' : [best];
  }
  const chosen: GpuDevice[] = [];
  for (const index of indices) {
    const gpu = gpus.find((candidate) => candidate.index === index);
    if (gpu === undefined) return `GPU ${index} is not in the device list (${gpus.map((g) => g.index).join(', ')})`;
    chosen.push(gpu);
  }
  return chosen;
}

export interface JudgeVramParams {
  inputs: VramInputs;
  gpus: GpuProbe;
  /** Devices the run will use; default the one with the most free memory. Validated against the list. */
  gpuIndices?: readonly number[];
  margin?: number;
}

export function judgeVram(params: JudgeVramParams): VramVerdict {
  const margin = params.margin ?? DEFAULT_VRAM_MARGIN;
  if (!(margin >= 1)) throw new RangeError(`the VRAM margin must be at least 1, got ${margin}`);
  const { estimateGb, breakdown } = estimateVram(params.inputs);
  const base = { estimateGb, breakdown, margin };
  if (params.gpus.mode !== 'gpu') {
    const unknown = params.gpus.mode === 'unknown';
    return {
      ...base,
      freeGb: null,
      totalGb: null,
      fit: 'unknown',
      fixes: [],
      fixDetails: [],
      refuse: false,
      needsOverride: unknown,
      gpuIndices: [],
      message: unknown
        ? `GPU state unknown (gpu_unknown): ${params.gpus.reason} The run needs an estimated ${fmt(estimateGb)} of GPU memory; starting needs --allow-unknown-gpu.`
        : `No GPU: ${params.gpus.reason} The run would need an estimated ${fmt(estimateGb)} of GPU memory.`,
    };
  }
  const selected = selectGpus(params.gpus.gpus, params.gpuIndices);
  if (typeof selected === 'string') {
    return { ...base, freeGb: null, totalGb: null, fit: 'unknown', fixes: [], fixDetails: [], refuse: true, needsOverride: false, gpuIndices: [], message: `Cannot check GPU memory: ${selected}.` };
  }
  const tightest = selected.reduce((a, b) => (b.memoryFreeMiB < a.memoryFreeMiB ? b : a));
  const freeGb = round1(tightest.memoryFreeMiB / 1024);
  const totalGb = round1(tightest.memoryTotalMiB / 1024);
  const freeExact = tightest.memoryFreeMiB / 1024;
  const fit = classifyFit(estimateGb * 1024, tightest.memoryFreeMiB, margin);
  const fixDetails = fit === 'fits' ? [] : vramFixes(params.inputs, FITS_SHARE * freeExact);
  const fixes = fixDetails.map((fix) => `${fix.change}: estimate ${fmt(estimateGb)} → ${fmt(fix.estimateGb)}`);
  const where = `GPU ${tightest.index} (${tightest.name}) has ${fmt(freeGb)} free of ${fmt(totalGb)}`;
  const message =
    fit === 'fits'
      ? `Estimated ${fmt(estimateGb)} of GPU memory; ${where}.`
      : fit === 'tight'
        ? `Estimated ${fmt(estimateGb)} of GPU memory and ${where}: the run may run out of memory. The estimate is uncalibrated; the run may start.`
        : `Estimated ${fmt(estimateGb)} of GPU memory and ${where}: more than ${margin}× the free memory, so the run is refused. The estimate is uncalibrated; change the settings below or free GPU memory.`;
  return { ...base, freeGb, totalGb, fit, fixes, fixDetails, refuse: fit === 'too-big', needsOverride: false, gpuIndices: selected.map((gpu) => gpu.index), message };
}
