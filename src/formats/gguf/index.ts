export { validateGgufFile } from './read.ts';
export { GGML_TYPES, GGUF_VALUE_TYPES } from './types.ts';
export type { GgmlTypeInfo, GgufScalarTypeName, GgufValueTypeName } from './types.ts';
export { DEFAULT_GGUF_LIMITS, validateGgufHeader } from './validate.ts';
export type {
  GgufArrayItems,
  GgufHeader,
  GgufLimits,
  GgufMetadataValue,
  GgufRejection,
  GgufRejectionCode,
  GgufTensorInfo,
  GgufValidation,
} from './validate.ts';
