/** Shapes of the studio's HTTP API, as the server sends them. */

export interface ApiErrorBody {
  code: string;
  message: string;
  hint?: string | null;
}

export interface Session {
  sessionId: string;
  csrfToken: string;
  expiresAt: string;
}

export interface WorkspaceInfo {
  home: string;
  version: string;
  node: string;
  dbFile: string;
  freeDiskBytes: number;
  serverUrl: string;
  exposed: boolean;
}

export type SecretName = 'hf' | 'civitai' | 'webhook';

export interface SecretEntry {
  name: SecretName;
  label: string;
  present: boolean;
  masked: string | null;
  source: 'store' | 'env' | null;
}

export interface ApiToken {
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface CreatedToken {
  name: string;
  token: string;
}

export interface BrowserSession {
  id: string;
  createdAt: string;
  expiresAt: string;
  lastSeenAt: string;
  current: boolean;
  userAgent: string | null;
}

export interface SecurityEvent {
  id: number;
  at: string;
  kind: string;
  detail: string;
  remote: string | null;
}

export type TaskState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export interface TaskRecord {
  id: string;
  kind: string;
  state: TaskState;
  detail: string | null;
  progress: { done: number; total: number | null; message: string | null };
  createdAt: string;
  updatedAt: string;
  error: ApiErrorBody | null;
  /** What a finished task produced; its shape depends on the kind (e.g. `{ model }` for `model-import`). */
  result?: unknown;
}

export function isFinalState(state: TaskState): boolean {
  return state !== 'queued' && state !== 'running';
}

export type ModelKind = 'checkpoint' | 'lora' | 'vae' | 'text-encoder' | 'embedding' | 'tagger' | 'other';
export type ModelFormat = 'safetensors' | 'gguf' | 'onnx';
export type PredictionType = 'epsilon' | 'v' | 'unknown';
export type ModelSourceType = 'local' | 'upload' | 'hf' | 'civitai' | 'url' | 'run';

export interface LoraInfo {
  naming: string;
  algorithm: string;
  dora: boolean;
  /** The trainer's network module when the metadata names it, e.g. `networks.lora`. */
  networkModule?: string | null;
  rank: number | null;
  convRank: number | null;
  alpha: number | null;
  /** Target group → number of modules adapted. */
  targets: Record<string, number>;
}

/** One file of a library entry, relative to the entry's folder; the main one is fingerprinted and hashed. */
export interface ModelFileEntry {
  path: string;
  size: number | null;
  sha256: string | null;
  main: boolean;
}

/** Civitai's licence flags of a model, as its uploader set them. */
export interface CivitaiLicense {
  /** `Image`, `RentCivit`, `Rent`, `Sell`; empty = no commercial use. */
  allowCommercialUse: string[];
  allowNoCredit: boolean | null;
  allowDerivatives: boolean | null;
  allowDifferentLicense: boolean | null;
}

/** What Civitai said about the entry's main file, by SHA-256 (`POST /api/models/:id/identify`). */
export interface CivitaiIdentification {
  found: boolean;
  sha256: string;
  checkedAt: string;
  modelId: number | null;
  versionId: number | null;
  modelName: string | null;
  versionName: string | null;
  modelType: string | null;
  baseModel: string | null;
  trainedWords: string[];
  license: CivitaiLicense | null;
  url: string | null;
}

export interface ModelRecord {
  id: string;
  name: string;
  kind: ModelKind;
  /** 'sd1' | 'sd2' | 'sdxl' | 'sd3' | 'flux1' | 'chroma' | 'lumina2' | 'hunyuan-image-2.1' | 'anima' | 'fluxflow' | 'unknown' */
  family: string;
  variant: string | null;
  predictionType: PredictionType;
  format: ModelFormat;
  verdict: 'safe';
  warnings: string[];
  size: number;
  tensorCount: number;
  parameterCount: number;
  hashes: { sha256: string; autoV2: string; autoV1: string | null; sshsModelHash: string | null };
  lora: LoraInfo | null;
  source: {
    type: ModelSourceType;
    converted: null | { from: string; originalName: string; originalSha256: string };
    /** Where it came from as the hub named it (repo, commit, path; model, version, file ids …). */
    provenance?: Record<string, string | number | boolean | null>;
  };
  evidence: string[];
  createdAt: string;
  /** Every file of the entry (a diffusers folder or a tagger has several); `size` is their total. */
  files: ModelFileEntry[];
  civitai: CivitaiIdentification | null;
}

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
}

export interface ModelHeader {
  format: ModelFormat;
  tensors: TensorInfo[];
  metadata: Record<string, string>;
  dtypes: Record<string, { count: number; bytes: number }>;
}

export type UploadKind = 'model' | 'image' | 'zip';

/** Where an upload goes: the dataset a zip creates, or the dataset (and subset) an image joins. */
export interface UploadTarget {
  dataset: string;
  subset?: string;
}
