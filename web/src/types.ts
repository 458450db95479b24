/**
 * Shapes of the studio's HTTP API, as the server sends them. The model library's come from the server's own
 * declarations (node-free modules, so importing their types keeps the web build free of node code).
 */
import type { ModelRecord } from '../../src/library/model-record.ts';

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

export type { ModelKind } from '../../src/formats/fingerprint/types.ts';
export type { CivitaiLicense, ModelRecord, ModelSourceType } from '../../src/library/model-record.ts';

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
}

export interface ModelHeader {
  format: ModelRecord['format'];
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
