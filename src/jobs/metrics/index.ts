/**
 * Live run metrics for the jobs module: scalars from the engine's TensorBoard event files, and GPU readings
 * from `nvidia-smi` while runs are active.
 */
export { readTensorboardMetrics, type TensorboardBatch, type TensorboardProblem, type TensorboardReadLimits } from './tensorboard/read-tensorboard-metrics.ts';
export { TENSORBOARD_CORRUPT } from './tensorboard/tfrecord.ts';
export {
  GPU_STATS_ARGS,
  createGpuStatsSampler,
  parseGpuStats,
  sampleGpuStats,
  type GpuStat,
  type GpuStatsSample,
  type GpuStatsSampler,
  type GpuStatsSamplerParams,
  type SampleGpuStatsParams,
} from './gpu-stats.ts';
