/**
 * Kysely types of the jobs tables (migrations 5 and 6 in src/core/db/migrations.ts). Kept with the domain and added
 * to the workspace database's type with `withTables`, so the shared schema file stays the foundation's.
 */
import type { Generated, Kysely } from 'kysely';
import type { Database } from '../core/db/schema.ts';

export type JobsTable = {
  id: string;
  state: string;
  engine: string;
  name: string;
  family: string;
  /** The parsed run config with its defaults, JSON. */
  config: string;
  seed: number;
  /** JSON array of dataset names (locked while the job is not final). */
  datasets: string;
  device: string;
  /** JSON GpuRequest, null in CPU / unknown mode. */
  gpu_request: string | null;
  /** JSON array of claimed slots. */
  slots: string;
  allow_unsandboxed: number;
  sandbox: string | null;
  resumed_from: string | null;
  /** The parent's saved-state folder (absolute) this job resumes from. */
  resume_state: string | null;
  sort_order: number;
  manifest_sha256: string;
  /** An imported config's `OperatorImport` (JSON), whose operator inputs the run reads; null for a lorasmith config. */
  operator: string | null;
  shim_pid: number | null;
  shim_start_ticks: string | null;
  event_segment: Generated<number>;
  event_offset: Generated<number>;
  event_seq: Generated<number>;
  events_bytes: Generated<number>;
  progress: string;
  failure_code: string | null;
  failure_message: string | null;
  failure_hint: string | null;
  failure_lines: string | null;
  output_model_id: string | null;
  resumable: number;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
};

export type JobEventsTable = {
  job_id: string;
  seq: number;
  kind: string;
  data: string;
  at: string;
};

export type JobSlotsTable = {
  slot: string;
  job_id: string;
  claimed_at: string;
};

export type DatasetLocksTable = {
  dataset: string;
  job_id: string;
  locked_at: string;
};

export type JobTables = {
  jobs: JobsTable;
  job_events: JobEventsTable;
  job_slots: JobSlotsTable;
  dataset_locks: DatasetLocksTable;
};

export type JobsDb = Kysely<Database & JobTables>;

export function jobsDb(db: Kysely<Database>): JobsDb {
  return db.withTables<JobTables>();
};
