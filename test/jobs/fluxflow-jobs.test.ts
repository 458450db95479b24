/**
 * FluxFlow runs through the jobs domain against a real workspace (SQLite, library, datasets), with the
 * FLUXFLOW ENGINE DOUBLE as the engine behind its scenario stand-in, started by the in-test runner
 * (helpers/process-runner.ts: the shim's file protocol, no sandbox): a run queued and run to `succeeded` with
 * its checkpoint in the library as a `fluxflow` checkpoint (its text encoder in the same entry) and its JSONL
 * metrics readable, and FluxFlow's own settings named where a job cannot go on; an OOM ending
 * `failed` with `cuda-oom`, and a resume from the saved state as a new job.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { readEvents } from '../../src/jobs/events-file.ts';
import { JobService } from '../../src/jobs/job-service.ts';
import { jobSettingsSchema } from '../../src/jobs/job-settings.ts';
import type { JobRecord } from '../../src/jobs/job-types.ts';
import type { RunManifest } from '../../src/jobs/run-manifest.ts';
import { sha256OfFile } from '../../src/library/import-model-set.ts';
import { openStudio, type Studio } from '../../src/studio/studio.ts';
import { fluxflowEngineStatus } from '../../src/training/engines/fluxflow/engine-location.ts';
import { FluxflowJobEngine } from '../../src/training/engines/fluxflow/job-engine.ts';
import { resolveFluxflowRun } from '../../src/training/engines/fluxflow/resolve-run.ts';
import { probeGpus } from '../../src/training/planner/probe-gpus.ts';
import { speedHistoryFile } from '../../src/training/planner/speed-history.ts';
import { studioRunResolver } from '../../src/training/resolve-run.ts';
import { parseRunConfig } from '../../src/training/schema/index.ts';
import { makeHome } from '../helpers/studio.ts';
import { writeFluxflowScenarioEngine, type FluxflowScenarioEngine } from './fluxflow-scenario-engine.ts';
import { fakeNvidiaSmi } from './helpers/job-workspace.ts';
import { processRunner, type ProcessRunner } from './helpers/process-runner.ts';
import { ended, untilJob } from './helpers/until-job.ts';

const quiet = createLogger({ level: 'warn', destination: new Writable({ write: (_chunk, _encoding, callback) => callback() }) });

let home: string;
let studio: Studio;
let engine: FluxflowScenarioEngine;
let runner: ProcessRunner;
let jobs: JobService;

beforeAll(async () => {
  home = await makeHome();
  studio = await openStudio({ home, env: {}, log: quiet });
  engine = await writeFluxflowScenarioEngine(path.join(home, 'engines-double', 'fluxflow'));
  const gpuPath = await fakeNvidiaSmi(path.join(home, 'one-gpu'), 1);
  await studio.datasets.create('pics');
  await studio.datasets.setSubset('pics', 'photos', { repeats: 1, classTokens: 'photo' });
  for (const index of [0, 1, 2, 3, 4]) {
    const file = path.join(studio.datasets.root, 'pics', 'photos', `${index}.png`);
    await sharp({ create: { width: 64, height: 48 + 8 * (index % 3), channels: 3, background: { r: 40 * index, g: 100, b: 160 } } }).png().toFile(file);
    if (index !== 4) await writeFile(file.replace(/\.png$/, '.txt'), `a photo, number ${index}`);
  }
  runner = processRunner();
  const workspace = { library: studio.library, datasets: { root: studio.datasets.root } };
  jobs = new JobService({
    db: studio.db,
    workspace: studio.workspace,
    log: quiet,
    library: studio.library,
    securityEvents: studio.securityEvents,
    runner,
    engines: { fluxflow: new FluxflowJobEngine({ workspace, locate: () => fluxflowEngineStatus({ env: { LORASMITH_FLUXFLOW_PYTHON: engine.location.python }, enginesDir: path.dirname(engine.dir) }) }) },
    probeGpus: () => probeGpus({ path: gpuPath }),
    resolver: studioRunResolver(studio),
    settings: async () => jobSettingsSchema.parse({}),
    pollMs: 50,
  });
  await jobs.supervise();
}, 120_000);

afterEach(async () => {
  await engine.set({});
});

afterAll(async () => {
  await jobs.close();
  runner.killAll();
  await studio.close();
  await rm(home, { recursive: true, force: true });
});

/**
 * 5 images at batch size 2: 3 batches per epoch; two VAE epochs then one flow epoch, 9 batches. The first
 * step's name picks the double's scenario.
 */
function fluxflowConfig(first: string): Record<string, unknown> {
  return {
    schema: 'lorasmith/run@1',
    kind: 'fluxflow',
    name: `ff-${first}`,
    data: { dataset: 'pics', imgSize: 64 },
    model: { vaeDim: 16, featureMapsDim: 32, featureMapsDimDisc: 4 },
    output: { logInterval: 1, checkpointSaveInterval: 2, sampleSizes: [{ width: 32, height: 32 }], sampleCaptions: ['a photo'] },
    pipeline: {
      steps: [
        { name: first, nEpochs: 2, trainVae: true, optimizers: { vae: { type: 'AdamW', lr: 1e-5 } } },
        { name: 'flow', nEpochs: 1, trainDiff: true, optimizers: { flow: { type: 'Lion', lr: 5e-7 } } },
      ],
    },
  };
}

const until = (id: string, done: (job: JobRecord) => boolean, timeoutMs?: number): Promise<JobRecord> => untilJob(jobs, id, done, timeoutMs);
const runDir = (id: string) => studio.workspace.resolve('runs', id);

async function progressSteps(id: string): Promise<number[]> {
  return (await readEvents(await runDir(id))).flatMap((entry) => (entry.event.kind === 'progress' ? [entry.event.step] : []));
}

describe('FluxFlow runs through the job service', () => {
  it('a run is queued and succeeds: progress from its parser, the checkpoint in the library, metrics readable', async () => {
    const job = await jobs.enqueue({ config: fluxflowConfig('vae') });
    expect(job).toMatchObject({ state: 'queued', engine: 'fluxflow', family: 'fluxflow', name: 'ff-vae', datasets: ['pics'], device: 'gpu' });
    // The manifest hashes the captioned images and the caption files the run reads; the uncaptioned image trains on its class tokens.
    const manifest = JSON.parse(await readFile(path.join(await runDir(job.id), 'manifest.json'), 'utf8')) as RunManifest;
    expect(manifest.engine).toEqual({ id: 'fluxflow', commit: null });
    expect(manifest.datasets[0]?.files.map((file) => file.path)).toEqual(['photos/0.png', 'photos/0.txt', 'photos/1.png', 'photos/1.txt', 'photos/2.png', 'photos/2.txt', 'photos/3.png', 'photos/3.txt', 'photos/4.png']);

    const done = await until(job.id, ended);
    expect(done.failure).toBeNull();
    expect(done.state).toBe('succeeded');
    expect(done.progress).toMatchObject({ step: 9, total: 9, epoch: 3, epochs: 3, remainingS: 0 });
    expect(done.progress.itPerSec).toBeGreaterThan(0);
    // The log reader keeps the newest progress event of each batch it reads: steps only go up, to the end.
    const steps = await progressSteps(job.id);
    expect(steps).toEqual([...new Set(steps)].sort((a, b) => a - b));
    expect(steps.at(-1)).toBe(9);

    const model = await studio.library.get(done.outputModelId ?? '');
    expect(model).toMatchObject({ kind: 'checkpoint', family: 'fluxflow', name: 'flxflow_final.safetensors', source: { type: 'run', provenance: { job: job.id, engine: 'fluxflow', family: 'fluxflow' } } });
    const mainFile = await studio.library.fileOf(model.id);
    expect(mainFile).toBe(path.join(studio.workspace.paths.areas.models, 'checkpoint', 'run', job.id, 'final', 'flxflow_final.safetensors'));
    // The text encoder (the larger file) goes along in the same entry, so a fine-tune from it starts from the
    // trained encoder; the checkpoint stays the main file. Both are the run's last save, byte for byte.
    const output = path.join(await runDir(job.id), 'work', 'output');
    expect(model.files).toEqual([
      { path: 'flxflow_final.safetensors', size: (await stat(path.join(output, 'flxflow_final.safetensors'))).size, sha256: await sha256OfFile(path.join(output, 'flxflow_final.safetensors')), main: true },
      { path: 'text_encoder.safetensors', size: (await stat(path.join(output, 'text_encoder.safetensors'))).size, sha256: await sha256OfFile(path.join(output, 'text_encoder.safetensors')), main: false },
    ]);
    expect(model.files[1]?.size).toBeGreaterThan(model.files[0]?.size ?? Infinity);
    expect(model.hashes.sha256).toBe(model.files[0]?.sha256);
    expect(await sha256OfFile(path.join(path.dirname(mainFile), 'text_encoder.safetensors'))).toBe(model.files[1]?.sha256);
    const fineTune = parseRunConfig({ ...fluxflowConfig('next'), fineTuneFrom: model.id });
    if (fineTune.kind !== 'fluxflow') throw new Error('a FluxFlow config');
    const resolved = await resolveFluxflowRun({ workspace: { library: studio.library, datasets: { root: studio.datasets.root } }, config: fineTune });
    expect(resolved.fineTune).toEqual({ checkpoint: mainFile, textEncoder: path.join(path.dirname(mainFile), 'text_encoder.safetensors') });
    // The planner's speed table covers kohya families only: a FluxFlow run records none.
    expect(existsSync(speedHistoryFile(studio.workspace.paths.areas.engines))).toBe(false);

    const metrics = await jobs.metrics(job.id);
    const count = (tag: string) => metrics.points.filter((point) => point.tag === tag).length;
    expect({ vae: count('vae_loss'), kl: count('kl_loss'), flow: count('flow_loss') }).toEqual({ vae: 6, kl: 6, flow: 3 });
    expect(metrics.points.filter((point) => point.tag === 'flow_loss').map((point) => point.step)).toEqual([7, 8, 9]);
    expect((await jobs.metrics(job.id, metrics.cursor)).points).toEqual([]);
    // Nothing to promote: every FluxFlow save overwrites the same file.
    expect(await jobs.checkpoints(job.id)).toEqual([]);
    await expect(jobs.promote(job.id, { epoch: 1 })).rejects.toMatchObject({ code: 'checkpoint-not-found', hint: expect.stringContaining('FluxFlow overwrites one checkpoint') });
    // A finished run trains on through FluxFlow's own setting, not kohya's.
    await expect(jobs.resume(job.id)).rejects.toMatchObject({ code: 'job-not-resumable', hint: expect.stringContaining('fineTuneFrom') });
  });

  it('an OOM ends the run failed with cuda-oom; it saved state before, so it can be resumed', async () => {
    await engine.set({ oom: { fail: 'oom:3' } });
    const job = await jobs.enqueue({ config: fluxflowConfig('oom') });
    const done = await until(job.id, ended);
    expect(done).toMatchObject({ state: 'failed', outputModelId: null, resumable: true, failure: { code: 'cuda-oom', hint: expect.stringContaining('batchSize') } });
    expect(done.failure?.lastLines?.join('\n')).toContain('OutOfMemoryError');
  });

  it('resume is a new job whose output folder starts as a copy of the parent\'s and goes on from its saved state', async () => {
    await engine.set({ resume: { fail: 'crash:4' } });
    const parent = await until((await jobs.enqueue({ config: fluxflowConfig('resume') })).id, ended);
    expect(parent).toMatchObject({ state: 'failed', resumable: true, failure: { code: 'crash' } });
    await engine.set({});

    const child = await jobs.resume(parent.id);
    // The scheduler may claim it before the record is read back (the parent's end woke it): queued or starting.
    expect(child).toMatchObject({ state: expect.stringMatching(/^(queued|starting)$/), engine: 'fluxflow', resumedFrom: parent.id });
    const done = await until(child.id, ended);
    expect(done.failure).toBeNull();
    expect(done).toMatchObject({ state: 'succeeded', progress: { step: 9, total: 9 } });
    // The parent saved at the end of its first epoch (global step 3): the child trains steps 4–9 only.
    const steps = await progressSteps(child.id);
    expect(Math.min(...steps)).toBeGreaterThanOrEqual(4);
    expect(steps.at(-1)).toBe(9);
    expect((await jobs.logs(child.id, 500)).join('\n')).toContain('Step resume (1/2) | Epoch 2/2 | Batch 0/3');
    const history = await jobs.events(child.id);
    expect(history.find((entry) => entry.event.kind === 'state')?.event).toMatchObject({ state: 'queued', message: `resumes ${parent.id} from training_state.json` });
    // The parent's folder is untouched; the child's metrics hold the parent's records too (one curve).
    expect(JSON.parse(await readFile(path.join(await runDir(parent.id), 'work', 'output', 'training_state.json'), 'utf8'))).toMatchObject({ global_step: 3 });
    const metrics = await jobs.metrics(child.id);
    expect(metrics.points.filter((point) => point.tag === 'vae_loss').map((point) => point.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await studio.library.get(done.outputModelId ?? '')).toMatchObject({ kind: 'checkpoint', family: 'fluxflow' });
  });

  it('a run that never saved cannot be resumed', async () => {
    await engine.set({ early: { fail: 'crash:1' } });
    const job = await until((await jobs.enqueue({ config: fluxflowConfig('early') })).id, ended);
    expect(job).toMatchObject({ state: 'failed', resumable: false, failure: { code: 'crash' } });
    // The hint names FluxFlow's save setting (it always saves its state), not kohya's saving.saveState.
    await expect(jobs.resume(job.id)).rejects.toMatchObject({ code: 'no-saved-state', hint: expect.stringContaining('output.checkpointSaveInterval') });
  });
});
