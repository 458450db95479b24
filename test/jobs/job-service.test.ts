/**
 * The jobs domain against a real workspace (SQLite, library, datasets) with the KOHYA ENGINE DOUBLE as the
 * engine, started by the in-test runner (test/jobs/helpers/process-runner.ts: the shim's file protocol, no
 * sandbox): the whole lifecycle, the failure modes, slots on two simulated GPUs, queue order, stop and
 * resume, a malicious output, reattaching after the supervisor goes away, and the manifest recheck.
 */
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { datasetLockReason } from '../../src/jobs/dataset-locks.ts';
import { readEvents } from '../../src/jobs/events-file.ts';
import { JobService } from '../../src/jobs/job-service.ts';
import { jobSettingsSchema } from '../../src/jobs/job-settings.ts';
import type { JobRecord, JobState } from '../../src/jobs/job-types.ts';
import { openStudio, type Studio } from '../../src/studio/studio.ts';
import { KohyaTrainingEngine } from '../../src/training/engines/kohya/engine.ts';
import { probeGpus } from '../../src/training/planner/probe-gpus.ts';
import { studioRunResolver } from '../../src/training/resolve-run.ts';
import { makeTrainWorkspace, type TrainWorkspace } from '../train/train-workspace.ts';
import { fakeNvidiaSmi, runConfig } from './helpers/job-workspace.ts';
import { processRunner, type ProcessRunner } from './helpers/process-runner.ts';
import { writeScenarioEngine, type ScenarioEngine } from './helpers/scenario-engine.ts';
import { ended, untilJob } from './helpers/until-job.ts';

let ws: TrainWorkspace;
let studio: Studio;
let engine: ScenarioEngine;
let runner: ProcessRunner;
let gpuPath: string;
/** Supervisors a test started; each is closed after its test, so one supervisor at a time holds the queue. */
let services: JobService[] = [];

const quiet = createLogger({ level: 'warn', destination: new Writable({ write: (_chunk, _encoding, callback) => callback() }) });

/** Jobs each service told its `onFinished` about (the studio sends these to the webhook). */
let finished: JobRecord[] = [];

function service(params: { path?: string } = {}): JobService {
  const jobs = new JobService({
    db: studio.db,
    workspace: studio.workspace,
    log: quiet,
    library: studio.library,
    securityEvents: studio.securityEvents,
    runner,
    engines: { kohya: new KohyaTrainingEngine({ workspace: studio, locate: async () => ({ installed: true, location: engine.location }) }) },
    probeGpus: () => probeGpus({ path: params.path ?? gpuPath }),
    resolver: studioRunResolver(studio),
    settings: async () => jobSettingsSchema.parse({}),
    pollMs: 50,
    onFinished: async (job) => {
      finished.push(job);
    },
  });
  services.push(jobs);
  return jobs;
}

afterEach(async () => {
  for (const jobs of services) await jobs.close();
  services = [];
  finished = [];
});

beforeAll(async () => {
  ws = await makeTrainWorkspace();
  studio = await openStudio({ home: ws.home, env: {}, log: quiet });
  engine = await writeScenarioEngine(path.join(ws.files, 'engine'));
  gpuPath = await fakeNvidiaSmi(path.join(ws.files, 'two-gpus'), 2);
  runner = processRunner();
}, 120_000);

afterAll(async () => {
  runner.killAll();
  await studio.close();
  await rm(ws.home, { recursive: true, force: true });
  await rm(ws.files, { recursive: true, force: true });
});

/** Resolves with the job once `done` says so (from the job's own updates, or its record now). */
const until = untilJob;
const inState = (...states: JobState[]) => (job: JobRecord) => states.includes(job.state);

async function runDir(id: string): Promise<string> {
  return studio.workspace.resolve('runs', id);
}

async function readShimPid(id: string): Promise<number> {
  const status = JSON.parse(await readFile(path.join(await runDir(id), 'status.json'), 'utf8')) as { shim: { pid: number } };
  return status.shim.pid;
}

describe('a full run', () => {
  let jobs: JobService;
  beforeEach(async () => {
    jobs = service();
    await jobs.supervise();
  });

  it('goes queued → starting → running → succeeded; the final LoRA enters the library with the run as provenance', async () => {
    const states: JobState[] = [];
    const job = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'full-run' }) });
    expect(job).toMatchObject({ state: 'queued', engine: 'kohya', name: 'full-run', family: 'sd1', datasets: ['dogs'], device: 'gpu', gpuRequest: { count: 1 }, seed: 1234 });
    jobs.subscribe(job.id, (update) => {
      if (update.type === 'job' && states.at(-1) !== update.job.state) states.push(update.job.state);
    });
    expect(await datasetLockReason(studio.db, 'dogs')).toContain(job.id);
    const done = await until(jobs, job.id, ended);
    expect(done.failure).toBeNull();
    expect(done.state).toBe('succeeded');
    expect(states).toEqual(expect.arrayContaining(['starting', 'running', 'succeeded']));
    expect(done.slots).toEqual(['0']);
    expect(done.progress.step).toBe(done.progress.total);
    expect(done.progress.epochs).toBe(2);
    expect(done.sandbox).toBe('unsandboxed');

    const model = await studio.library.get(done.outputModelId ?? '');
    expect(model).toMatchObject({ kind: 'lora', family: 'sd1', name: 'full-run.safetensors', source: { type: 'run', provenance: { job: job.id, engine: 'kohya', seed: 1234 } } });
    expect(await studio.library.fileOf(model.id)).toContain(path.join('models', 'lora', 'run', job.id, 'final'));
    // The dataset is free again; per-epoch files stay with the run.
    expect(await datasetLockReason(studio.db, 'dogs')).toBeUndefined();
    expect((await jobs.checkpoints(job.id)).map((c) => c.name)).toEqual(['full-run-000001.safetensors']);
    // Told once, in its final state (the studio's webhook notice is made from this record).
    expect(finished.filter((record) => record.id === job.id).map((record) => record.state)).toEqual(['succeeded']);
  });

  it('events.jsonl and the SQLite mirror hold the same events, in order, from enqueue to the output', async () => {
    const [job] = await jobs.list({ limit: 1 });
    if (job === undefined) throw new Error('no job');
    const file = await readEvents(await runDir(job.id));
    const mirror = await jobs.events(job.id, { limit: 10_000 });
    expect(file).toEqual(mirror);
    expect(file.map((e) => e.seq)).toEqual(file.map((_e, i) => i + 1));
    const kinds = file.map((e) => e.event.kind);
    expect(kinds[0]).toBe('state');
    expect(kinds).toEqual(expect.arrayContaining(['phase', 'epoch', 'progress', 'checkpoint', 'output']));
    expect(file.filter((e) => e.event.kind === 'epoch').map((e) => (e.event as { epoch: number }).epoch)).toEqual([1, 2]);
    expect(file.at(-1)?.event).toEqual({ kind: 'state', state: 'succeeded' });
    const manifest = JSON.parse(await readFile(path.join(await runDir(job.id), 'manifest.json'), 'utf8')) as { seed: number; datasets: Array<{ name: string; files: Array<{ path: string; sha256: string }> }>; models: Array<{ role: string }> };
    expect(manifest.seed).toBe(1234);
    expect(manifest.models.map((m) => m.role)).toEqual(['base']);
    expect(manifest.datasets[0]?.files.map((f) => f.path)).toEqual(expect.arrayContaining(['dog/001.png', 'dog/001.txt', 'extra/x.png']));
  });

  it('promote puts a per-epoch file into the library under run/<job>/epoch-N', async () => {
    const [job] = await jobs.list({ limit: 1 });
    if (job === undefined) throw new Error('no job');
    const { model } = await jobs.promote(job.id, { epoch: 1 });
    expect(model).toMatchObject({ kind: 'lora', name: 'full-run-000001.safetensors', source: { type: 'run', provenance: { job: job.id, epoch: 1 } } });
    expect(await studio.library.fileOf(model.id)).toContain(path.join('run', job.id, 'epoch-1'));
    await expect(jobs.promote(job.id, { epoch: 7 })).rejects.toMatchObject({ code: 'checkpoint-not-found' });
  });

  it.each([
    ['oom', { fail: 'oom:3' }, 'cuda-oom'],
    ['crash', { fail: 'crash:2' }, 'crash'],
    ['nodata', { fail: 'nodata' }, 'no-data'],
  ] as const)('%s: the run fails with the reason and the log’s last lines', async (name, scenario, code) => {
    await engine.set({ [name]: scenario });
    const job = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name }) });
    const done = await until(jobs, job.id, ended);
    expect(done.state).toBe('failed');
    expect(done.failure).toMatchObject({ code, message: expect.any(String), hint: expect.any(String) });
    expect(done.failure?.lastLines?.length).toBeGreaterThan(0);
    expect(done.outputModelId).toBeNull();
    if (name === 'nodata') expect(done.failure?.lastLines?.join('\n')).toContain('No data found');
  });

  it('a run whose output is a booby-trapped pickle fails and nothing of it reaches models/', async () => {
    await engine.set({ malicious: { output: 'malicious' } });
    const job = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'malicious', epochs: 1 }) });
    const done = await until(jobs, job.id, ended);
    expect(done.state).toBe('failed');
    expect(done.failure).toMatchObject({ code: 'output-refused' });
    expect(done.failure?.message).toMatch(/unsafe/);
    const events = await jobs.events(job.id);
    expect(events.map((e) => e.event)).toContainEqual(expect.objectContaining({ kind: 'output-refused', code: 'unsafe' }));
    const runModels = path.join(studio.workspace.paths.areas.models, 'lora', 'run', job.id);
    await expect(readdir(runModels)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await studio.library.list()).some((model) => model.source.type === 'run' && model.source.provenance?.job === job.id)).toBe(false);
  });
});

describe('slots and the queue', () => {
  it('two simulated GPUs run two jobs at once; a third waits, can be moved, and a queued one cancelled', async () => {
    const jobs = service();
    await jobs.supervise();
    await engine.set({ a: { speed: 40 }, b: { speed: 40 }, c: { speed: 200 }, d: { speed: 200 } });
    const a = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'a' }) });
    const b = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'b' }) });
    const [ra, rb] = await Promise.all([until(jobs, a.id, inState('running')), until(jobs, b.id, inState('running'))]);
    expect([...ra.slots, ...rb.slots].sort()).toEqual(['0', '1']);
    const c = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'c' }) });
    const d = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'd' }) });
    const e = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'e' }) });
    expect([c, d, e].map((job) => [job.state, job.position])).toEqual([['queued', 1], ['queued', 2], ['queued', 3]]);
    // The stream carries the new place of every queued job the move shifted, not only the moved one's.
    const streamed = new Map<string, number | null>();
    const unsubscribe = jobs.subscribe(null, (update) => {
      if (update.type === 'job') streamed.set(update.job.id, update.job.position);
    });
    const moved = await jobs.move(d.id, 1);
    unsubscribe();
    expect(moved.position).toBe(1);
    expect((await jobs.get(c.id)).position).toBe(2);
    expect(Object.fromEntries(streamed)).toEqual({ [d.id]: 1, [c.id]: 2, [e.id]: 3 });
    const cancelled = await jobs.cancel(e.id);
    expect(cancelled).toMatchObject({ state: 'cancelled', failure: { code: 'cancelled' } });
    await expect(jobs.cancel(a.id)).rejects.toMatchObject({ code: 'job-running' });
    // d starts before c: the queue order decides who gets the first free GPU.
    const dRunning = await until(jobs, d.id, inState('starting', 'running', 'succeeded'));
    const cNow = await jobs.get(c.id);
    expect(cNow.state === 'queued' || (cNow.startedAt ?? '') >= (dRunning.startedAt ?? '')).toBe(true);
    for (const job of [a, b, c, d]) expect((await until(jobs, job.id, ended)).state).toBe('succeeded');
  }, 120_000);

  it('CPU mode: no nvidia-smi, so runs share the one cpu slot and go one after another', async () => {
    const jobs = service({ path: path.join(ws.files, 'no-gpus') });
    await jobs.supervise();
    await engine.set({ cpu1: { speed: 100 }, cpu2: { speed: 100 } });
    const one = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'cpu1', epochs: 1 }) });
    const two = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'cpu2', epochs: 1 }) });
    expect(one.device).toBe('cpu');
    const first = await until(jobs, one.id, ended);
    const second = await until(jobs, two.id, ended);
    expect([first.state, second.state]).toEqual(['succeeded', 'succeeded']);
    expect(first.slots).toEqual(['cpu']);
    // One after another: the second claims the slot once the first's engine has exited (its output is imported
    // while the second starts, so the first's finishedAt may come later).
    const firstStatus = JSON.parse(await readFile(path.join(await runDir(one.id), 'status.json'), 'utf8')) as { exit: { at: string } | null };
    expect(firstStatus.exit).not.toBeNull();
    expect(Date.parse(second.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(firstStatus.exit?.at ?? ''));
    const spec = JSON.parse(await readFile(path.join(await runDir(one.id), 'shim.json'), 'utf8')) as { env: Record<string, string> };
    expect(spec.env.CUDA_VISIBLE_DEVICES).toBe('');
  }, 120_000);

  it('gpu_unknown needs the explicit override', async () => {
    const broken = await fakeNvidiaSmi(path.join(ws.files, 'broken-smi'), 0);
    await writeFile(path.join(broken, 'nvidia-smi'), `#!${process.execPath}\nprocess.stderr.write('NVIDIA-SMI has failed because it couldn\\'t communicate with the NVIDIA driver');\nprocess.exit(9);\n`);
    const jobs = service({ path: broken });
    await expect(jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'unknown' }) })).rejects.toMatchObject({ code: 'gpu-unknown' });
    const job = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'unknown' }), allowUnknownGpu: true });
    expect(job.device).toBe('unknown');
    await jobs.cancel(job.id);
  });

  it('a run for an engine this service was not given is refused before it queues, naming the kinds it can run', async () => {
    const jobs = service();
    const before = (await jobs.list()).length;
    const fluxflow = { schema: 'lorasmith/run@1', kind: 'fluxflow', data: { dataset: 'dogs' }, pipeline: { steps: [{ name: 'vae', nEpochs: 1, trainVae: true }] } };
    await expect(jobs.enqueue({ config: fluxflow })).rejects.toMatchObject({
      code: 'engine-not-available',
      status: 400,
      message: 'This studio has no fluxflow engine to launch the run with.',
      hint: 'Use a run of kind "kohya".',
    });
    expect(await jobs.list()).toHaveLength(before);
  });
});

describe('stop, resume and restarts', () => {
  it('stop keeps the last save; resume starts a new linked job from the saved state and finishes', async () => {
    const jobs = service();
    await jobs.supervise();
    await engine.set({ resumable: { speed: 8 } });
    const job = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'resumable', epochs: 3 }) });
    await until(jobs, job.id, (j) => (j.progress.epoch ?? 0) >= 2);
    const stop = await jobs.stop(job.id);
    expect(stop.note).toMatch(/last save/);
    expect(stop.lastSave.checkpoint).toMatch(/^resumable-00000[12]\.safetensors$/);
    expect(stop.lastSave.state).toMatch(/^resumable-00000[12]-state$/);
    const stopped = await until(jobs, job.id, ended);
    expect(stopped).toMatchObject({ state: 'cancelled', failure: { code: 'stopped' }, resumable: true });

    await engine.set({ resumable: { speed: 300 } });
    const resumed = await jobs.resume(job.id);
    // The scheduler may claim it before the record is read back (the parent's end woke it): queued or starting.
    expect(resumed).toMatchObject({ state: expect.stringMatching(/^(queued|starting)$/), resumedFrom: job.id, seed: 1234 });
    const done = await until(jobs, resumed.id, ended);
    expect(done.state).toBe('succeeded');
    const toml = await readFile(path.join(await runDir(resumed.id), 'run.toml'), 'utf8');
    const resumeDir = JSON.parse(/^resume = (".*")$/m.exec(toml)?.[1] ?? '""') as string;
    expect(path.dirname(resumeDir)).toBe(path.join(await runDir(resumed.id), 'work', 'resume'));
    expect(path.basename(resumeDir)).toMatch(/^resumable-00000[12]-state$/);
    const saved = JSON.parse(await readFile(path.join(resumeDir, 'train_state.json'), 'utf8')) as { current_epoch: number };
    expect(saved.current_epoch).toBe(Number(path.basename(resumeDir).slice(10, 16)));
    await expect(jobs.resume(resumed.id)).rejects.toMatchObject({ code: 'job-not-resumable' });
  }, 120_000);

  it('a new supervisor reattaches a live run, records nothing twice and sees it to the end', async () => {
    const first = service();
    await first.supervise();
    await engine.set({ reattach: { speed: 40 } });
    const job = await first.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'reattach' }) });
    await until(first, job.id, (j) => j.state === 'running' && (j.progress.step ?? 0) > 5);
    await first.close();
    const before = (await first.get(job.id)).progress.step;
    const second = service();
    await second.supervise();
    const done = await until(second, job.id, ended);
    expect(done.state).toBe('succeeded');
    expect(done.progress.step).toBeGreaterThan(before);
    const events = await readEvents(await runDir(job.id));
    expect(events.map((e) => e.seq)).toEqual(events.map((_e, i) => i + 1));
    expect(events.filter((e) => e.event.kind === 'epoch').map((e) => (e.event as { epoch: number }).epoch)).toEqual([1, 2]);
    expect(events.filter((e) => e.event.kind === 'state' && (e.event as { state: string }).state === 'running')).toHaveLength(1);
    expect(await second.events(job.id, { limit: 10_000 })).toEqual(events);
  }, 120_000);

  it('a run whose supervisor vanished without an exit record is interrupted, with its last log lines', async () => {
    const first = service();
    await first.supervise();
    await engine.set({ vanish: { fail: 'hang:training' } });
    const job = await first.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'vanish' }) });
    const running = await until(first, job.id, (j) => j.state === 'running' && j.progress.epoch === 1);
    await first.close();
    // The engine and its supervisor die without recording an exit (as if the machine had rebooted).
    runner.vanish(await readShimPid(job.id));
    const second = service();
    await second.supervise();
    const done = await until(second, job.id, ended);
    expect(running.state).toBe('running');
    expect(done).toMatchObject({ state: 'interrupted', failure: { code: 'interrupted' } });
    expect(done.failure?.lastLines?.some((line) => line.startsWith('epoch 1/2'))).toBe(true);
  }, 120_000);

  it('a dataset edited outside lorasmith while the run waited fails it at start with the change named', async () => {
    const jobs = service();
    // Not supervising yet: the job waits in the queue while the caption changes behind the lock.
    const job = await jobs.enqueue({ config: runConfig({ base: ws.checkpointId, name: 'edited' }) });
    await writeFile(path.join(studio.datasets.root, 'dogs', 'dog', '002.txt'), 'changed behind the lock');
    await jobs.supervise();
    const done = await until(jobs, job.id, ended);
    expect(done).toMatchObject({ state: 'failed', failure: { code: 'manifest-mismatch' } });
    expect(done.failure?.message).toContain('dogs/dog/002.txt changed');
  });
});
