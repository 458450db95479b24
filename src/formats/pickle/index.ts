export { checkImport, dangerousLabel } from './check-import.ts';
export type { ImportCheck } from './check-import.ts';
export { collectTensors } from './collect-tensors.ts';
export { interpretPickle } from './interpret.ts';
export type { PickleDialect, PickleRun } from './interpret.ts';
export { resolvePickleLimits, runRawPickle, scanPickle, visitMeterFor } from './scan-pickle.ts';
export type { PickleScan } from './scan-pickle.ts';
export { TORCH_DTYPES, isTorchDtype } from './torch-dtypes.ts';
export { DEFAULT_PICKLE_LIMITS } from './types.ts';
export type {
  Finding,
  PickleLimits,
  Rejection,
  ScanWarning,
  StorageDescription,
  TensorDescription,
  TensorPathSegment,
  TorchDtype,
  Verdict,
} from './types.ts';
export { verdictOf } from './verdict.ts';
