/**
 * The jobs domain (DESIGN.md §5): enqueue a run (validated, its datasets locked, its manifest taken), a
 * scheduler that claims every slot of a run's set in one transaction and starts the run's shim, a watch per
 * run that records its events, and the end — scanned output into the library, slots and locks given back.
 * Stop, cancel, resume, queue order and promotion of per-epoch files are here too.
 *
 * Only the process holding the workspace lock calls `supervise()` (the studio, or `train` in-process), so a
 * run is never supervised twice and its events have one writer. Everything else (list, show, the dataset lock)
 * works from any process.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { SecurityEvents } from '../access/security-events.ts';
import type { Database } from '../core/db/schema.ts';
import { LorasmithError, isLorasmithError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { redactString } from '../core/redact.ts';
import type { Workspace } from '../core/workspace.ts';
import type { ImportModelResult } from '../library/import-model.ts';
import type { ModelLibrary } from '../library/model-library.ts';
import type { EngineId, MetricBatch, MetricsCursor } from '../training/engines/engine.ts';
import type { GpuProbe } from '../training/planner/probe-gpus.ts';
import { recordItPerSecond, speedHistoryFile } from '../training/planner/speed-history.ts';
import type { OperatorRun } from '../training/import/operator-inputs.ts';
import { operatorInputFiles, operatorResolver, prepareOperatorImport, type OperatorImport } from '../training/import/operator-job.ts';
import { KOHYA_FAMILIES, type RunConfig } from '../training/schema/index.ts';
import { validateRun, type RunResolver, type ValidationIssue } from '../training/validate/index.ts';
import { appendEvents, truncateEvents } from './events-file.ts';
import { importRunOutput } from './import-run-output.ts';
import type { JobEngine } from './job-engine.ts';
import { STOP_KEEPS, decideOutcome } from './job-outcome.ts';
import { foldProgress } from './job-progress.ts';
import type { JobRunner } from './job-runner.ts';
import type { JobSettings } from './job-settings.ts';
import { JobStore, failurePatch, jobNotFound, type JobPatch, type JobRow } from './job-store.ts';
import { jobsDb } from './job-tables.ts';
import {
  ACTIVE_JOB_STATES,
  EMPTY_PROGRESS,
  RESUMABLE_JOB_STATES,
  isFinalJobState,
  type GpuRequest,
  type JobDevice,
  type JobEvent,
  type JobFailure,
  type JobProgress,
  type JobRecord,
  type JobState,
  type JobStateEvent,
  type RunCheckpoint,
  type StopResult,
} from './job-types.ts';
import { RunLogReader } from './run-log-reader.ts';
import { readLaunchRecord, readLogTail, readManifest, workDirOf, writeLaunchRecord, writeManifest } from './run-files.ts';
import { manifestDigest, recheckManifest, takeManifest, type RunInputs } from './run-manifest.ts';
import { RunWatch, type RunEnd } from './run-watch.ts';
import { buildShimSpec, gpuDeviceNodes } from './shim-spec.ts';
import type { LogCursor, ShimStatus } from './shim/protocol.ts';

export type { RunCheckpoint, StopResult } from './job-types.ts';

export type JobUpdate = { type: 'job'; job: JobRecord } | { type: 'event'; jobId: string; event: JobEvent } | { type: 'log'; jobId: string; lines: string[] };

/** How long the scheduler trusts a GPU probe that found GPUs. */
const GPU_PROBE_REUSE_MS = 30_000;

export interface EnqueueParams {
  /** The run config as received (our schema); validated here against the workspace. */
  config: unknown;
  /** GPU indices to claim together; default any one free GPU. */
  gpus?: number[];
  allowUnknownGpu?: boolean;
  allowUnsandboxed?: boolean;
}

/**
 * A config imported from another tool on the CLI (never from a browser): its paths are operator inputs, scanned
 * now and again when the run starts, and the request is kept with the job.
 */
export interface EnqueueImportedParams extends Omit<EnqueueParams, 'config'> {
  import: OperatorImport;
}

export interface ResumeParams {
  gpus?: number[];
  allowUnknownGpu?: boolean;
  allowUnsandboxed?: boolean;
}

export interface JobServiceParams {
  db: Kysely<Database>;
  workspace: Workspace;
  log: Logger;
  library: ModelLibrary;
  securityEvents: SecurityEvents;
  runner: JobRunner;
  engines: Partial<Record<EngineId, JobEngine>>;
  probeGpus: () => Promise<GpuProbe>;
  resolver: RunResolver;
  settings: () => Promise<JobSettings>;
  now?: () => Date;
  /** How often a watched run is looked at; default 100 ms. */
  pollMs?: number;
  /** Told once when a job reaches a final state (the webhook); must not throw. */
  onFinished?: (job: JobRecord) => Promise<void>;
}

/** A request the job's state (or the machine) does not allow: exit 2 in-process, as the CLI maps it over HTTP. */
function jobError(code: string, message: string, hint: string, status = 409): LorasmithError {
  return new LorasmithError({ code, message, hint, status, exitCode: 2 });
}

function invalidConfig(issues: readonly ValidationIssue[]): LorasmithError {
  const errors = issues.filter((issue) => issue.severity === 'error');
  const first = errors[0];
  return new LorasmithError({
    code: 'run-config-invalid',
    message: `The run config has ${errors.length} error${errors.length === 1 ? '' : 's'}${first === undefined ? '' : `; first: ${first.path === '' ? '' : `${first.path}: `}${first.message}`}.`,
    hint: first?.hint || 'Check it with `lorasmith train CONFIG --dry-run`.',
    exitCode: 1,
    status: 422,
    details: { issues },
  });
}

function failureOf(error: unknown): JobFailure {
  if (isLorasmithError(error)) return { code: error.code, message: redactString(error.message), ...(error.hint === undefined ? {} : { hint: error.hint }) };
  return { code: 'internal', message: 'The run could not be started because of an internal error.', hint: 'See the studio log for details.' };
}

export class JobService {
  readonly #p: JobServiceParams;
  readonly #store: JobStore;
  readonly #emitter = new EventEmitter();
  readonly #watches = new Map<string, RunWatch>();
  readonly #serial = new Map<string, Promise<unknown>>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #supervising = false;
  #scheduleQueue = true;
  #closed = false;
  #scheduling: Promise<void> | null = null;
  #scheduleAgain = false;
  #queueTimer: NodeJS.Timeout | null = null;
  #gpuProbe: { at: number; probe: GpuProbe } | null = null;

  constructor(params: JobServiceParams) {
    this.#p = params;
    this.#store = new JobStore({ db: jobsDb(params.db), ...(params.now === undefined ? {} : { now: params.now }) });
    this.#emitter.setMaxListeners(0);
  }

  // ---- reading ------------------------------------------------------------------------------------------

  get(id: string): Promise<JobRecord> {
    return this.#store.get(id);
  }

  list(params: { limit?: number; states?: readonly JobState[] } = {}): Promise<JobRecord[]> {
    return this.#store.list(params);
  }

  async events(id: string, params: { after?: number; limit?: number } = {}): Promise<JobEvent[]> {
    await this.#store.row(id);
    return this.#store.events(id, params);
  }

  async logs(id: string, lines = 200): Promise<string[]> {
    await this.#store.row(id);
    return readLogTail(await this.#runDir(id), lines);
  }

  /** The run's metric points (loss, learning rates) recorded after `since`, and the cursor to ask from next. */
  async metrics(id: string, since: MetricsCursor = {}): Promise<MetricBatch> {
    const row = await this.#store.row(id);
    return this.#engine(row.engine).metrics(await this.#runDir(id), since);
  }

  /** Updates of one job (`id`) or of every job (`null`). Returns the unsubscribe. */
  subscribe(id: string | null, listener: (update: JobUpdate) => void): () => void {
    const channel = id === null ? 'job' : `job:${id}`;
    this.#emitter.on(channel, listener);
    return () => this.#emitter.off(channel, listener);
  }

  #emit(update: JobUpdate): void {
    const id = update.type === 'job' ? update.job.id : update.jobId;
    this.#emitter.emit('job', update);
    this.#emitter.emit(`job:${id}`, update);
  }

  async #publish(id: string): Promise<JobRecord> {
    const job = await this.#store.get(id);
    this.#emit({ type: 'job', job });
    return job;
  }

  /**
   * Every queued job's record, with its place: when a job moves in, out of or within the queue, the places of
   * the others shift too, and a client following the stream would otherwise show a stale order.
   */
  async #publishQueue(): Promise<void> {
    for (const job of await this.#store.list({ states: ['queued'] })) this.#emit({ type: 'job', job });
  }

  #runDir(id: string): Promise<string> {
    return this.#p.workspace.resolve('runs', id);
  }

  #engine(id: string): JobEngine {
    const engine = this.#p.engines[id as EngineId];
    if (engine === undefined) {
      const kinds = Object.keys(this.#p.engines).map((kind) => `"${kind}"`);
      throw jobError('engine-not-available', `This studio has no ${id} engine to launch the run with.`, `Use a run of kind ${kinds.join(' or ')}.`, 400);
    }
    return engine;
  }

  // ---- enqueue ------------------------------------------------------------------------------------------

  async #device(params: { gpus?: number[]; allowUnknownGpu?: boolean }): Promise<{ device: JobDevice; gpuRequest: GpuRequest | null }> {
    const probe = await this.#p.probeGpus();
    if (probe.mode === 'unknown') {
      if (params.allowUnknownGpu !== true) {
        throw jobError('gpu-unknown', `lorasmith cannot tell which GPUs this machine has: ${probe.reason}`, 'Fix the NVIDIA driver (run `nvidia-smi`), or start the run anyway with --allow-unknown-gpu (the form’s override).');
      }
      return { device: 'unknown', gpuRequest: null };
    }
    if (probe.mode === 'cpu') {
      if (params.gpus !== undefined && params.gpus.length > 0) throw jobError('gpu-missing', `This run asks for GPU ${params.gpus.join(', ')}, but ${probe.reason}`, 'Drop the GPU choice to train on the CPU, or fix the GPU driver.');
      return { device: 'cpu', gpuRequest: null };
    }
    if (params.gpus === undefined || params.gpus.length === 0) return { device: 'gpu', gpuRequest: { count: 1 } };
    const known = new Set(probe.gpus.map((gpu) => gpu.index));
    const wanted = [...new Set(params.gpus)].sort((a, b) => a - b);
    const missing = wanted.filter((index) => !known.has(index));
    if (missing.length > 0) throw jobError('gpu-missing', `There is no GPU ${missing.join(', ')} on this machine (it has ${[...known].join(', ')}).`, 'Pick GPUs from `nvidia-smi`.', 400);
    return { device: 'gpu', gpuRequest: { indices: wanted } };
  }

  async #sandboxAllowed(allowUnsandboxed: boolean): Promise<void> {
    const settings = await this.#p.settings();
    const choice = await this.#p.runner.chooseSandbox({ allowUnsandboxed: allowUnsandboxed || settings.allowUnsandboxed });
    if ('refused' in choice) throw choice.refused;
  }

  enqueue(params: EnqueueParams, parent?: { id: string; resumeState: string; seed: number }): Promise<JobRecord> {
    return this.#enqueue(params, undefined, parent);
  }

  /** Queue a run imported from another tool's config: its operator inputs are scanned and hashed into the manifest. */
  enqueueImported(params: EnqueueImportedParams): Promise<JobRecord> {
    const { import: request, ...rest } = params;
    return this.#enqueue({ ...rest, config: undefined }, request);
  }

  /** What the run reads, for its manifest: the engine's workspace inputs, and an imported config's own files. */
  async #inputs(engine: JobEngine, config: RunConfig, operator: OperatorRun | undefined): Promise<RunInputs> {
    const inputs = await engine.inputs(config, operator);
    return operator === undefined ? inputs : { ...inputs, operator: await operatorInputFiles(operator) };
  }

  async #enqueue(params: EnqueueParams, request: OperatorImport | undefined, parent?: { id: string; resumeState: string; seed: number }): Promise<JobRecord> {
    const id = randomUUID();
    const runDir = await this.#runDir(id);
    const operator = request === undefined ? undefined : await prepareOperatorImport(request, runDir);
    const report = await validateRun({ config: operator?.config ?? params.config, resolve: operator === undefined ? this.#p.resolver : operatorResolver(this.#p.resolver, operator) });
    if (!report.ok || report.config === null) throw invalidConfig(report.issues);
    const config: RunConfig = report.config;
    const engine = this.#engine(config.kind);
    await engine.assertInstalled();
    const { device, gpuRequest } = await this.#device(params);
    await this.#sandboxAllowed(params.allowUnsandboxed === true);
    const inputs = await this.#inputs(engine, config, operator);
    const seed = (config.kind === 'kohya' ? config.seed : undefined) ?? parent?.seed ?? randomInt(0, 2 ** 32);
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    const manifest = await takeManifest({ jobId: id, engine: { id: engine.id, commit: await engine.commit() }, seed, config, inputs, library: this.#p.library, ...(this.#p.now === undefined ? {} : { now: this.#p.now }) });
    await writeManifest(runDir, manifest);
    await this.#store.insert({
      id,
      engine: engine.id,
      name: config.name ?? id,
      family: config.kind === 'kohya' ? config.family : 'fluxflow',
      config,
      seed,
      datasets: [...new Set(inputs.datasets.map((dataset) => dataset.name))],
      device,
      gpuRequest,
      allowUnsandboxed: params.allowUnsandboxed === true,
      resumedFrom: parent?.id ?? null,
      resumeState: parent?.resumeState ?? null,
      manifestSha256: manifestDigest(manifest),
      ...(request === undefined ? {} : { operator: request }),
    });
    await this.#recordState(id, 'queued', parent === undefined ? undefined : `resumes ${parent.id} from ${path.basename(parent.resumeState)}`);
    const job = await this.#publish(id);
    this.#kick();
    return job;
  }

  // ---- control ------------------------------------------------------------------------------------------

  async cancel(id: string): Promise<JobRecord> {
    const row = await this.#store.row(id);
    if (isFinalJobState(row.state as JobState)) return this.#store.get(id);
    if (row.state !== 'queued') {
      throw jobError('job-running', `Job ${id} is ${row.state}; only a queued job can be cancelled.`, 'Stop it with `lorasmith jobs stop ID` (it keeps its last save).');
    }
    if (await this.#end(id, ['queued'], 'cancelled', { failure: { code: 'cancelled', message: 'Cancelled before it started.' } })) {
      await this.#publishQueue();
      this.#kick();
    }
    return this.#store.get(id);
  }

  async stop(id: string): Promise<StopResult> {
    const row = await this.#store.row(id);
    const state = row.state as JobState;
    if (state === 'queued') return { job: await this.cancel(id), lastSave: { checkpoint: null, state: null }, note: 'It had not started, so it was cancelled.' };
    // A run whose shim is already gone has ended: its watch records how, and there is nothing to stop.
    const ended = row.shim_pid !== null && row.shim_start_ticks !== null && !this.#p.runner.isShimAlive({ pid: row.shim_pid, startTicks: row.shim_start_ticks });
    if (!isFinalJobState(state) && !ended) {
      if (await this.#store.transition(id, ['starting', 'running'], 'stopping')) {
        await this.#recordState(id, 'stopping', 'stop requested');
        await this.#publish(id);
      }
      const fresh = await this.#store.row(id);
      if (fresh.shim_pid !== null && fresh.shim_start_ticks !== null) {
        await this.#p.runner.requestStop(await this.#runDir(id), { pid: fresh.shim_pid, startTicks: fresh.shim_start_ticks });
        this.#watches.get(id)?.poke();
      }
    }
    const lastSave = await this.#lastSave(id);
    return { job: await this.#store.get(id), lastSave, note: STOP_KEEPS };
  }

  async #lastSave(id: string): Promise<StopResult['lastSave']> {
    const row = await this.#store.row(id);
    const runDir = await this.#runDir(id);
    const checkpoints = (await this.checkpoints(id)).at(-1)?.name ?? null;
    const state = await this.#engine(row.engine).savedState(runDir, row.name);
    return { checkpoint: checkpoints, state: state === null ? null : path.basename(state) };
  }

  async move(id: string, position: number): Promise<JobRecord> {
    await this.#store.move(id, position);
    await this.#publishQueue();
    this.#kick();
    return this.#store.get(id);
  }

  /** Whether the job runs an imported config, whose operator inputs (files anywhere on this machine) a resume reads again. */
  async isImported(id: string): Promise<boolean> {
    return (await this.#store.row(id)).operator !== null;
  }

  async resume(id: string, params: ResumeParams = {}): Promise<JobRecord> {
    const parent = await this.#store.row(id);
    const engine = this.#engine(parent.engine);
    if (!RESUMABLE_JOB_STATES.has(parent.state as JobState)) {
      throw jobError('job-not-resumable', `Job ${id} is ${parent.state}; resume starts again from a failed, cancelled or interrupted run.`, parent.state === 'succeeded' ? engine.advice.trainFurther : 'Wait for it to end, or stop it first.');
    }
    const state = await engine.savedState(await this.#runDir(id), parent.name);
    if (state === null) throw jobError('no-saved-state', `Job ${id} saved no training state, so it cannot be resumed.`, engine.advice.noSavedState);
    const gpuRequest = parent.gpu_request === null ? null : (JSON.parse(parent.gpu_request) as GpuRequest);
    const gpus = params.gpus ?? (gpuRequest !== null && 'indices' in gpuRequest ? gpuRequest.indices : undefined);
    return this.#enqueue(
      {
        config: JSON.parse(parent.config) as unknown,
        ...(gpus === undefined ? {} : { gpus }),
        allowUnknownGpu: params.allowUnknownGpu ?? parent.device === 'unknown',
        allowUnsandboxed: params.allowUnsandboxed ?? parent.allow_unsandboxed === 1,
      },
      // An imported run resumes on the operator inputs its CLI named, scanned again.
      parent.operator === null ? undefined : (JSON.parse(parent.operator) as OperatorImport),
      { id, resumeState: state, seed: parent.seed },
    );
  }

  /** The run's per-epoch and per-step model files, oldest first (what `promote` takes). */
  async checkpoints(id: string): Promise<RunCheckpoint[]> {
    const row = await this.#store.row(id);
    const runDir = await this.#runDir(id);
    const work = workDirOf(runDir);
    if (!existsSync(work)) return [];
    const pattern = this.#engine(row.engine).savedCheckpointPattern(row.name);
    const { files } = await this.#p.runner.collectArtifacts(work, await this.#outputDir(runDir));
    const found: Array<RunCheckpoint & { mtimeMs: number }> = [];
    for (const file of files) {
      const match = pattern.exec(file.relative);
      if (match === null) continue;
      found.push({ name: file.relative, epoch: match[1] === undefined ? null : Number(match[1]), step: match[2] === undefined ? null : Number(match[2]), size: file.size, mtimeMs: file.mtimeMs });
    }
    return found.sort((a, b) => a.mtimeMs - b.mtimeMs).map(({ mtimeMs: _mtime, ...checkpoint }) => checkpoint);
  }

  /** Put one per-epoch (or per-step) file of a run into the library, as `run/<job-id>/epoch-N`. */
  async promote(id: string, params: { epoch?: number; step?: number; name?: string }): Promise<ImportModelResult> {
    const row = await this.#store.row(id);
    if (row.state === 'queued' || row.state === 'starting') throw jobError('job-not-started', `Job ${id} has not started, so it saved nothing yet.`, 'Promote a file once the run has saved one.');
    const engine = this.#engine(row.engine);
    const checkpoints = await this.checkpoints(id);
    const chosen = checkpoints.find((checkpoint) =>
      params.name !== undefined ? checkpoint.name === params.name : params.epoch !== undefined ? checkpoint.epoch === params.epoch : params.step !== undefined ? checkpoint.step === params.step : false,
    );
    if (chosen === undefined) {
      const listed = checkpoints.map((checkpoint) => checkpoint.name).join(', ');
      throw jobError('checkpoint-not-found', `Job ${id} has no such saved file.`, listed === '' ? engine.advice.noPerEpochFiles : `It has: ${listed}.`, 404);
    }
    const runDir = await this.#runDir(id);
    const source = await this.#takenFrom(runDir, path.join(await this.#outputDir(runDir), chosen.name));
    return importRunOutput({
      workspace: this.#p.workspace,
      library: this.#p.library,
      securityEvents: this.#p.securityEvents,
      jobId: id,
      ...source,
      name: path.basename(chosen.name),
      rev: chosen.epoch !== null ? `epoch-${chosen.epoch}` : `step-${chosen.step ?? 0}`,
      expectedKind: engine.outputKind,
      provenance: { job: id, engine: row.engine, family: row.family, epoch: chosen.epoch, step: chosen.step, file: chosen.name },
    });
  }

  /** Where the engine saves its model files: beside the final output (launch.json), else `work/output`. */
  async #outputDir(runDir: string): Promise<string> {
    const launch = await readLaunchRecord(runDir);
    return launch === null ? path.join(workDirOf(runDir), 'output') : path.dirname(launch.outputFile);
  }

  /** A run's file, preferring the shim's copy (taken when it settled, out of the engine's reach). */
  async #takenFrom(runDir: string, file: string): Promise<{ file: string; root: string }> {
    const status = await this.#p.runner.readShimStatus(runDir);
    const copy = status?.snapshots.filter((snapshot) => snapshot.source === file).at(-1);
    if (copy !== undefined && existsSync(copy.copy)) return { file: copy.copy, root: path.dirname(copy.copy) };
    return { file, root: workDirOf(runDir) };
  }

  // ---- supervision ----------------------------------------------------------------------------------------

  /**
   * Become the supervisor (the caller holds the workspace lock): reconcile what the last supervisor left —
   * reattach live runs, decide dead ones from their recorded exit, mark the rest interrupted — then schedule.
   */
  async supervise(params: { schedule?: boolean } = {}): Promise<void> {
    if (this.#supervising) return;
    this.#supervising = true;
    // A CLI command that only stops a run watches it to its end without starting queued ones.
    this.#scheduleQueue = params.schedule ?? true;
    await this.#store.releaseStale();
    for (const row of await this.#store.inStates(ACTIVE_JOB_STATES)) {
      if (row.shim_pid === null || row.shim_start_ticks === null) {
        await this.#end(row.id, ACTIVE_JOB_STATES, 'interrupted', {
          failure: { code: 'interrupted', message: 'The studio stopped while this run was being started; it never ran.', hint: 'Start it again (`lorasmith jobs resume ID` needs a saved state; otherwise run the config again).' },
        });
        continue;
      }
      await this.#watch(row.id);
    }
    this.#queueTimer = setInterval(() => this.#kick(), 2000);
    this.#queueTimer.unref();
    this.#kick();
  }

  /** Resolves once the scheduling passes under way have run (and the launches they began have started). */
  async scheduled(): Promise<void> {
    await this.#scheduling;
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Stop supervising; runs go on under their shims and the next supervisor reattaches them. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#queueTimer !== null) clearInterval(this.#queueTimer);
    await this.#scheduling;
    await Promise.allSettled([...this.#inFlight]);
    await Promise.all([...this.#watches.values()].map((watch) => watch.stop()));
    this.#watches.clear();
  }

  #track<T>(promise: Promise<T>): void {
    const tracked = promise.catch((error: unknown) => this.#p.log.error({ err: error }, 'job supervision failed')).finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  /** One job's changes one after another (events and their cursor, state). */
  #serialized<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#serial.get(id) ?? Promise.resolve();
    const current = previous.then(work, work);
    const tail = current.catch(() => undefined);
    this.#serial.set(id, tail);
    void tail.then(() => {
      if (this.#serial.get(id) === tail) this.#serial.delete(id);
    });
    return current;
  }

  /** Append events to events.jsonl and the mirror, with the log cursor when they came from the log. */
  async #record(id: string, events: ReadonlyArray<JobEvent['event']>, cursor?: LogCursor): Promise<void> {
    const appended = await this.#serialized(id, async () => {
      const row = await this.#store.row(id);
      const at = (this.#p.now?.() ?? new Date()).toISOString();
      const jobEvents: JobEvent[] = events.map((event, index) => ({ seq: row.event_seq + index + 1, at, event }));
      const bytes = await appendEvents(await this.#runDir(id), jobEvents);
      const progress = events.length === 0 ? undefined : foldProgress(JSON.parse(row.progress) as JobProgress, events);
      await this.#store.commitEvents(id, {
        events: jobEvents,
        cursor: cursor ?? { segment: row.event_segment, offset: row.event_offset },
        eventsBytes: row.events_bytes + bytes,
        ...(progress === undefined ? {} : { progress: { ...EMPTY_PROGRESS, ...progress } }),
      });
      return jobEvents;
    });
    for (const event of appended) this.#emit({ type: 'event', jobId: id, event });
    if (cursor !== undefined) await this.#p.runner.writeParsedCursor(await this.#runDir(id), cursor);
    // The record carries the progress the list and the bars show.
    if (events.some((event) => event.kind === 'progress' || event.kind === 'epoch' || event.kind === 'phase')) await this.#publish(id);
  }

  #recordState(id: string, state: JobState, message?: string): Promise<void> {
    const event: JobStateEvent = { kind: 'state', state, ...(message === undefined ? {} : { message }) };
    return this.#record(id, [event]);
  }

  /** Move to a final state from one of `from`, record it, give back slots and locks. True when it moved. */
  async #end(id: string, from: readonly JobState[], state: JobState, params: { failure?: JobFailure; patch?: JobPatch }): Promise<boolean> {
    const moved = await this.#store.transition(id, from, state, {
      finished_at: (this.#p.now?.() ?? new Date()).toISOString(),
      ...(params.failure === undefined ? {} : failurePatch(params.failure)),
      ...params.patch,
    });
    if (!moved) return false;
    await this.#store.release(id);
    // The slots are free: the next queued run is prepared while this one's end is recorded and announced.
    this.#kick();
    await this.#recordState(id, state, params.failure?.message);
    const job = await this.#publish(id);
    await this.#p.onFinished?.(job);
    return true;
  }

  #kick(): void {
    if (!this.#supervising || !this.#scheduleQueue || this.#closed) return;
    if (this.#scheduling !== null) {
      this.#scheduleAgain = true;
      return;
    }
    this.#scheduling = (async () => {
      do {
        this.#scheduleAgain = false;
        await this.#schedulePass();
      } while (this.#scheduleAgain && !this.#closed);
    })()
      .catch((error: unknown) => this.#p.log.error({ err: error }, 'job scheduling failed'))
      .finally(() => {
        this.#scheduling = null;
      });
  }

  /**
   * Start what can start, in queue order. A run waiting for its GPUs holds them against later runs (a later
   * one-GPU run does not overtake a two-GPU run forever); CPU-mode runs share the one `cpu` slot.
   */
  async #schedulePass(): Promise<void> {
    const queue = await this.#store.queued();
    if (queue.length === 0) return;
    const claimed = await this.#store.claimedSlots();
    const reserved = new Set<string>();
    let allGpusReserved = false;
    let probe: GpuProbe | null = null;
    let claimedAny = false;
    for (const row of queue) {
      if (this.#closed) return;
      let slots: string[] | null = null;
      if (row.device === 'cpu' || row.device === 'unknown') {
        const slot = row.device;
        if (!claimed.has(slot) && !reserved.has(slot)) slots = [slot];
        else reserved.add(slot);
      } else {
        if (allGpusReserved) continue;
        probe ??= await this.#gpus();
        if (probe.mode !== 'gpu') {
          this.#p.log.warn({ reason: probe.reason }, 'queued GPU runs wait: no GPU visible now');
          continue;
        }
        const request = JSON.parse(row.gpu_request ?? '{"count":1}') as GpuRequest;
        const free = probe.gpus.map((gpu) => String(gpu.index)).filter((slot) => !claimed.has(slot) && !reserved.has(slot));
        if ('indices' in request) {
          const wanted = request.indices.map(String);
          if (wanted.every((slot) => free.includes(slot))) slots = wanted;
          else for (const slot of wanted) reserved.add(slot);
        } else if (free.length >= request.count) {
          slots = free.slice(0, request.count);
        } else {
          allGpusReserved = true;
        }
      }
      if (slots === null) continue;
      if (await this.#store.claim(row.id, slots)) {
        for (const slot of slots) claimed.add(slot);
        await this.#publish(row.id);
        this.#track(this.#launch(row.id));
        claimedAny = true;
      }
    }
    if (claimedAny) await this.#publishQueue();
  }

  /**
   * The GPUs for a scheduling pass. A probe that found GPUs is reused for GPU_PROBE_REUSE_MS: `nvidia-smi`
   * takes a few hundred ms, and the pass right after a run ends should not wait for it to learn what it knew.
   */
  async #gpus(): Promise<GpuProbe> {
    const now = Date.now();
    if (this.#gpuProbe !== null && now - this.#gpuProbe.at < GPU_PROBE_REUSE_MS) return this.#gpuProbe.probe;
    const probe = await this.#p.probeGpus();
    this.#gpuProbe = probe.mode === 'gpu' ? { at: now, probe } : null;
    return probe;
  }

  /** Prepare the run (manifest recheck, sandbox, engine files) and start its shim. */
  async #launch(id: string): Promise<void> {
    try {
      const row = await this.#store.row(id);
      const runDir = await this.#runDir(id);
      const engine = this.#engine(row.engine);
      const config = JSON.parse(row.config) as RunConfig;
      const settings = await this.#p.settings();
      // An imported config's inputs are scanned again for this run folder; what changed since enqueue is named.
      const operator = row.operator === null ? undefined : await prepareOperatorImport(JSON.parse(row.operator) as OperatorImport, runDir);
      await recheckManifest({ manifest: await readManifest(runDir), inputs: await this.#inputs(engine, config, operator), library: this.#p.library });
      const choice = await this.#p.runner.chooseSandbox({ allowUnsandboxed: row.allow_unsandboxed === 1 || settings.allowUnsandboxed });
      if ('refused' in choice) throw choice.refused;
      const slots = JSON.parse(row.slots) as string[];
      const gpus = row.device === 'gpu' ? slots : [];
      const launch = await engine.prepare({
        config,
        runDir,
        gpus,
        outputName: row.name,
        seed: row.seed,
        ...(row.resumed_from === null ? {} : { resumeFrom: await this.#runDir(row.resumed_from) }),
        ...(row.device === 'unknown' ? { gpusUnknown: true } : {}),
        ...(operator === undefined ? {} : { operator }),
      });
      await writeLaunchRecord(runDir, { outputFile: launch.outputFile, ...(launch.outputCompanions === undefined ? {} : { outputCompanions: launch.outputCompanions }) });
      const spec = buildShimSpec({ jobId: id, runDir, launch, sandbox: choice, devices: gpuDeviceNodes(gpus), settings, secretsFile: this.#p.workspace.paths.secrets });
      if ((await this.#store.row(id)).state !== 'starting' || this.#closed) {
        await this.#end(id, ['stopping', 'starting'], 'cancelled', { failure: { code: 'stopped', message: 'Stopped before the engine started.' } });
        return;
      }
      const shim = await this.#p.runner.startShim({ runDir, spec });
      await this.#store.patch(id, { shim_pid: shim.pid, shim_start_ticks: shim.startTicks, sandbox: choice.mode });
      await this.#publish(id);
      if ((await this.#store.row(id)).state === 'stopping') await this.#p.runner.requestStop(runDir, shim);
      await this.#watch(id);
    } catch (error) {
      if (!isLorasmithError(error)) this.#p.log.error({ err: error, job: id }, 'run launch failed');
      const failure = failureOf(error);
      const stopped = (await this.#store.row(id)).state === 'stopping';
      await this.#end(id, ['starting', 'stopping'], stopped ? 'cancelled' : 'failed', { failure: stopped ? { code: 'stopped', message: 'Stopped before the engine started.' } : failure });
      this.#kick();
    }
  }

  async #watch(id: string): Promise<void> {
    if (this.#watches.has(id) || this.#closed) return;
    const row = await this.#store.row(id);
    if (row.shim_pid === null || row.shim_start_ticks === null) return;
    const runDir = await this.#runDir(id);
    const engine = this.#engine(row.engine);
    const config = JSON.parse(row.config) as RunConfig;
    // A tail written after the last commit (a crash in between) is cut; the replay from the cursor rewrites it.
    await truncateEvents(runDir, row.events_bytes);
    let recorded: LogCursor = { segment: row.event_segment, offset: row.event_offset };
    const reader = new RunLogReader({ runner: this.#p.runner, runDir, parser: engine.createParser(config, row.name), cursor: recorded });
    await reader.prime();
    const watch = new RunWatch({
      runner: this.#p.runner,
      runDir,
      shim: { pid: row.shim_pid, startTicks: row.shim_start_ticks },
      reader,
      pollMs: this.#p.pollMs ?? 100,
      hooks: {
        record: async (batch) => {
          if (batch.events.length > 0 || batch.cursor.segment !== recorded.segment || batch.cursor.offset !== recorded.offset) {
            await this.#record(id, batch.events, batch.cursor);
            recorded = batch.cursor;
          }
          if (batch.lines.length > 0) this.#emit({ type: 'log', jobId: id, lines: batch.lines });
        },
        status: (status) => this.#onStatus(id, status),
        end: async (end, endReader) => {
          this.#watches.delete(id);
          await this.#finish(id, end, endReader);
          this.#kick();
        },
        error: (error) => this.#p.log.error({ err: error, job: id }, 'watching a run failed'),
      },
    });
    this.#watches.set(id, watch);
    watch.start();
  }

  async #onStatus(id: string, status: ShimStatus): Promise<void> {
    let moved = false;
    if (status.state === 'running') moved = await this.#store.transition(id, ['starting'], 'running');
    else if (status.state === 'stopping') moved = await this.#store.transition(id, ['starting', 'running'], 'stopping');
    // The shim says which sandbox the run really got.
    await this.#store.patch(id, { sandbox: status.sandbox });
    if (moved) {
      await this.#recordState(id, status.state === 'running' ? 'running' : 'stopping', status.state === 'stopping' ? 'the run shim is stopping the engine' : undefined);
      await this.#publish(id);
    }
  }

  /** The run ended: decide its state, take its output into the library when it succeeded. */
  async #finish(id: string, end: RunEnd, reader: RunLogReader): Promise<void> {
    const row = await this.#store.row(id);
    const runDir = await this.#runDir(id);
    const engine = this.#engine(row.engine);
    const lastLines = reader.lastLines();
    const resumable = async (): Promise<JobPatch> => ({ resumable: (await engine.savedState(runDir, row.name)) === null ? 0 : 1 });
    if (end.kind === 'vanished') {
      // Without a PID namespace (cgroup, unsandboxed) the engine outlives a killed shim: it must not keep the GPU.
      const status = await this.#p.runner.readShimStatus(runDir);
      if (status !== null && this.#p.runner.killOrphanedEngine?.(status) === true) this.#p.log.warn({ job: id, engine: status.engine?.pid }, 'killed the engine a dead run shim left running');
      await this.#end(id, ACTIVE_JOB_STATES, 'interrupted', {
        failure: { code: 'interrupted', message: 'The run’s supervisor is gone and recorded no exit (the machine restarted, or it was killed).', hint: 'Resume it from its saved state with `lorasmith jobs resume ID`, if it saved one.', lastLines },
        patch: await resumable(),
      });
      return;
    }
    const launch = await readLaunchRecord(runDir);
    const output = launch === null ? null : await this.#takenFrom(runDir, launch.outputFile);
    const outputExists = launch !== null && (await lstat(launch.outputFile).then((info) => info.isFile(), () => false));
    const outcome = decideOutcome({ exit: end.exit, parser: reader.parser, outputExists, lastLines });
    if (outcome.events.length > 0) await this.#record(id, outcome.events);
    if (outcome.state !== 'succeeded' || output === null || launch === null) {
      await this.#end(id, ACTIVE_JOB_STATES, outcome.state, { ...(outcome.failure === null ? {} : { failure: outcome.failure }), patch: await resumable() });
      return;
    }
    // The engine is gone: its GPUs go to the next queued run now, which is prepared and started while this
    // run's output is scanned and copied (bench/jobs-queue-gap.bench.ts). Its dataset locks stay until `#end`.
    await this.#store.releaseSlots(id);
    this.#kick();
    const config = JSON.parse(row.config) as RunConfig;
    try {
      const companions = await Promise.all((launch.outputCompanions ?? []).map(async (file) => ({ ...(await this.#takenFrom(runDir, file)), name: path.basename(file) })));
      const imported = await importRunOutput({
        workspace: this.#p.workspace,
        library: this.#p.library,
        securityEvents: this.#p.securityEvents,
        jobId: id,
        ...output,
        name: path.basename(launch.outputFile),
        companions,
        rev: 'final',
        expectedKind: engine.outputKind,
        provenance: { job: id, engine: row.engine, family: row.family, seed: row.seed, manifest: row.manifest_sha256, resumedFrom: row.resumed_from },
      });
      await this.#record(id, [{ kind: 'output', modelId: imported.model.id, file: path.basename(launch.outputFile) }]);
      await this.#recordSpeed(row, config);
      await this.#end(id, ACTIVE_JOB_STATES, 'succeeded', { patch: { output_model_id: imported.model.id, resumable: 0 } });
    } catch (error) {
      const failure = failureOf(error);
      await this.#record(id, [{ kind: 'output-refused', file: path.basename(launch.outputFile), code: failure.code, message: failure.message }]);
      await this.#end(id, ACTIVE_JOB_STATES, 'failed', {
        failure: { code: 'output-refused', message: `The run finished, but its output was refused: ${failure.message}`, hint: failure.hint ?? 'The file did not pass the scan; it was not added to the library.' },
        patch: await resumable(),
      });
    }
  }

  /** The run's measured step rate, for the planner's time estimates of later runs on this machine. */
  async #recordSpeed(row: JobRow, config: RunConfig): Promise<void> {
    const progress = JSON.parse(row.progress) as JobProgress;
    if (config.kind !== 'kohya' || progress.itPerSec === null || progress.itPerSec <= 0) return;
    // The planner estimates time for the families the VRAM/time tables cover; other families' rates are not used.
    const family = KOHYA_FAMILIES.find((known) => known === config.family);
    if (family === undefined) return;
    await recordItPerSecond(speedHistoryFile(this.#p.workspace.paths.areas.engines), {
      family,
      width: config.resolution.width,
      height: config.resolution.height,
      batchSize: config.batchSize,
      gradientAccumulationSteps: config.gradientAccumulationSteps,
      itPerSecond: progress.itPerSec,
    }).catch((error: unknown) => this.#p.log.warn({ err: error, job: row.id }, 'the run speed was not recorded'));
  }
}
