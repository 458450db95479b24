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

export type SecretName = 'hf' | 'civitai';

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
}

export function isFinalState(state: TaskState): boolean {
  return state !== 'queued' && state !== 'running';
}
