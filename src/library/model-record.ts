/** A model in the library: only files that passed their scan, with hashes, fingerprint and provenance. */
import type { FamilyVariant, LoraDetails, ModelFamily, ModelKind, PredictionType } from '../formats/fingerprint/index.ts';

export type ModelSourceType = 'local' | 'upload' | 'hf' | 'civitai' | 'url' | 'run';

export interface ModelSource {
  type: ModelSourceType;
  /** Set when a safe pickle checkpoint was converted: what it was, and the original's hash. */
  converted: null | { from: string; originalName: string; originalSha256: string };
}

export interface ModelLora {
  naming: LoraDetails['naming'];
  algorithm: LoraDetails['algorithm'];
  dora: boolean;
  networkModule: string | null;
  rank: number | null;
  convRank: number | null;
  alpha: number | null;
  /** Modules per target: `unet`, `conv` and each text encoder by its key prefix. */
  targets: Record<string, number>;
}

export interface ModelRecord {
  id: string;
  name: string;
  kind: ModelKind;
  family: ModelFamily;
  variant: FamilyVariant | null;
  predictionType: PredictionType;
  format: 'safetensors' | 'gguf' | 'onnx';
  verdict: 'safe';
  warnings: string[];
  size: number;
  tensorCount: number;
  parameterCount: number;
  hashes: { sha256: string; autoV2: string; autoV1: string | null; sshsModelHash: string | null };
  lora: ModelLora | null;
  source: ModelSource;
  evidence: string[];
  createdAt: string;
}

export function loraSummary(lora: LoraDetails | null): ModelLora | null {
  if (lora === null) return null;
  return {
    naming: lora.naming,
    algorithm: lora.algorithm,
    dora: lora.dora,
    networkModule: lora.networkModule,
    rank: lora.rank,
    convRank: lora.convRank,
    alpha: lora.alpha,
    targets: { unet: lora.targets.unet, conv: lora.targets.conv, ...lora.targets.textEncoders },
  };
}
