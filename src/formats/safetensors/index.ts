export { SAFETENSORS_DTYPES, SAFETENSORS_DTYPE_BITS, isSafetensorsDtype, tensorByteLength } from './dtypes.ts';
export type { SafetensorsDtype } from './dtypes.ts';
export { encodeSafetensorsHeader } from './encode-header.ts';
export type { EncodedSafetensorsHeader, SafetensorsTensorSpec } from './encode-header.ts';
export { tensorNameProblem } from './names.ts';
export { readSafetensorsHeader, readSafetensorsHeaderFromBuffer } from './read-header.ts';
export type { SafetensorsHeaderBytes, SafetensorsHeaderRead } from './read-header.ts';
export { safetensorsRejectionError } from './rejection-error.ts';
export { SHARDED_INDEX_LIMITS, validateShardedIndex } from './sharded-index.ts';
export type { ShardedIndex, ShardedIndexLimits, ShardedIndexRejectionCode, ShardedIndexValidation } from './sharded-index.ts';
export { parseStrictJson } from './strict-json.ts';
export type { JsonValue, JsonParseResult, StrictJsonOptions, WorkMeter } from './strict-json.ts';
export { DEFAULT_SAFETENSORS_LIMITS, REFERENCE_MAX_HEADER_BYTES } from './types.ts';
export type {
  SafetensorsHeader,
  SafetensorsLimits,
  SafetensorsRejection,
  SafetensorsRejectionCode,
  SafetensorsStats,
  SafetensorsTensorInfo,
  SafetensorsValidateOptions,
  SafetensorsValidation,
  SafetensorsWarning,
} from './types.ts';
export { validateSafetensorsBuffer, validateSafetensorsFile, validateSafetensorsHeader } from './validate.ts';
export { writeSafetensors } from './write.ts';
export type { SafetensorsTensorInput, WriteSafetensorsParams, WriteSafetensorsResult } from './write.ts';
