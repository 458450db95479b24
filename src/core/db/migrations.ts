/**
 * Schema migrations, applied in order inside one transaction each; `PRAGMA user_version` records how
 * far a database has come. Append new steps; never edit a step that has shipped.
 */
import type BetterSqlite3 from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'foundation',
    sql: `
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
      CREATE TABLE api_tokens (
        name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL, last_used_at TEXT
      ) STRICT;
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL UNIQUE, csrf_token TEXT NOT NULL,
        created_at TEXT NOT NULL, expires_at TEXT NOT NULL, last_seen_at TEXT NOT NULL,
        user_agent TEXT, revoked_at TEXT
      ) STRICT;
      CREATE TABLE pairing_codes (
        code_hash TEXT PRIMARY KEY, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, used_at TEXT
      ) STRICT;
      CREATE TABLE security_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL,
        detail TEXT NOT NULL, remote TEXT
      ) STRICT;
      CREATE INDEX security_events_at ON security_events (at);
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, detail TEXT,
        params TEXT NOT NULL, progress_done REAL NOT NULL DEFAULT 0, progress_total REAL,
        progress_message TEXT, result TEXT, error TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, started_at TEXT, finished_at TEXT
      ) STRICT;
      CREATE INDEX tasks_state ON tasks (state);
      CREATE INDEX tasks_created ON tasks (created_at);
      CREATE TABLE uploads (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
        size INTEGER NOT NULL, sha256 TEXT, received INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL,
        result TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'model library',
    sql: `
      CREATE TABLE models (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, family TEXT NOT NULL, variant TEXT,
        prediction_type TEXT NOT NULL, format TEXT NOT NULL, size INTEGER NOT NULL,
        sha256 TEXT NOT NULL UNIQUE, autov2 TEXT NOT NULL, autov1 TEXT, sshs_model_hash TEXT,
        rel_path TEXT NOT NULL UNIQUE, source TEXT NOT NULL, lora TEXT, evidence TEXT NOT NULL,
        warnings TEXT NOT NULL, tensor_count INTEGER NOT NULL, parameter_count INTEGER NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX models_created ON models (created_at);
    `,
  },
  {
    version: 3,
    name: 'upload targets',
    sql: `ALTER TABLE uploads ADD COLUMN target TEXT;`,
  },
  {
    version: 4,
    name: 'model entry files and Civitai identification',
    // A tagger recorded before this step held model.onnx and selected_tags.csv: list both (the CSV's size
    // and digest were never taken). Other earlier entries are one file each, derived when read.
    sql: `
      ALTER TABLE models ADD COLUMN files TEXT;
      ALTER TABLE models ADD COLUMN civitai TEXT;
      UPDATE models SET files = json_array(
        json_object('path', 'model.onnx', 'size', size, 'sha256', sha256, 'main', json('true')),
        json_object('path', 'selected_tags.csv', 'size', NULL, 'sha256', NULL, 'main', json('false'))
      ) WHERE kind = 'tagger';
    `,
  },
  {
    version: 5,
    name: 'jobs',
    // Kysely types: src/jobs/job-tables.ts. The event cursor, sequence and events.jsonl length move together
    // in one transaction, so a replay after a crash appends exactly what was not yet recorded.
    sql: `
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY, state TEXT NOT NULL, engine TEXT NOT NULL, name TEXT NOT NULL,
        family TEXT NOT NULL, config TEXT NOT NULL, seed INTEGER NOT NULL, datasets TEXT NOT NULL,
        device TEXT NOT NULL, gpu_request TEXT, slots TEXT NOT NULL DEFAULT '[]',
        allow_unsandboxed INTEGER NOT NULL DEFAULT 0, sandbox TEXT,
        resumed_from TEXT REFERENCES jobs (id), resume_state TEXT,
        sort_order REAL NOT NULL, manifest_sha256 TEXT NOT NULL,
        shim_pid INTEGER, shim_start_ticks TEXT,
        event_segment INTEGER NOT NULL DEFAULT 1, event_offset INTEGER NOT NULL DEFAULT 0,
        event_seq INTEGER NOT NULL DEFAULT 0, events_bytes INTEGER NOT NULL DEFAULT 0,
        progress TEXT NOT NULL, failure_code TEXT, failure_message TEXT, failure_hint TEXT, failure_lines TEXT,
        output_model_id TEXT, resumable INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, started_at TEXT, finished_at TEXT
      ) STRICT;
      CREATE INDEX jobs_state_order ON jobs (state, sort_order);
      CREATE INDEX jobs_created ON jobs (created_at);
      CREATE TABLE job_events (
        job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, seq INTEGER NOT NULL,
        kind TEXT NOT NULL, data TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (job_id, seq)
      ) STRICT;
      CREATE TABLE job_slots (
        slot TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, claimed_at TEXT NOT NULL
      ) STRICT;
      CREATE TABLE dataset_locks (
        dataset TEXT NOT NULL, job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, locked_at TEXT NOT NULL,
        PRIMARY KEY (dataset, job_id)
      ) STRICT;
    `,
  },
  {
    version: 6,
    name: 'job operator inputs',
    // An imported config's request (text, file name, folder, format) as JSON: src/training/import/operator-job.ts.
    sql: `ALTER TABLE jobs ADD COLUMN operator TEXT;`,
  },
];

export function migrate(db: BetterSqlite3.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
  return db.pragma('user_version', { simple: true }) as number;
}
