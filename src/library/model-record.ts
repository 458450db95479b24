/** A model in the library: only files that passed their scan, with hashes, fingerprint and provenance. */
import type { FamilyVariant, LoraDetails, ModelFamily, ModelKind, PredictionType } from '../formats/fingerprint/index.ts';

export type ModelSourceType = 'local' | 'upload' | 'hf' | 'civitai' | 'url' | 'run';

export interface ModelSource {
  type: ModelSourceType;
  /** Set when a safe pickle checkpoint was converted: what it was, and the original's hash. */
  converted: null | { from: string; originalName: string; originalSha256: string };
  /**
   * Where it came from, as the hub named it: `{ repo, commit, path, sha256, size }` for Hugging Face,
   * `{ modelId, versionId, fileId, sha256, … }` for Civitai, `{ url }` (host + path) for other URLs.
   */
  provenance?: Record<string, string | number | boolean | null>;
}

/**
 * The folders under `models/<kind>/` (DESIGN.md §3): `hf/<owner>--<name>/<commit>`,
 * `civitai/<modelId>/<versionId>`, `url/<host>/<sha256-12>`, `local/<sha256-12>/-`, `run/<job-id>/<final|epoch-N>`.
 * Uploads are local files. Hub callers give `id` and `rev`; local ones get the hash.
 */
export interface ModelLocation {
  type: ModelSourceType;
  id?: string;
  rev?: string;
}

export function locationSegments(location: ModelLocation, sha256: string): [string, string, string] {
  const short = sha256.slice(0, 12);
  switch (location.type) {
    case 'local':
    case 'upload':
      return ['local', short, '-'];
    case 'url':
      return ['url', location.id ?? 'unknown-host', short];
    default:
      if (location.id === undefined || location.rev === undefined) throw new Error(`a ${location.type} model needs its id and revision`);
      return [location.type, location.id, location.rev];
  }
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
