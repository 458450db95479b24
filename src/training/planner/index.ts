/** The training planner: steps, time, disk and GPU memory of a run before it starts, and the GPU probe. */
export { FAMILY_COSTS, identifyVariant, type FamilyCost, type FamilyVariant } from './family-costs.ts';
export {
  countSaves,
  estimateDisk,
  estimateTime,
  planRun,
  type DiskEstimate,
  type DiskItem,
  type ItPerSecondSample,
  type PlanDataset,
  type PlanHistory,
  type PlanRunParams,
  type PlanSubset,
  type RunPlan,
  type TimeEstimate,
} from './plan-run.ts';
export { readPlanDatasets } from './plan-datasets.ts';
export { freeDiskBytes, planIssues, type PlanIssueOptions } from './plan-issues.ts';
export { NVIDIA_SMI_ARGS, parseNvidiaSmi, probeGpus, type GpuDevice, type GpuProbe, type ProbeGpusParams } from './probe-gpus.ts';
export { MAX_SPEED_SAMPLES, SPEED_HISTORY_FILE, readPlanHistory, recordItPerSecond, speedHistoryFile, type RecordedSample } from './speed-history.ts';
export { runProgram, type ProgramRequest, type ProgramResult, type ProgramRunner } from '../../core/run-program.ts';
export {
  DEFAULT_VRAM_MARGIN,
  FITS_SHARE,
  classifyFit,
  estimateVram,
  judgeVram,
  networkParams,
  optimizerStateBytes,
  vramFixes,
  vramInputsFrom,
  type JudgeVramParams,
  type VramBreakdown,
  type VramFit,
  type VramFix,
  type VramInputs,
  type VramVerdict,
} from './vram.ts';
