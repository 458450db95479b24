/** Fingerprint: what a model file is (kind, family, LoRA form) and its hashes (DESIGN.md §2, `formats/`). */
export { detectFamilyAndKind } from './detect-family-and-kind.ts';
export { hashModelFile, safetensorsBodyStart } from './hashes.ts';
export type { HashModelFileParams, ModelFileHashes } from './hashes.ts';
export type {
  AlphaSource,
  FamilyVariant,
  Fingerprint,
  LoraAlgorithm,
  LoraDetails,
  LoraNaming,
  LoraTargets,
  ModelDescription,
  ModelFamily,
  ModelKind,
  PredictionType,
  TensorDescription,
} from './types.ts';
