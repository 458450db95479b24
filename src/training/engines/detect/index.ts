/** Engine locations, detection, install plans and the installer (DESIGN.md §4 `detect()` / `installPlan()`), for kohya sd-scripts and FluxFlow. */
export {
  ENGINE_IDS,
  engineLocation,
  enginesDirFrom,
  strongestSource,
  type EngineEnv,
  type EngineId,
  type EngineLocation,
  type EngineLocationSettings,
  type LocationSource,
} from './engine-location.ts';
export { enginesSettingsSchema, operatorPathSchema, type EnginesSettings } from './engine-settings.ts';
export { setEngineLocation, type EngineLocationPatch, type EngineSettingsStore } from './set-engine-location.ts';
export { KOHYA_NOT_INSTALLED, kohyaEngineStatus, type KohyaEngineStatus } from './kohya-engine-status.ts';
export { KOHYA_PINNED_COMMIT, detectEngine, type DetectEngineParams, type EngineStatus } from './detect-engine.ts';
export { detectEngines, type DetectEnginesParams, type EngineReport, type EnginesReport } from './detect-engines.ts';
export {
  KOHYA_REPOSITORY,
  PYPI_INDEX,
  TORCH_CUDA_BUILDS,
  TORCH_VERSION,
  cudaForDriver,
  describeInstallPlan,
  installPlan,
  startupFilesPlan,
  torchIndexFor,
  type HubFetch,
  type InstallPlanParams,
  type InstallStep,
  type InstallTarget,
} from './install-plan.ts';
export {
  LOCKS_DIR,
  STARTUP_FILES_LOCK,
  checkRequirementsLock,
  readStartupFilesLock,
  startupFileTargets,
  startupSetDir,
  type RequirementsLockCheck,
  type StartupFileSet,
  type StartupFileTarget,
  type StartupFilesLock,
} from './locks.ts';
export { findOnPath, prepareInstall, type PrepareInstallParams, type PreparedInstall } from './prepare-install.ts';
export { checkInstallPins, pinsHint, runInstall, type InstallResult, type PinFinding, type RunInstallParams, type StepEvent, type StepOutcome, type StepStatus } from './run-install.ts';
export { fetchStartupFiles, type FetchStartupFilesParams } from './fetch-startup-files.ts';
export { readGitHead, type GitHead } from './read-git-head.ts';
