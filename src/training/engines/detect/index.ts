/** Engine detection and install plans (DESIGN.md §4 `detect()` / `installPlan()`), for kohya sd-scripts and FluxFlow. */
export {
  KOHYA_PINNED_COMMIT,
  detectEngine,
  engineLocation,
  enginesDirFrom,
  type DetectEngineParams,
  type EngineEnv,
  type EngineId,
  type EngineLocationSettings,
  type EngineStatus,
  type LocationSource,
} from './detect-engine.ts';
export {
  KOHYA_REPOSITORY,
  TORCH_CUDA_BUILDS,
  TORCH_VERSION,
  cudaForDriver,
  describeInstallPlan,
  installPlan,
  torchIndexFor,
  type HubFetch,
  type InstallPlanParams,
  type InstallStep,
  type InstallTarget,
} from './install-plan.ts';
export { readGitHead, type GitHead } from './read-git-head.ts';
