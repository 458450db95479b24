/**
 * `planRun`: what a kohya run will cost before it starts — steps and epochs (the dataset page's step
 * calculator, so both show the numbers sd-scripts will print), a time estimate, the disk it will fill and a
 * GPU-memory verdict with concrete fixes (GPU-R03). Pure: image sizes, history and the GPU probe come in.
 */
import { countSteps, type ImageSize, type StepsPlan } from '../../datasets/buckets/index.ts';
import { isKohyaFamily, type KohyaFamily, type KohyaRunConfig, type RunFamily } from '../schema/index.ts';
import { LorasmithError } from '../../core/errors.ts';
import { FAMILY_COSTS } from './family-costs.ts';
import type { GpuProbe } from './probe-gpus.ts';
import { judgeVram, networkParams, optimizerStateBytes, vramInputsFrom, type VramInputs, type VramVerdict } from './vram.ts';

export interface PlanSubset {
  name: string;
  images: readonly ImageSize[];
  /** The run's resolved repeats (dataset meta with the run's overrides applied). */
  repeats: number;
  isReg: boolean;
}

/** One kohya `[[datasets]]` entry: its subsets with image header sizes (readImageSizes) and resolved meta. */
export interface PlanDataset {
  subsets: readonly PlanSubset[];
}

export interface ItPerSecondSample {
  family: KohyaFamily;
  /** Training resolution of the measured run. */
  width: number;
  height: number;
  batchSize: number;
  gradientAccumulationSteps?: number;
  /** Optimizer steps per second, as the progress bar reported them on this machine. */
  itPerSecond: number;
  /** nvidia-smi's name of the GPU the run used; measurements on the GPU being planned for are preferred. */
  gpuName?: string;
}

export interface PlanHistory {
  itPerSecond: readonly ItPerSecondSample[];
}

export interface PlanRunParams {
  config: KohyaRunConfig;
  datasets: readonly PlanDataset[];
  /** `size`: bytes of the validated base-model file (GPU-R01); it picks the variant and file precision. */
  model: { family: RunFamily; size?: number };
  history?: PlanHistory;
  gpus: GpuProbe;
  /** The devices the run will use (multi-GPU: one process each); default the GPU with the most free memory. */
  gpuIndices?: readonly number[];
  /** GPU-R03 margin; default 1.5. */
  margin?: number;
  /** Sample images, bytes each, for the disk estimate (default 1.5 MB, a 1024² PNG). */
  sampleImageBytes?: number;
}

export interface TimeEstimate {
  /** null when this machine has no measured run of the family yet: the time is unknown, not guessed. */
  seconds: number | null;
  /** `history`: scaled from a run of this family on this machine; `unknown`: no such run yet. */
  basis: 'history' | 'unknown';
  itPerSecond: number | null;
  startupSeconds: number;
  cachingSeconds: number;
  note: string;
}

export interface DiskItem {
  what: string;
  count: number;
  bytesEach: number;
  bytes: number;
}

export interface DiskEstimate {
  bytes: number;
  items: DiskItem[];
  networkFileBytes: number;
  stateBytes: number;
}

export interface RunPlan {
  steps: StepsPlan;
  totalSteps: number;
  epochs: number;
  numProcesses: number;
  time: TimeEstimate;
  disk: DiskEstimate;
  vram: VramVerdict;
}

const MP = (width: number, height: number): number => (width * height) / 1e6;

function stepsFor(params: PlanRunParams, numProcesses: number): StepsPlan {
  const { config } = params;
  const bucketing = {
    resolution: { width: config.resolution.width, height: config.resolution.height },
    enableBucket: config.buckets.enabled,
    minBucketReso: config.buckets.minReso,
    maxBucketReso: config.buckets.maxReso,
    bucketResoSteps: config.buckets.stepSize,
    bucketNoUpscale: config.buckets.noUpscale,
  };
  return countSteps({
    datasets: params.datasets.map((dataset) => ({ bucketing, batchSize: config.batchSize, subsets: dataset.subsets })),
    training: {
      gradientAccumulationSteps: config.gradientAccumulationSteps,
      numProcesses,
      ...(config.duration.unit === 'epochs' ? { maxTrainEpochs: config.duration.epochs } : { maxTrainSteps: config.duration.steps }),
    },
  });
}

/** Seconds per image-megapixel from a measured step rate. */
const secondsPerImageMp = (sample: ItPerSecondSample): number =>
  1 / (sample.itPerSecond * sample.batchSize * (sample.gradientAccumulationSteps ?? 1) * MP(sample.width, sample.height));

/**
 * Time from this machine's measured step rates (the jobs module records them, speed-history.ts keeps them):
 * the measurement of the same family nearest in pixels per step, preferably on the same GPU model, scaled to
 * this run's pixels per step. Without one the time is unknown: a made-up rate would mislead more than help.
 */
export function estimateTime(params: {
  inputs: VramInputs;
  gradientAccumulationSteps: number;
  totalSteps: number;
  trainImages: number;
  history?: PlanHistory;
  /** The GPU the run will use, as nvidia-smi names it. */
  gpuName?: string;
}): TimeEstimate {
  const { inputs } = params;
  const cost = FAMILY_COSTS[inputs.family];
  const mp = MP(inputs.width, inputs.height);
  const imagesPerStep = inputs.batchSize * params.gradientAccumulationSteps;
  const perImageCache = cost.latentChannels === 4 ? 0.2 : 0.5;
  const cachingSeconds = Math.round(params.trainImages * ((inputs.cacheLatents ? perImageCache : 0) + (inputs.cacheTextEncoderOutputs && cost.canCacheTextEncoders ? perImageCache : 0)));
  const family = (params.history?.itPerSecond ?? []).filter((sample) => sample.family === inputs.family && sample.itPerSecond > 0 && sample.batchSize >= 1);
  const sameGpu = family.filter((sample) => params.gpuName !== undefined && sample.gpuName === params.gpuName);
  const usable = sameGpu.length > 0 ? sameGpu : family;
  const label = cost.variants[0]?.label ?? inputs.family;
  if (usable.length === 0) {
    return {
      seconds: null,
      basis: 'unknown',
      itPerSecond: null,
      startupSeconds: cost.startupSeconds,
      cachingSeconds,
      note: `Unknown: no ${label} run has been measured on this machine yet. The first run records its speed, and later plans use it.`,
    };
  }
  // The measurement nearest in pixels per step scales best.
  const target = mp * imagesPerStep;
  const distance = (sample: ItPerSecondSample): number => Math.abs(Math.log((MP(sample.width, sample.height) * sample.batchSize * (sample.gradientAccumulationSteps ?? 1)) / target));
  const nearest = usable.reduce((a, b) => (distance(b) < distance(a) ? b : a));
  // With N processes each GPU does batch × accumulation images per step in parallel, and countSteps has
  // already divided the steps by N: the step time is one GPU's.
  const secondsPerStep = secondsPerImageMp(nearest) * mp * imagesPerStep;
  const itPerSecond = Math.round((1 / secondsPerStep) * 1000) / 1000;
  const seconds = Math.round(params.totalSteps * secondsPerStep + cost.startupSeconds + cachingSeconds);
  const where = nearest.gpuName === undefined ? '' : ` on ${nearest.gpuName}`;
  const note = `Scaled from ${nearest.itPerSecond} it/s measured on this machine${where} (${label}, ${nearest.width}×${nearest.height}, batch ${nearest.batchSize}${(nearest.gradientAccumulationSteps ?? 1) > 1 ? ` × ${nearest.gradientAccumulationSteps} accumulation` : ''}).`;
  return { seconds, basis: 'history', itPerSecond, startupSeconds: cost.startupSeconds, cachingSeconds, note };
}

/** How many LoRA files and state folders the saving options produce (kohya-sd-scripts.md §4). */
export function countSaves(saving: KohyaRunConfig['saving'], epochs: number, totalSteps: number): { networkFiles: number; stateDirs: number } {
  // Per-epoch saves skip the last epoch (the final file covers it); per-step saves likewise stop before the end.
  const epochSaves = saving.everyNEpochs === undefined ? 0 : Math.floor((epochs - 1) / saving.everyNEpochs);
  const stepSaves = saving.everyNSteps === undefined ? 0 : Math.floor((totalSteps - 1) / saving.everyNSteps);
  const keptEpochs = saving.keepLastNEpochs === undefined ? epochSaves : Math.min(epochSaves, saving.keepLastNEpochs);
  const keptSteps = saving.keepLastNSteps === undefined || saving.everyNSteps === undefined ? stepSaves : Math.min(stepSaves, Math.ceil(saving.keepLastNSteps / saving.everyNSteps));
  const networkFiles = keptEpochs + keptSteps + 1;
  let stateDirs = 0;
  if (saving.saveState) {
    const epochStates = saving.keepLastNEpochsState === undefined ? epochSaves : Math.min(epochSaves, saving.keepLastNEpochsState);
    stateDirs = epochStates + stepSaves + 1;
  } else if (saving.saveStateOnTrainEnd) {
    stateDirs = 1;
  }
  return { networkFiles, stateDirs };
}

export function estimateDisk(params: {
  config: KohyaRunConfig;
  inputs: VramInputs;
  epochs: number;
  totalSteps: number;
  trainImages: number;
  sampleImageBytes: number;
}): DiskEstimate {
  const { config, inputs } = params;
  const cost = FAMILY_COSTS[inputs.family];
  const trained = networkParams(inputs);
  // save_precision unset keeps the network's own dtype: fp32 unless full fp16/bf16.
  const saveBytes = config.precision.save === 'fp16' || config.precision.save === 'bf16' ? 2 : config.precision.save === 'float' ? 4 : inputs.fullHalf ? 2 : 4;
  const header = 64 * 1024;
  const networkFileBytes = trained * saveBytes + header;
  const weightBytes = inputs.fullHalf ? 2 : 4;
  // accelerate's save_state: model.safetensors (network weights) + optimizer.bin (its state) + scheduler/RNG files.
  const stateBytes = trained * (weightBytes + optimizerStateBytes(inputs.optimizer)) + 1024 * 1024;
  const saves = countSaves(config.saving, params.epochs, params.totalSteps);
  const items: DiskItem[] = [{ what: 'LoRA files', count: saves.networkFiles, bytesEach: networkFileBytes, bytes: saves.networkFiles * networkFileBytes }];
  if (saves.stateDirs > 0) items.push({ what: 'training-state folders', count: saves.stateDirs, bytesEach: stateBytes, bytes: saves.stateDirs * stateBytes });
  if (config.memory.cacheLatents === 'disk') {
    // Conservative: every image at the full training area, fp32 latents (`*.npz` beside the linked images, in work/).
    const each = Math.ceil(((config.resolution.width / 8) * (config.resolution.height / 8) * cost.latentChannels * 4 + 4096) * (config.augmentation.flip ? 2 : 1));
    items.push({ what: 'cached latents', count: params.trainImages, bytesEach: each, bytes: params.trainImages * each });
  }
  if (config.memory.cacheTextEncoderOutputs === 'disk' && cost.canCacheTextEncoders && cost.teOutputBytes > 0) {
    items.push({ what: 'cached text-encoder outputs', count: params.trainImages, bytesEach: cost.teOutputBytes, bytes: params.trainImages * cost.teOutputBytes });
  }
  const prompts = config.sampling.prompts.length;
  if (prompts > 0) {
    const everyEpochs = config.sampling.everyNEpochs;
    const everySteps = config.sampling.everyNSteps;
    const events = (everyEpochs !== undefined ? Math.floor(params.epochs / everyEpochs) : everySteps !== undefined ? Math.floor(params.totalSteps / everySteps) : 0) + (config.sampling.atFirst ? 1 : 0);
    if (events > 0) items.push({ what: 'sample images', count: events * prompts, bytesEach: params.sampleImageBytes, bytes: events * prompts * params.sampleImageBytes });
  }
  // TensorBoard event files and logs: small, a fixed allowance.
  items.push({ what: 'logs and TensorBoard', count: 1, bytesEach: 20 * 1024 * 1024, bytes: 20 * 1024 * 1024 });
  return { bytes: items.reduce((sum, item) => sum + item.bytes, 0), items, networkFileBytes, stateBytes };
}

export function planRun(params: PlanRunParams): RunPlan {
  const family = params.model.family;
  if (!isKohyaFamily(family) || params.config.family !== family) {
    throw new LorasmithError({
      code: 'plan-family-mismatch',
      message: `The run is for ${params.config.family} but the base model is ${family}.`,
      hint: 'Pick a base model of the run’s family, or change the run’s family.',
    });
  }
  const inputs = vramInputsFrom(params.config, family, params.model.size);
  const vram = judgeVram({
    inputs,
    gpus: params.gpus,
    ...(params.gpuIndices === undefined ? {} : { gpuIndices: params.gpuIndices }),
    ...(params.margin === undefined ? {} : { margin: params.margin }),
  });
  const numProcesses = Math.max(1, vram.gpuIndices.length);
  const gpuName = params.gpus.mode === 'gpu' ? params.gpus.gpus.find((gpu) => gpu.index === vram.gpuIndices[0])?.name : undefined;
  const steps = stepsFor(params, numProcesses);
  const trainImages = steps.datasets.reduce((sum, dataset) => sum + dataset.trainImages + dataset.regImagesUsed, 0);
  const time = estimateTime({
    inputs,
    gradientAccumulationSteps: params.config.gradientAccumulationSteps,
    totalSteps: steps.maxTrainSteps,
    trainImages,
    ...(params.history === undefined ? {} : { history: params.history }),
    ...(gpuName === undefined ? {} : { gpuName }),
  });
  const disk = estimateDisk({ config: params.config, inputs, epochs: steps.epochs, totalSteps: steps.maxTrainSteps, trainImages, sampleImageBytes: params.sampleImageBytes ?? 1_500_000 });
  return { steps, totalSteps: steps.maxTrainSteps, epochs: steps.epochs, numProcesses, time, disk, vram };
}
