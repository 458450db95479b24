/**
 * `lorasmith jobs list | show | logs [-f] | stop | resume | cancel | move | promote`, and `startTrainingJob`,
 * which `train` calls to queue a checked run. Through the running studio's API when `server.json` names a live
 * one; otherwise in this process: commands that change jobs hold the workspace lock (as `serve` does), so a
 * run is never supervised twice and its events have one writer (DESIGN.md §5).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { LorasmithError, type ExitCode } from '../../core/errors.ts';
import { describeProgress } from '../../jobs/job-progress.ts';
import type { JobUpdate, StopResult } from '../../jobs/job-service.ts';
import { JOB_STATES, isFinalJobState, type JobEvent, type JobRecord, type JobState } from '../../jobs/job-types.ts';
import { LineSplitter } from '../../training/engines/kohya/line-splitter.ts';
import { readLogChunk } from '../../jobs/shim/read-log-chunk.ts';
import { readShimStatus } from '../../jobs/shim/status-file.ts';
import { isProcessAlive } from '../../jobs/shim/client.ts';
import { LOG_START } from '../../jobs/shim/protocol.ts';
import { acquireWorkspaceLock } from '../../server/studio-lock.ts';
import type { Studio } from '../../studio/studio.ts';
import type { OperatorImport } from '../../training/import/operator-job.ts';
import { usageError, writeJson, writeLine, type CliIO } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { createProgress } from '../progress.ts';
import { readSse } from '../sse-client.ts';
import { subscriptionUpdates } from '../subscription-updates.ts';
import { connectStudio, type StudioClient } from '../studio-client.ts';
import { flag, option, parseVerbArgs, type Verb } from '../verb.ts';

// ---- output ---------------------------------------------------------------------------------------------

function progressText(job: JobRecord): string {
  const { step, total } = job.progress;
  return total === null ? (step > 0 ? String(step) : '') : `${step}/${total}`;
}

function describeRow(io: CliIO, job: JobRecord): void {
  const where = job.state === 'queued' ? `#${job.position ?? '?'}` : job.slots.length > 0 ? `[${job.slots.join(',')}]` : '';
  writeLine(io, `${job.id}  ${job.state.padEnd(11)} ${where.padEnd(6)} ${progressText(job).padEnd(10)} ${job.name}${job.failure ? `  — ${job.failure.message}` : ''}`);
}

function printJob(io: CliIO, job: JobRecord, checkpoints: Array<{ name: string }>): void {
  writeLine(io, `job       ${job.id}`);
  writeLine(io, `state     ${job.state}${job.state === 'queued' ? ` (place ${job.position ?? '?'} in the queue)` : ''}`);
  writeLine(io, `run       ${job.name} (${job.engine}, ${job.family}) on ${job.datasets.join(', ')}, seed ${job.seed}`);
  writeLine(io, `device    ${job.device}${job.slots.length > 0 ? ` — slots ${job.slots.join(', ')}` : ''}${job.sandbox === null ? '' : `, ${job.sandbox === 'bwrap' ? 'sandboxed (bubblewrap)' : `UNSANDBOXED (${job.sandbox})`}`}`);
  if (job.resumedFrom !== null) writeLine(io, `resumes   ${job.resumedFrom}${job.resumeState === null ? '' : ` from ${job.resumeState}`}`);
  const progress = describeProgress(job.progress);
  if (job.progress.total !== null || progress !== '') writeLine(io, `progress  ${progressText(job)}${progress === '' ? '' : `  ${progress}`}`);
  writeLine(io, `created   ${job.createdAt}${job.startedAt === null ? '' : `; started ${job.startedAt}`}${job.finishedAt === null ? '' : `; ended ${job.finishedAt}`}`);
  if (job.outputModelId !== null) writeLine(io, `output    library model ${job.outputModelId}`);
  if (job.failure !== null) {
    writeLine(io, `failure   ${job.failure.code}: ${job.failure.message}`);
    if (job.failure.hint) writeLine(io, `hint      ${job.failure.hint}`);
    for (const line of job.failure.lastLines ?? []) writeLine(io, `  | ${line}`);
  }
  if (job.resumable) writeLine(io, `resume    saved state kept: lorasmith jobs resume ${job.id}`);
  if (checkpoints.length > 0) writeLine(io, `saved     ${checkpoints.map((c) => c.name).join(', ')}  (lorasmith jobs promote ${job.id} --epoch N)`);
}

function printSummary(io: CliIO, json: boolean, job: JobRecord): ExitCode {
  if (json) writeJson(io, { type: 'summary', job });
  else {
    writeLine(io, `job ${job.id}: ${job.state}${job.failure ? ` — ${job.failure.message}` : ''}`);
    if (job.failure?.hint) writeLine(io, `hint: ${job.failure.hint}`);
    if (job.outputModelId !== null) writeLine(io, `The trained LoRA is in the library as model ${job.outputModelId}.`);
  }
  return job.state === 'succeeded' ? 0 : 1;
}

// ---- following ------------------------------------------------------------------------------------------

type Source = { kind: 'remote'; client: StudioClient } | { kind: 'local'; studio: Studio };

async function* remoteUpdates(client: StudioClient, id: string, logs: boolean): AsyncGenerator<JobUpdate> {
  const body = await client.stream(`/api/jobs/${encodeURIComponent(id)}/events${logs ? '?logs=1' : ''}`);
  for await (const message of readSse(body)) {
    if (message.event === 'job') yield { type: 'job', job: JSON.parse(message.data) as JobRecord };
    else if (message.event === 'event') yield { type: 'event', jobId: id, event: JSON.parse(message.data) as JobEvent };
    else if (message.event === 'log') yield { type: 'log', jobId: id, lines: (JSON.parse(message.data) as { lines: string[] }).lines };
  }
}

function localUpdates(studio: Studio, id: string): AsyncGenerator<JobUpdate> {
  return subscriptionUpdates<JobUpdate>({
    subscribe: (push) => studio.jobs.subscribe(id, push),
    current: async () => ({ type: 'job', job: await studio.jobs.get(id) }),
    isLast: (update) => update.type === 'job' && isFinalJobState(update.job.state),
  });
}

async function stopJob(source: Source, id: string): Promise<StopResult> {
  return source.kind === 'remote' ? source.client.request<StopResult>('POST', `/api/jobs/${encodeURIComponent(id)}/stop`, {}) : source.studio.jobs.stop(id);
}

/**
 * Follow a job to its end with a progress bar (or JSON Lines); Ctrl-C stops the run once (it keeps its last
 * save). Exit 0 only when it succeeded.
 */
async function followJob(params: { io: CliIO; json: boolean; source: Source; id: string }): Promise<ExitCode> {
  const { io, json, source, id } = params;
  const progress = createProgress({ io, json, label: 'train' });
  let stopping = false;
  const onInterrupt = () => {
    if (stopping) return;
    stopping = true;
    io.stderr.write('\nstopping the run (it keeps its last save)…\n');
    void stopJob(source, id).catch(() => undefined);
  };
  process.on('SIGINT', onInterrupt);
  let last: JobRecord | null = null;
  try {
    const updates = source.kind === 'remote' ? remoteUpdates(source.client, id, false) : localUpdates(source.studio, id);
    for await (const update of updates) {
      if (update.type !== 'job') continue;
      last = update.job;
      if (['running', 'stopping'].includes(last.state) || last.progress.total !== null) progress.update({ done: last.progress.step, total: last.progress.total, message: describeProgress(last.progress) || last.state });
      if (isFinalJobState(last.state)) break;
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    progress.finish();
  }
  if (last === null) return 2;
  // The stream can end without the final record (the studio went away): ask once more.
  if (!isFinalJobState(last.state) && source.kind === 'remote') last = await source.client.request<JobRecord>('GET', `/api/jobs/${encodeURIComponent(id)}`);
  return printSummary(io, json, last);
}

/** In this process, as the one supervisor: the workspace lock is held while `work` runs. */
async function underLock<T>(io: CliIO, purpose: string, work: (studio: Studio) => Promise<T>): Promise<T> {
  return withLocalStudio(io.env, async (studio) => {
    const lock = await acquireWorkspaceLock({ lockFile: studio.workspace.paths.serverLock, serverJson: studio.workspace.paths.serverJson, purpose });
    try {
      return await work(studio);
    } finally {
      await studio.jobs.close();
      await lock.release();
    }
  });
}

// ---- starting a run ---------------------------------------------------------------------------------------

export interface StartTrainingParams {
  io: CliIO;
  json: boolean;
  /**
   * The run config in lorasmith's schema, or another tool's config as its import request (its operator inputs
   * are scanned again by whoever enqueues it); checked by the caller's dry run, checked again on enqueue.
   */
  run: { config: unknown } | { import: OperatorImport };
  detach: boolean;
  allowUnknownGpu: boolean;
  allowUnsandboxed: boolean;
  gpus?: number[];
}

function detachNeedsStudio(): LorasmithError {
  return new LorasmithError({
    code: 'detach-needs-studio',
    message: 'The run could not start now (its GPU slot is busy), and without a running studio nothing would start it later; it was not queued.',
    hint: 'Start the studio (`lorasmith serve`) and run the command again, or drop --detach to wait for the slot here.',
    exitCode: 2,
  });
}

async function printStarted(io: CliIO, json: boolean, job: JobRecord, where: string): Promise<ExitCode> {
  if (json) writeJson(io, job);
  else writeLine(io, `job ${job.id} ${job.state} ${where}`);
  return isFinalJobState(job.state) && job.state !== 'succeeded' ? 1 : 0;
}

async function startRemote(client: StudioClient, params: { path: string; body: object; io: CliIO; json: boolean; detach: boolean }): Promise<ExitCode> {
  const job = await client.request<JobRecord>('POST', params.path, params.body);
  if (params.detach) return printStarted(params.io, params.json, job, `in the studio at ${client.info.url}`);
  if (!params.json) writeLine(params.io, `job ${job.id} queued in the studio at ${client.info.url}`);
  return followJob({ io: params.io, json: params.json, source: { kind: 'remote', client }, id: job.id });
}

/** In-process: supervise, enqueue (or resume), then follow — or, with --detach, leave the started run to its shim. */
async function startLocal(params: { io: CliIO; json: boolean; detach: boolean; enqueue: (studio: Studio) => Promise<JobRecord> }): Promise<ExitCode> {
  const { io, json } = params;
  return underLock(io, 'train', async (studio) => {
    await studio.jobs.supervise();
    const job = await params.enqueue(studio);
    if (!params.detach) {
      if (!json) writeLine(io, `job ${job.id} queued (this process supervises it; Ctrl-C stops it)`);
      return followJob({ io, json, source: { kind: 'local', studio }, id: job.id });
    }
    await studio.jobs.scheduled();
    const now = await studio.jobs.get(job.id);
    if (now.state === 'queued') {
      await studio.jobs.cancel(job.id);
      throw detachNeedsStudio();
    }
    return printStarted(io, json, now, '(its run shim goes on without this process; `lorasmith serve` or the next command picks it up)');
  });
}

interface RunOptions {
  gpus?: number[];
  allowUnknownGpu?: boolean;
  allowUnsandboxed?: boolean;
}

function options(params: { allowUnknownGpu: boolean; allowUnsandboxed: boolean; gpus?: number[] | undefined }): RunOptions {
  return {
    ...(params.gpus === undefined ? {} : { gpus: params.gpus }),
    ...(params.allowUnknownGpu ? { allowUnknownGpu: true } : {}),
    ...(params.allowUnsandboxed ? { allowUnsandboxed: true } : {}),
  };
}

/** `train CONFIG` without --dry-run: queue the run and follow it (exit 0 only on success), or --detach. */
export async function startTrainingJob(params: StartTrainingParams): Promise<ExitCode> {
  const client = await connectStudio(params.io.env);
  const extra = options(params);
  const { run } = params;
  // Over HTTP the studio takes an import request only with this install's API secret, which the CLI sends.
  if (client !== null) return startRemote(client, { path: '/api/jobs', body: { ...run, ...extra }, io: params.io, json: params.json, detach: params.detach });
  return startLocal({
    io: params.io,
    json: params.json,
    detach: params.detach,
    enqueue: (studio) => ('import' in run ? studio.jobs.enqueueImported({ import: run.import, ...extra }) : studio.jobs.enqueue({ config: run.config, ...extra })),
  });
}

// ---- logs -------------------------------------------------------------------------------------------------

function printLines(io: CliIO, json: boolean, lines: readonly string[]): void {
  for (const line of lines) {
    if (json) writeJson(io, { type: 'log', line });
    else writeLine(io, line);
  }
}

/**
 * Without a studio, `logs -f` tails the run's log segments read-only until its shim records the end (or is
 * gone); it records nothing, so the run's one events writer stays whoever supervises it next.
 */
async function tailLocal(io: CliIO, json: boolean, runDir: string): Promise<void> {
  let cursor = { ...LOG_START };
  const splitter = new LineSplitter();
  for (;;) {
    const chunk = await readLogChunk(runDir, cursor, 256 * 1024);
    cursor = chunk.cursor;
    printLines(io, json, splitter.push(chunk.text).filter((line) => line.end !== '\r').map((line) => line.text));
    if (chunk.text !== '') continue;
    const status = await readShimStatus(runDir);
    if (status === null || status.state === 'exited' || !isProcessAlive(status.shim)) {
      printLines(io, json, splitter.end().map((line) => line.text));
      return;
    }
    await sleep(200);
  }
}

async function logs(io: CliIO, json: boolean, id: string, follow: boolean, count: number): Promise<ExitCode> {
  const client = await connectStudio(io.env);
  if (client !== null) {
    if (!follow) {
      const { lines } = await client.request<{ lines: string[] }>('GET', `/api/jobs/${encodeURIComponent(id)}/logs?lines=${count}`);
      if (json) writeJson(io, { lines });
      else printLines(io, false, lines);
      return 0;
    }
    printLines(io, json, (await client.request<{ lines: string[] }>('GET', `/api/jobs/${encodeURIComponent(id)}/logs?lines=${count}`)).lines);
    let last: JobRecord | null = null;
    for await (const update of remoteUpdates(client, id, true)) {
      if (update.type === 'log') printLines(io, json, update.lines);
      else if (update.type === 'job') last = update.job;
    }
    if (last === null) return 2;
    if (json) writeJson(io, { type: 'summary', job: last });
    return 0;
  }
  return withLocalStudio(io.env, async (studio): Promise<ExitCode> => {
    const job = await studio.jobs.get(id);
    const runDir = await studio.workspace.resolve('runs', job.id);
    if (!follow || isFinalJobState(job.state)) {
      const lines = await studio.jobs.logs(id, count);
      if (json && !follow) writeJson(io, { lines });
      else printLines(io, json, lines);
    } else await tailLocal(io, json, runDir);
    if (json && follow) writeJson(io, { type: 'summary', job: await studio.jobs.get(id) });
    return 0;
  });
}

// ---- the verb ---------------------------------------------------------------------------------------------

function positiveInt(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw usageError(`${what} must be a whole number, not ${JSON.stringify(text)}.`, 'See `lorasmith jobs --help`.');
  return value;
}

export function parseGpus(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const gpus = text.split(',').map((part) => positiveInt(part.trim(), '--gpus') ?? 0);
  if (gpus.length === 0) throw usageError('--gpus needs GPU indices, e.g. --gpus 0,1.', 'See `nvidia-smi` for the indices.');
  return gpus;
}

const HELP = `lorasmith jobs list [--state S] [--limit N] | show ID | logs ID [-f] [--lines N] | stop ID | cancel ID
              | resume ID [--detach] [--gpus 0,1] [--allow-unknown-gpu] [--allow-unsandboxed]
              | move ID POSITION | promote ID (--epoch N | --step N | --file NAME)   [--json]

Training runs (jobs). States: ${JOB_STATES.join(', ')}.
  list      newest first; a queued job shows its place in the queue, a running one its GPU slots
  show      one job: progress, device and sandbox, failure with the log's last lines, saved files
  logs      the run's log (the last N lines); -f follows it until the run ends
  stop      SIGINT to the engine, then SIGTERM, then the sandbox is killed. Neither engine saves on a
            signal: the run keeps only its last save (per-epoch file and saved state)
  cancel    a queued job only
  resume    a new job linked to this one, starting from its saved state (failed, cancelled or interrupted
            runs that saved state); follows it like \`train\` unless --detach
  move      put a queued job at POSITION in the queue (1 = next)
  promote   put one of the run's per-epoch (or per-step) files into the model library

Through the running studio when there is one; otherwise in this process (stop, cancel, resume, move and
promote then hold the workspace lock, as \`serve\` does).
--json: list → {"jobs":[job]}; show → job plus "checkpoints"; logs → {"lines"} (-f: {"type":"log","line"}
lines, then {"type":"summary","job"}); stop → {"job","lastSave","note"}; cancel, move → job; resume →
progress lines then {"type":"summary","job"} (--detach: job); promote → {"model","duplicate"}.
Exit codes: 0 success; 1 a followed run ended failed, cancelled or interrupted, or a refusal; 2 usage or I/O.`;

export const jobsVerb: Verb = {
  name: 'jobs',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('jobs', args, {
      state: { type: 'string' },
      limit: { type: 'string' },
      lines: { type: 'string' },
      follow: { type: 'boolean', short: 'f', default: false },
      detach: { type: 'boolean', default: false },
      gpus: { type: 'string' },
      'allow-unknown-gpu': { type: 'boolean', default: false },
      'allow-unsandboxed': { type: 'boolean', default: false },
      epoch: { type: 'string' },
      step: { type: 'string' },
      file: { type: 'string' },
    });
    const json = flag(values, 'json');
    const [action, id, extra] = positionals;
    if (action === undefined) throw usageError('`jobs` needs an action.', 'See `lorasmith jobs --help`.');
    if (action !== 'list' && id === undefined) throw usageError(`\`jobs ${action}\` needs a job ID.`, 'List jobs with `lorasmith jobs list`.');
    const jobId = id ?? '';
    const at = `/api/jobs/${encodeURIComponent(jobId)}`;
    const client = action === 'logs' ? null : await connectStudio(io.env);
    switch (action) {
      case 'list': {
        const state = option(values, 'state');
        if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) throw usageError(`--state ${state} is not a job state.`, `Use one of ${JOB_STATES.join(', ')}.`);
        const limit = positiveInt(option(values, 'limit'), '--limit') ?? 100;
        const jobs = client
          ? (await client.request<{ jobs: JobRecord[] }>('GET', `/api/jobs?limit=${limit}${state === undefined ? '' : `&state=${state}`}`)).jobs
          : await withLocalStudio(io.env, (studio) => studio.jobs.list({ limit, ...(state === undefined ? {} : { states: [state as JobState] }) }));
        if (json) writeJson(io, { jobs });
        else if (jobs.length === 0) writeLine(io, 'No jobs yet: start one with `lorasmith train CONFIG`.');
        else for (const job of jobs) describeRow(io, job);
        return 0;
      }
      case 'show': {
        const [job, checkpoints] = client
          ? await Promise.all([client.request<JobRecord>('GET', at), client.request<{ checkpoints: Array<{ name: string }> }>('GET', `${at}/checkpoints`).then((body) => body.checkpoints)])
          : await withLocalStudio(io.env, async (studio) => [await studio.jobs.get(jobId), await studio.jobs.checkpoints(jobId)] as const);
        if (json) writeJson(io, { ...job, checkpoints });
        else printJob(io, job, checkpoints);
        return 0;
      }
      case 'logs':
        return logs(io, json, jobId, flag(values, 'follow'), positiveInt(option(values, 'lines'), '--lines') ?? 200);
      case 'stop': {
        const result = client
          ? await client.request<StopResult>('POST', `${at}/stop`, {})
          : await underLock(io, 'jobs stop', async (studio) => {
              // Watch the run (reattach) so its end is recorded here, without starting queued runs.
              await studio.jobs.supervise({ schedule: false });
              const stopped = await studio.jobs.stop(jobId);
              const final = await localUpdatesUntilFinal(studio, jobId);
              return { ...stopped, job: final };
            });
        if (json) writeJson(io, result);
        else {
          writeLine(io, `job ${result.job.id}: ${result.job.state}`);
          writeLine(io, result.note);
          const kept = [result.lastSave.checkpoint, result.lastSave.state].filter((name): name is string => name !== null);
          writeLine(io, kept.length === 0 ? 'It had saved nothing yet.' : `Last save: ${kept.join(', ')}.`);
        }
        return 0;
      }
      case 'cancel': {
        const job = client ? await client.request<JobRecord>('POST', `${at}/cancel`, {}) : await underLock(io, 'jobs cancel', (studio) => studio.jobs.cancel(jobId));
        if (json) writeJson(io, job);
        else describeRow(io, job);
        return 0;
      }
      case 'move': {
        const position = positiveInt(extra, 'POSITION');
        if (position === undefined || position < 1) throw usageError('`jobs move` needs ID and POSITION (1 = next).', 'Example: lorasmith jobs move ID 1');
        const job = client ? await client.request<JobRecord>('POST', `${at}/move`, { position }) : await underLock(io, 'jobs move', (studio) => studio.jobs.move(jobId, position));
        if (json) writeJson(io, job);
        else describeRow(io, job);
        return 0;
      }
      case 'promote': {
        const epoch = positiveInt(option(values, 'epoch'), '--epoch');
        const step = positiveInt(option(values, 'step'), '--step');
        const file = option(values, 'file');
        if ([epoch, step, file].filter((value) => value !== undefined).length !== 1) throw usageError('`jobs promote` needs one of --epoch N, --step N or --file NAME.', 'See the saved files with `lorasmith jobs show ID`.');
        const body = { ...(epoch === undefined ? {} : { epoch }), ...(step === undefined ? {} : { step }), ...(file === undefined ? {} : { name: file }) };
        const result = client
          ? await client.request<{ model: { id: string; name: string }; duplicate: boolean }>('POST', `${at}/promote`, body)
          : await underLock(io, 'jobs promote', (studio) => studio.jobs.promote(jobId, body));
        if (json) writeJson(io, result);
        else writeLine(io, result.duplicate ? `Already in the library as model ${result.model.id} (${result.model.name}).` : `Added to the library as model ${result.model.id} (${result.model.name}).`);
        return 0;
      }
      case 'resume': {
        const extraOptions = options({ allowUnknownGpu: flag(values, 'allow-unknown-gpu'), allowUnsandboxed: flag(values, 'allow-unsandboxed'), gpus: parseGpus(option(values, 'gpus')) });
        if (client !== null) return startRemote(client, { path: `${at}/resume`, body: extraOptions, io, json, detach: flag(values, 'detach') });
        return startLocal({ io, json, detach: flag(values, 'detach'), enqueue: (studio) => studio.jobs.resume(jobId, extraOptions) });
      }
      default:
        throw usageError(`Unknown jobs action ${JSON.stringify(action)}.`, 'Use list, show, logs, stop, cancel, resume, move or promote.');
    }
  },
};

async function localUpdatesUntilFinal(studio: Studio, id: string): Promise<JobRecord> {
  let last = await studio.jobs.get(id);
  for await (const update of localUpdates(studio, id)) if (update.type === 'job') last = update.job;
  return last;
}

