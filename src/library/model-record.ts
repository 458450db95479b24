/** A model in the library: only files that passed their scan, with hashes, fingerprint and provenance. */
// The fingerprint's vocabulary, not its index: this module stays free of node: imports because the web UI imports its types.
import type { FamilyVariant, LoraDetails, ModelFamily, ModelKind, PredictionType } from '../formats/fingerprint/types.ts';

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

/**
 * One file of a library entry, by its path relative to the entry's folder ('/'-separated, each segment
 * sanitised). A multi-file model (a diffusers folder, a tagger's onnx + csv, sharded weights) is one entry
 * whose files share that folder (DESIGN.md §3); a one-file model lists just its file.
 */
export interface ModelFileEntry {
  path: string;
  /** Bytes; null only for a tagger's CSV recorded before files were listed. */
  size: number | null;
  sha256: string | null;
  /** The file the entry was fingerprinted and hashed by: the record's `hashes` are this file's. */
  main: boolean;
}

/** Civitai's licence flags of a model (`GET /api/v1/models/{id}`), as the uploader set them. */
export interface CivitaiLicense {
  /** What commercial use is allowed: `Image`, `RentCivit`, `Rent`, `Sell`; empty (or `None`) = none. */
  allowCommercialUse: string[];
  /** Use without crediting the creator. */
  allowNoCredit: boolean | null;
  /** Sharing merges or derivatives. */
  allowDerivatives: boolean | null;
  /** Derivatives under other permissions. */
  allowDifferentLicense: boolean | null;
}

/**
 * What Civitai says about a file, looked up by its SHA-256 (`models identify`). Information only: the
 * fingerprint still decides kind and family.
 */
export interface CivitaiIdentification {
  found: boolean;
  sha256: string;
  /** When the lookup was made (ISO 8601). */
  checkedAt: string;
  modelId: number | null;
  versionId: number | null;
  modelName: string | null;
  versionName: string | null;
  modelType: string | null;
  baseModel: string | null;
  /** Trigger words of the version. */
  trainedWords: string[];
  license: CivitaiLicense | null;
  /** The model page on Civitai. */
  url: string | null;
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
  /** Every file of the entry; `size` above is their total. */
  files: ModelFileEntry[];
  /** The last `models identify` answer; null until looked up. */
  civitai: CivitaiIdentification | null;
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
