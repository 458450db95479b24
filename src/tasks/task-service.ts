/**
 * The task service: persisted tasks with progress, per-kind concurrency, cancel, SSE fan-out through
 * `subscribe`, and a truthful restart — a task the studio was running or holding when it stopped is
 * marked `interrupted`, never left `running` and never silently retried.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Selectable } from 'kysely';
import type { Db } from '../core/db/open-database.ts';
import type { TasksTable } from '../core/db/schema.ts';
import { LorasmithError, isLorasmithError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { redactDeep, redactString } from '../core/redact.ts';
import { FINAL_TASK_STATES, StudioStopping, type TaskError, type TaskKind, type TaskRecord, type TaskState } from './task-types.ts';

/** Progress is emitted on every update but written to SQLite at most this often while running. */
const PERSIST_INTERVAL_MS = 500;

interface Running {
  controller: AbortController;
  lastPersist: number;
}

function toRecord(row: Selectable<TasksTable>): TaskRecord {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state as TaskState,
    detail: row.detail,
    params: JSON.parse(row.params) as unknown,
    progress: { done: row.progress_done, total: row.progress_total, message: row.progress_message },
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    error: row.error === null ? null : (JSON.parse(row.error) as TaskError),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

function notFound(id: string): LorasmithError {
  return new LorasmithError({
    code: 'task-not-found',
    message: `There is no task ${JSON.stringify(id)}.`,
    hint: 'List tasks with `lorasmith tasks list`.',
    status: 404,
  });
}

export class TaskService {
  readonly #db: Db;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #kinds = new Map<string, TaskKind<unknown>>();
  readonly #running = new Map<string, Running>();
  readonly #records = new Map<string, TaskRecord>();
  readonly #emitter = new EventEmitter();
  #closed = false;

  constructor(params: { db: Db; log: Logger; now?: () => Date }) {
    this.#db = params.db;
    this.#log = params.log;
    this.#now = params.now ?? (() => new Date());
    this.#emitter.setMaxListeners(0);
  }

  register<P>(kind: TaskKind<P>): void {
    if (this.#kinds.has(kind.kind)) throw new Error(`task kind ${kind.kind} registered twice`);
    this.#kinds.set(kind.kind, kind as TaskKind<unknown>);
  }

  /** Mark what a previous process left unfinished. Call once at start, before any `start`. */
  async recover(): Promise<TaskRecord[]> {
    const rows = await this.#db.selectFrom('tasks').selectAll().where('state', 'in', ['queued', 'running']).execute();
    const recovered: TaskRecord[] = [];
    const requeued = new Set<string>();
    for (const row of rows) {
      if (this.#kinds.get(row.kind)?.onRestart === 'requeue') {
        recovered.push(await this.#update(row.id, { state: 'queued', startedAt: null, detail: 'queued' }));
        requeued.add(row.kind);
        continue;
      }
      const wasRunning = row.state === 'running';
      const error: TaskError = {
        code: 'interrupted',
        message: wasRunning
          ? 'The studio stopped while this task was running; its work did not finish.'
          : 'The studio stopped before this task started.',
        hint: 'Start it again.',
      };
      recovered.push(await this.#update(row.id, { state: 'interrupted', error, finishedAt: this.#now().toISOString() }));
    }
    // #update keeps non-final records in memory; queued ones are picked from the database by #pump.
    for (const id of recovered.filter((record) => record.state === 'queued').map((record) => record.id)) this.#records.delete(id);
    for (const kind of requeued) this.#pump(kind);
    return recovered;
  }

  async start(kindName: string, rawParams: unknown): Promise<TaskRecord> {
    const kind = this.#kinds.get(kindName);
    if (kind === undefined) {
      throw new LorasmithError({
        code: 'task-kind-unknown',
        message: `There is no task kind ${JSON.stringify(kindName)}.`,
        hint: `Known kinds: ${[...this.#kinds.keys()].join(', ')}.`,
      });
    }
    const params = kind.params.parse(rawParams);
    const now = this.#now().toISOString();
    const id = randomUUID();
    await this.#db
      .insertInto('tasks')
      .values({
        id,
        kind: kindName,
        state: 'queued',
        detail: null,
        params: JSON.stringify(redactDeep(params)),
        progress_done: 0,
        progress_total: null,
        progress_message: null,
        result: null,
        error: null,
        created_at: now,
        updated_at: now,
        started_at: null,
        finished_at: null,
      })
      .execute();
    const record = await this.get(id);
    this.#publish(record);
    this.#pump(kindName);
    return record;
  }

  async get(id: string): Promise<TaskRecord> {
    const cached = this.#records.get(id);
    if (cached !== undefined) return cached;
    const row = await this.#db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw notFound(id);
    return toRecord(row);
  }

  async list(params: { limit?: number; kind?: string } = {}): Promise<TaskRecord[]> {
    let query = this.#db.selectFrom('tasks').selectAll().orderBy('created_at', 'desc').limit(params.limit ?? 50);
    if (params.kind !== undefined) query = query.where('kind', '=', params.kind);
    const rows = await query.execute();
    return rows.map((row) => this.#records.get(row.id) ?? toRecord(row));
  }

  async cancel(id: string): Promise<TaskRecord> {
    const record = await this.get(id);
    if (FINAL_TASK_STATES.has(record.state)) return record;
    const running = this.#running.get(id);
    if (running !== undefined) {
      running.controller.abort();
      return this.#waitForFinal(id);
    }
    return this.#finish(id, 'cancelled', null, { code: 'cancelled', message: 'Cancelled before it started.' });
  }

  /** Listen to task updates: one task's (`id`) or every task's (`null`). Returns the unsubscribe. */
  subscribe(id: string | null, listener: (record: TaskRecord) => void): () => void {
    const channel = id === null ? 'task' : `task:${id}`;
    this.#emitter.on(channel, listener);
    return () => this.#emitter.off(channel, listener);
  }

  /** Stop taking work; running tasks are aborted and recorded as interrupted. */
  async close(): Promise<void> {
    this.#closed = true;
    const ids = [...this.#running.keys()];
    for (const id of ids) this.#running.get(id)?.controller.abort(new StudioStopping());
    await Promise.all(ids.map((id) => this.#waitForFinal(id)));
  }

  #publish(record: TaskRecord): void {
    this.#emitter.emit('task', record);
    this.#emitter.emit(`task:${record.id}`, record);
  }

  #waitForFinal(id: string): Promise<TaskRecord> {
    return new Promise((resolve) => {
      const current = this.#records.get(id);
      if (current === undefined || FINAL_TASK_STATES.has(current.state)) {
        void this.get(id).then(resolve);
        return;
      }
      const off = this.subscribe(id, (record) => {
        if (FINAL_TASK_STATES.has(record.state)) {
          off();
          resolve(record);
        }
      });
    });
  }

  /** Start queued tasks of this kind while its concurrency allows, oldest first. */
  #pump(kindName: string): void {
    if (this.#closed) return;
    const kind = this.#kinds.get(kindName);
    if (kind === undefined) return;
    void (async () => {
      const runningOfKind = [...this.#records.values()].filter((r) => r.kind === kindName && r.state === 'running').length;
      const free = kind.concurrency - runningOfKind;
      if (free <= 0) return;
      const queued = await this.#db
        .selectFrom('tasks')
        .select('id')
        .where('kind', '=', kindName)
        .where('state', '=', 'queued')
        .orderBy('created_at')
        .limit(free)
        .execute();
      for (const { id } of queued) {
        if (this.#running.has(id)) continue;
        this.#run(kind, id);
      }
    })().catch((error: unknown) => this.#log.error({ err: error }, 'task scheduling failed'));
  }

  #run(kind: TaskKind<unknown>, id: string): void {
    const running: Running = { controller: new AbortController(), lastPersist: 0 };
    this.#running.set(id, running);
    void (async () => {
      const record = await this.#update(id, { state: 'running', startedAt: this.#now().toISOString() });
      const ctx = {
        id,
        signal: running.controller.signal,
        log: this.#log.child({ task: id, kind: kind.kind }),
        progress: (update: { done: number; total?: number | null; message?: string | null }) => {
          const current = this.#records.get(id) ?? record;
          const progress = {
            done: update.done,
            total: update.total === undefined ? current.progress.total : update.total,
            message: update.message === undefined ? current.progress.message : update.message === null ? null : redactString(update.message),
          };
          const nowMs = Date.now();
          const persist = nowMs - running.lastPersist >= PERSIST_INTERVAL_MS;
          if (persist) running.lastPersist = nowMs;
          this.#setInMemory(id, { progress }, persist);
        },
        detail: (detail: string) => this.#setInMemory(id, { detail }, true),
      };
      try {
        const result = await kind.run(record.params, ctx);
        await this.#finish(id, 'succeeded', result ?? null, null);
      } catch (error) {
        if (running.controller.signal.aborted) {
          const stopping = this.#closed;
          await this.#finish(
            id,
            stopping ? 'interrupted' : 'cancelled',
            null,
            stopping
              ? { code: 'interrupted', message: 'The studio stopped while this task was running.', hint: 'Start it again.' }
              : { code: 'cancelled', message: 'Cancelled.' },
          );
        } else {
          const taskError: TaskError = isLorasmithError(error)
            ? { code: error.code, message: redactString(error.message), ...(error.hint ? { hint: error.hint } : {}) }
            : { code: 'internal', message: 'The task failed unexpectedly.', hint: 'See the studio log for details.' };
          if (!isLorasmithError(error)) this.#log.error({ err: error, task: id }, 'task failed');
          await this.#finish(id, 'failed', null, taskError);
        }
      } finally {
        this.#running.delete(id);
        this.#records.delete(id);
        this.#pump(kind.kind);
      }
    })().catch((error: unknown) => this.#log.error({ err: error, task: id }, 'task bookkeeping failed'));
  }

  #setInMemory(id: string, patch: Partial<Pick<TaskRecord, 'progress' | 'detail'>>, persist: boolean): void {
    const current = this.#records.get(id);
    if (current === undefined || FINAL_TASK_STATES.has(current.state)) return;
    const next: TaskRecord = { ...current, ...patch, updatedAt: this.#now().toISOString() };
    this.#records.set(id, next);
    this.#publish(next);
    if (persist) void this.#write(next).catch((error: unknown) => this.#log.error({ err: error }, 'task progress write failed'));
  }

  async #finish(id: string, state: TaskState, result: unknown, error: TaskError | null): Promise<TaskRecord> {
    return this.#update(id, { state, result: redactDeep(result), error, finishedAt: this.#now().toISOString() });
  }

  async #update(
    id: string,
    patch: Partial<Pick<TaskRecord, 'state' | 'error' | 'result' | 'startedAt' | 'finishedAt' | 'detail'>>,
  ): Promise<TaskRecord> {
    const current = this.#records.get(id) ?? (await this.get(id));
    const next: TaskRecord = { ...current, ...patch, updatedAt: this.#now().toISOString() };
    if (FINAL_TASK_STATES.has(next.state)) this.#records.delete(id);
    else this.#records.set(id, next);
    await this.#write(next);
    this.#publish(next);
    return next;
  }

  async #write(record: TaskRecord): Promise<void> {
    await this.#db
      .updateTable('tasks')
      .set({
        state: record.state,
        detail: record.detail,
        progress_done: record.progress.done,
        progress_total: record.progress.total,
        progress_message: record.progress.message,
        result: record.result === null || record.result === undefined ? null : JSON.stringify(record.result),
        error: record.error === null ? null : JSON.stringify(record.error),
        updated_at: record.updatedAt,
        started_at: record.startedAt,
        finished_at: record.finishedAt,
      })
      .where('id', '=', record.id)
      .execute();
  }
}
