/**
 * The jobs tables as records: insert with the dataset locks, state transitions that only happen from the
 * states they name (so a stop and the supervisor never overwrite each other), slot claims in one transaction,
 * the queue order, and the event mirror committed together with the log cursor.
 */
import type { Insertable, Selectable, Updateable } from 'kysely';
import path from 'node:path';
import { LorasmithError } from '../core/errors.ts';
import type { EngineId } from '../training/engines/engine.ts';
import type { RunConfig } from '../training/schema/index.ts';
import type { OperatorImport } from '../training/import/operator-job.ts';
import { EMPTY_PROGRESS, type GpuRequest, type JobDevice, type JobEvent, type JobFailure, type JobProgress, type JobRecord, type JobState } from './job-types.ts';
import type { JobsDb, JobsTable } from './job-tables.ts';
import type { LogCursor, SandboxMode } from './shim/protocol.ts';

export type JobRow = Selectable<JobsTable>;

export function jobNotFound(id: string): LorasmithError {
  return new LorasmithError({ code: 'job-not-found', message: `There is no job ${JSON.stringify(id)}.`, hint: 'List jobs with `lorasmith jobs list`.', status: 404 });
}

function failureOf(row: JobRow): JobFailure | null {
  if (row.failure_code === null) return null;
  return {
    code: row.failure_code,
    message: row.failure_message ?? '',
    ...(row.failure_hint === null ? {} : { hint: row.failure_hint }),
    ...(row.failure_lines === null ? {} : { lastLines: JSON.parse(row.failure_lines) as string[] }),
  };
}

export function toJobRecord(row: JobRow, position: number | null): JobRecord {
  return {
    id: row.id,
    state: row.state as JobState,
    engine: row.engine as EngineId,
    name: row.name,
    family: row.family,
    datasets: JSON.parse(row.datasets) as string[],
    device: row.device as JobDevice,
    gpuRequest: row.gpu_request === null ? null : (JSON.parse(row.gpu_request) as GpuRequest),
    slots: JSON.parse(row.slots) as string[],
    sandbox: row.sandbox as SandboxMode | null,
    resumedFrom: row.resumed_from,
    resumeState: row.resume_state === null ? null : path.basename(row.resume_state),
    position,
    progress: { ...EMPTY_PROGRESS, ...(JSON.parse(row.progress) as Partial<JobProgress>) },
    failure: failureOf(row),
    outputModelId: row.output_model_id,
    resumable: row.resumable === 1,
    config: JSON.parse(row.config) as RunConfig,
    seed: row.seed,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export interface NewJob {
  id: string;
  engine: EngineId;
  name: string;
  family: string;
  config: RunConfig;
  seed: number;
  datasets: string[];
  device: JobDevice;
  gpuRequest: GpuRequest | null;
  allowUnsandboxed: boolean;
  resumedFrom: string | null;
  resumeState: string | null;
  manifestSha256: string;
  /** An imported config's request, kept so the run's operator inputs are prepared again when it starts. */
  operator?: OperatorImport;
}

/** Columns a transition may set besides the state. */
export type JobPatch = Omit<Updateable<JobsTable>, 'id' | 'state' | 'updated_at'>;

export function failurePatch(failure: JobFailure): JobPatch {
  return {
    failure_code: failure.code,
    failure_message: failure.message,
    failure_hint: failure.hint ?? null,
    failure_lines: failure.lastLines === undefined ? null : JSON.stringify(failure.lastLines),
  };
}

export class JobStore {
  readonly #db: JobsDb;
  readonly #now: () => Date;

  constructor(params: { db: JobsDb; now?: () => Date }) {
    this.#db = params.db;
    this.#now = params.now ?? (() => new Date());
  }

  #stamp(): string {
    return this.#now().toISOString();
  }

  /** A queued job and its dataset locks, in one transaction; last in the queue. */
  async insert(job: NewJob): Promise<void> {
    const now = this.#stamp();
    await this.#db.transaction().execute(async (trx) => {
      const last = await trx.selectFrom('jobs').select((eb) => eb.fn.max('sort_order').as('max')).executeTakeFirst();
      const row: Insertable<JobsTable> = {
        id: job.id,
        state: 'queued',
        engine: job.engine,
        name: job.name,
        family: job.family,
        config: JSON.stringify(job.config),
        seed: job.seed,
        datasets: JSON.stringify(job.datasets),
        device: job.device,
        gpu_request: job.gpuRequest === null ? null : JSON.stringify(job.gpuRequest),
        slots: '[]',
        allow_unsandboxed: job.allowUnsandboxed ? 1 : 0,
        sandbox: null,
        resumed_from: job.resumedFrom,
        resume_state: job.resumeState,
        sort_order: (last?.max ?? 0) + 1,
        manifest_sha256: job.manifestSha256,
        operator: job.operator === undefined ? null : JSON.stringify(job.operator),
        progress: JSON.stringify(EMPTY_PROGRESS),
        resumable: 0,
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('jobs').values(row).execute();
      for (const dataset of new Set(job.datasets)) await trx.insertInto('dataset_locks').values({ dataset, job_id: job.id, locked_at: now }).execute();
    });
  }

  async row(id: string): Promise<JobRow> {
    const row = await this.#db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw jobNotFound(id);
    return row;
  }

  async #position(row: JobRow): Promise<number | null> {
    if (row.state !== 'queued') return null;
    const ahead = await this.#db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', '=', 'queued')
      .where('sort_order', '<', row.sort_order)
      .executeTakeFirst();
    return Number(ahead?.n ?? 0) + 1;
  }

  async get(id: string): Promise<JobRecord> {
    const row = await this.row(id);
    return toJobRecord(row, await this.#position(row));
  }

  /** Newest first; queued jobs carry their place in the queue. */
  async list(params: { limit?: number; states?: readonly JobState[] } = {}): Promise<JobRecord[]> {
    let query = this.#db.selectFrom('jobs').selectAll().orderBy('created_at', 'desc').orderBy('sort_order', 'desc').limit(params.limit ?? 100);
    if (params.states !== undefined) query = query.where('state', 'in', [...params.states]);
    const rows = await query.execute();
    const queue = (await this.queued()).map((row) => row.id);
    return rows.map((row) => toJobRecord(row, row.state === 'queued' ? queue.indexOf(row.id) + 1 : null));
  }

  /** Queued jobs in queue order. */
  async queued(): Promise<JobRow[]> {
    return this.#db.selectFrom('jobs').selectAll().where('state', '=', 'queued').orderBy('sort_order').execute();
  }

  async inStates(states: readonly JobState[]): Promise<JobRow[]> {
    return this.#db.selectFrom('jobs').selectAll().where('state', 'in', [...states]).orderBy('sort_order').execute();
  }

  /** Set `to` (and `patch`) only if the job is in one of `from`; true when it was. */
  async transition(id: string, from: readonly JobState[], to: JobState, patch: JobPatch = {}): Promise<boolean> {
    const result = await this.#db
      .updateTable('jobs')
      .set({ ...patch, state: to, updated_at: this.#stamp() })
      .where('id', '=', id)
      .where('state', 'in', [...from])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async patch(id: string, patch: JobPatch): Promise<void> {
    await this.#db.updateTable('jobs').set({ ...patch, updated_at: this.#stamp() }).where('id', '=', id).execute();
  }

  async claimedSlots(): Promise<Set<string>> {
    const rows = await this.#db.selectFrom('job_slots').select('slot').execute();
    return new Set(rows.map((row) => row.slot));
  }

  /**
   * Claim every slot of the set and move the job from queued to starting, in one transaction: all or nothing
   * (the slot is the primary key, so a slot taken meanwhile fails the whole claim).
   */
  async claim(id: string, slots: readonly string[]): Promise<boolean> {
    const now = this.#stamp();
    try {
      return await this.#db.transaction().execute(async (trx) => {
        const moved = await trx
          .updateTable('jobs')
          .set({ state: 'starting', slots: JSON.stringify(slots), started_at: now, updated_at: now })
          .where('id', '=', id)
          .where('state', '=', 'queued')
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) throw new ClaimLost();
        for (const slot of slots) await trx.insertInto('job_slots').values({ slot, job_id: id, claimed_at: now }).execute();
        return true;
      });
    } catch (error) {
      if (error instanceof ClaimLost || (error instanceof Error && /UNIQUE|PRIMARY KEY/.test(error.message))) return false;
      throw error;
    }
  }

  /** A job that ended gives back its slots and its dataset locks. */
  async release(id: string): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx.deleteFrom('job_slots').where('job_id', '=', id).execute();
      await trx.deleteFrom('dataset_locks').where('job_id', '=', id).execute();
    });
  }

  /**
   * The slots only: the run's engine is gone but its end is still being recorded (its output scanned into the
   * library), so the next queued run may start meanwhile. The dataset locks stay until `release`: a dataset is
   * locked until the end of its run.
   */
  async releaseSlots(id: string): Promise<void> {
    await this.#db.deleteFrom('job_slots').where('job_id', '=', id).execute();
  }

  /** Slots and locks whose job has ended (a crash between the end and the release). */
  async releaseStale(): Promise<void> {
    const finals = ['succeeded', 'failed', 'cancelled', 'interrupted'];
    await this.#db.deleteFrom('job_slots').where('job_id', 'in', (eb) => eb.selectFrom('jobs').select('id').where('state', 'in', finals)).execute();
    await this.#db.deleteFrom('job_slots').where('job_id', 'in', (eb) => eb.selectFrom('jobs').select('id').where('state', '=', 'queued')).execute();
    await this.#db.deleteFrom('dataset_locks').where('job_id', 'in', (eb) => eb.selectFrom('jobs').select('id').where('state', 'in', finals)).execute();
  }

  /** Put a queued job at `position` (1-based) of the queue. */
  async move(id: string, position: number): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const queue = await trx.selectFrom('jobs').select(['id', 'sort_order']).where('state', '=', 'queued').orderBy('sort_order').execute();
      const at = queue.findIndex((row) => row.id === id);
      if (at === -1) {
        throw new LorasmithError({ code: 'job-not-queued', message: `Job ${id} is not queued, so it has no place in the queue.`, hint: 'Only queued jobs can be moved.', exitCode: 2, status: 409 });
      }
      const ids = queue.map((row) => row.id);
      ids.splice(at, 1);
      ids.splice(Math.min(Math.max(position, 1), ids.length + 1) - 1, 0, id);
      // Renumber within the queue's own range, so jobs enqueued later still sort after it.
      const orders = queue.map((row) => row.sort_order);
      for (const [index, jobId] of ids.entries()) await trx.updateTable('jobs').set({ sort_order: orders[index] ?? index }).where('id', '=', jobId).execute();
    });
  }

  /**
   * Record parsed events: the mirror rows, the log cursor and the events.jsonl length move together, so a
   * replay after a crash starts exactly where the record stops.
   */
  async commitEvents(id: string, params: { events: JobEvent[]; cursor: LogCursor; eventsBytes: number; progress?: JobProgress }): Promise<void> {
    const now = this.#stamp();
    await this.#db.transaction().execute(async (trx) => {
      for (const { seq, at, event } of params.events) {
        await trx.insertInto('job_events').values({ job_id: id, seq, kind: event.kind, data: JSON.stringify(event), at }).execute();
      }
      const last = params.events.at(-1);
      await trx
        .updateTable('jobs')
        .set({
          event_segment: params.cursor.segment,
          event_offset: params.cursor.offset,
          events_bytes: params.eventsBytes,
          ...(last === undefined ? {} : { event_seq: last.seq }),
          ...(params.progress === undefined ? {} : { progress: JSON.stringify(params.progress) }),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    });
  }

  async events(id: string, params: { after?: number; limit?: number } = {}): Promise<JobEvent[]> {
    const rows = await this.#db
      .selectFrom('job_events')
      .select(['seq', 'at', 'data'])
      .where('job_id', '=', id)
      .where('seq', '>', params.after ?? 0)
      .orderBy('seq')
      .limit(params.limit ?? 1000)
      .execute();
    return rows.map((row) => ({ seq: row.seq, at: row.at, event: JSON.parse(row.data) as JobEvent['event'] }));
  }
}

class ClaimLost extends Error {}
