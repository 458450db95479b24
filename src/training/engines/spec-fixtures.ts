/**
 * Shared by the engine launch specs: the allowlisted environment (PROC-R03) every engine gets, written out
 * by hand rather than taken from launch-common.ts, so a spec fails when an entry is added, dropped or changed.
 */
export function allowlistedEnv(params: { venvDir: string; workDir: string; cudaVisibleDevices: string }): Record<string, string> {
  return {
    PATH: `${params.venvDir}/bin:/usr/bin:/bin`,
    HOME: `${params.workDir}/home`,
    HF_HOME: `${params.workDir}/hf`,
    LANG: 'C.UTF-8',
    PYTHONNOUSERSITE: '1',
    PYTHONUTF8: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    TORCH_FORCE_WEIGHTS_ONLY_LOAD: '1',
    HF_HUB_OFFLINE: '1',
    TRANSFORMERS_OFFLINE: '1',
    HF_HUB_DISABLE_TELEMETRY: '1',
    CUDA_VISIBLE_DEVICES: params.cudaVisibleDevices,
  };
}
