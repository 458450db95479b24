export { externalLocationProblem, resolveExternalDataPath } from './external-location.ts';
export { DEFAULT_ONNX_MAX_BYTES, inspectOnnxFile, inspectOnnxModel, looksLikeOnnxModel } from './inspect.ts';
export type { OnnxExternalData, OnnxInspection, OnnxModelInfo, OnnxRejection, OnnxRejectionCode } from './inspect.ts';
