/** Table types for Kysely. The schema grows with each domain; migrations.ts creates it. */
import type { Generated } from 'kysely';

export interface SettingsTable {
  key: string;
  value: string;
}

export interface ApiTokensTable {
  name: string;
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
}

export interface SessionsTable {
  id: string;
  secret_hash: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
  user_agent: string | null;
  revoked_at: string | null;
}

export interface PairingCodesTable {
  code_hash: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface SecurityEventsTable {
  id: Generated<number>;
  at: string;
  kind: string;
  detail: string;
  remote: string | null;
}

export interface TasksTable {
  id: string;
  kind: string;
  state: string;
  detail: string | null;
  params: string;
  progress_done: number;
  progress_total: number | null;
  progress_message: string | null;
  result: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface UploadsTable {
  id: string;
  owner: string;
  kind: string;
  name: string;
  size: number;
  sha256: string | null;
  received: number;
  state: string;
  result: string | null;
  /** JSON: where the upload goes, e.g. `{"dataset":"cats","subset":"main"}`. */
  target: string | null;
  created_at: string;
  updated_at: string;
}

export interface ModelsTable {
  id: string;
  name: string;
  kind: string;
  family: string;
  variant: string | null;
  prediction_type: string;
  format: string;
  size: number;
  sha256: string;
  autov2: string;
  autov1: string | null;
  sshs_model_hash: string | null;
  rel_path: string;
  source: string;
  lora: string | null;
  evidence: string;
  warnings: string;
  tensor_count: number;
  parameter_count: number;
  created_at: string;
  /** JSON: the entry's files, `[{path, size, sha256, main}]` (migration 4; NULL on one-file entries recorded before it). */
  files: string | null;
  /** JSON: what Civitai said about the main file (`models identify`), NULL until looked up. */
  civitai: string | null;
}

export interface Database {
  settings: SettingsTable;
  api_tokens: ApiTokensTable;
  sessions: SessionsTable;
  pairing_codes: PairingCodesTable;
  security_events: SecurityEventsTable;
  tasks: TasksTable;
  uploads: UploadsTable;
  models: ModelsTable;
}
