/**
 * The FluxFlow adapter end to end against the FLUXFLOW ENGINE DOUBLE, in a real workspace: the engine's
 * `prepare` resolves the run against real datasets and the real model library and writes its files; the
 * launch is spawned as it is (argv[0] is the stand-in python, the environment is the adapter's); the output
 * goes through the line splitter and the adapter's parser as the shim feeds them; metrics come from the
 * double's JSONL files through the adapter's reader.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, lstat, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { detectFamilyAndKind } from '../../src/formats/fingerprint/index.ts';
import { validateSafetensorsFile } from '../../src/formats/safetensors/index.ts';
import { importModel } from '../../src/library/import-model.ts';
import { openStudio, type Studio } from '../../src/studio/studio.ts';
import type { EngineEvent, EngineLaunch, EngineOutcome, MetricBatch, TrainingEngine } from '../../src/training/engines/engine.ts';
import { createFluxflowEngine } from '../../src/training/engines/fluxflow/fluxflow-engine.ts';
import { fluxflowEngineStatus } from '../../src/training/engines/fluxflow/engine-location.ts';
import { LineSplitter } from '../../src/training/engines/kohya/line-splitter.ts';
import { parseRunConfig, type FluxflowRunInput, type RunConfig } from '../../src/training/schema/index.ts';
import type { FluxflowDoubleReport } from '../doubles/fluxflow/fluxflow-double.ts';
import { writeFluxflowStandIn } from '../doubles/fluxflow/launcher.ts';
import { makeHome } from '../helpers/studio.ts';

let home: string;
let studio: Studio;
let engine: TrainingEngine;
let jobs = 0;

beforeAll(async () => {
  home = await makeHome();
  studio = await openStudio({ home, env: {}, log: createLogger({ level: 'warn' }) });
  await writeFluxflowStandIn(path.join(studio.workspace.paths.areas.engines, 'fluxflow'));
  const status = await fluxflowEngineStatus({ env: {}, enginesDir: studio.workspace.paths.areas.engines });
  expect(status).toMatchObject({ installed: true, source: 'workspace' });
  engine = createFluxflowEngine({ workspace: studio, location: status.location });
  await studio.datasets.create('pics');
  await studio.datasets.setSubset('pics', 'photos', { repeats: 1, classTokens: 'photo' });
  const sizes = [
    [64, 64],
    [64, 48],
    [48, 64],
    [64, 64],
    [80, 48],
  ] as const;
  for (const [index, [width, height]] of sizes.entries()) {
    const file = path.join(studio.datasets.root, 'pics', 'photos', `${index}.png`);
    await sharp({ create: { width, height, channels: 3, background: { r: 40 * index, g: 100, b: 160 } } }).png().toFile(file);
    if (index !== 4) await writeFile(file.replace(/\.png$/, '.txt'), `a photo, number ${index}`);
  }
  await studio.secrets.set('hf', 'hf_CanaryFluxflowEngine0123456789abcdef');
});

afterAll(async () => {
  await studio.close();
  await rm(home, { recursive: true, force: true });
});

/** 5 images at batch size 2: 3 batches per epoch; 2 VAE epochs then 1 flow epoch: 9 batches. */
function config(overrides: Partial<FluxflowRunInput> = {}): RunConfig {
  return parseRunConfig({
    schema: 'lorasmith/run@1',
    kind: 'fluxflow',
    data: { dataset: 'pics', imgSize: 64 },
    model: { vaeDim: 16, featureMapsDim: 32, featureMapsDimDisc: 4 },
    output: { logInterval: 1, checkpointSaveInterval: 2, sampleSizes: [{ width: 32, height: 32 }], sampleCaptions: ['a photo'] },
    pipeline: {
      steps: [
        { name: 'vae', nEpochs: 2, trainVae: true, optimizers: { vae: { type: 'AdamW', lr: 1e-5 } } },
        { name: 'flow', nEpochs: 1, trainDiff: true, optimizers: { flow: { type: 'Lion', lr: 5e-7 } } },
      ],
    },
    ...overrides,
  });
}

interface Job {
  runDir: string;
  launch: EngineLaunch;
  events: EngineEvent[];
  outcome: EngineOutcome;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  report: FluxflowDoubleReport;
  metrics: MetricBatch;
}

async function runJob(runConfig: RunConfig, options: { env?: Record<string, string>; resumeFrom?: string; killWhenSilentMs?: number } = {}): Promise<Job> {
  const runDir = path.join(studio.workspace.paths.areas.runs, `job-${++jobs}`);
  const launch = await engine.prepare({ config: runConfig, runDir, gpus: ['0'], ...(options.resumeFrom === undefined ? {} : { resumeFrom: options.resumeFrom }) });
  const reportFile = path.join(home, `report-${jobs}.json`);
  const [command = '', ...args] = launch.argv;
  const child = spawn(command, args, { cwd: launch.cwd, env: { ...launch.env, FLUXFLOW_DOUBLE_REPORT: reportFile, ...options.env }, shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
  const parser = engine.createParser(runConfig);
  const events: EngineEvent[] = [];
  const text = { stdout: '', stderr: '' };
  let silence: NodeJS.Timeout | undefined;
  const watch = (): void => {
    // The shim's watchdog: no line for a while once training has begun, then stop.
    if (options.killWhenSilentMs === undefined || !events.some((event) => event.kind === 'phase' && event.phase === 'training')) return;
    clearTimeout(silence);
    silence = setTimeout(() => child.kill('SIGTERM'), options.killWhenSilentMs);
  };
  for (const stream of ['stdout', 'stderr'] as const) {
    const splitter = new LineSplitter();
    child[stream].on('data', (chunk: Buffer) => {
      text[stream] += chunk.toString('utf8');
      for (const line of splitter.push(chunk)) events.push(...parser.parse(line.text));
      watch();
    });
    child[stream].on('end', () => {
      for (const line of splitter.end()) events.push(...parser.parse(line.text));
    });
  }
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  clearTimeout(silence);
  const outputExists = await lstat(launch.outputFile).then(
    (info) => info.isFile(),
    () => false,
  );
  const finished = parser.finish({ code, signal, outputExists });
  events.push(...finished.events);
  const report = JSON.parse(await readFile(reportFile, 'utf8')) as FluxflowDoubleReport;
  return { runDir, launch, events, outcome: finished.outcome, code, signal, stdout: text.stdout, stderr: text.stderr, report, metrics: await engine.metrics(runDir, {}) };
}

const progressOf = (events: EngineEvent[]) => events.filter((event): event is Extract<EngineEvent, { kind: 'progress' }> => event.kind === 'progress');

describe('FluxFlow adapter against the engine double', () => {
  let first: Job;

  it('trains a two-step pipeline: progress and ETA from the plan, metrics, a fluxflow checkpoint', async () => {
    first = await runJob(config());
    expect(first.outcome).toEqual({ ok: true, code: 'succeeded', message: expect.any(String) });
    expect(first.code).toBe(0);

    // What the double saw: the adapter's argv and YAML, nothing ignored, the tokenizer through work/_cache.
    expect(first.report.interpreterFlags).toEqual(['-E', '-s', '-u']);
    expect(first.report.argv).toEqual(['--config', path.join(first.runDir, 'pipeline.yaml')]);
    expect(first.report.cwd).toBe(path.join(first.runDir, 'work'));
    expect(first.report).toMatchObject({ warnings: [], unknownKeys: [], unreadKeys: [], images: { default: 5 }, batchesPerEpoch: { vae: 3, flow: 3 }, finished: true });
    expect(first.report.tokenizer?.startsWith(path.join(first.runDir, 'work', '_cache'))).toBe(true);
    expect(first.report.bert).toContain(path.join('engines', 'fluxflow', 'cache'));

    const progress = progressOf(first.events);
    expect(progress.map((event) => event.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(progress.every((event) => event.total === 9)).toBe(true);
    expect(progress.at(-1)?.remainingS).toBe(0);
    expect(progress.every((event) => event.itPerSec !== undefined && event.itPerSec > 0)).toBe(true);
    expect(first.events.filter((event) => event.kind === 'phase').map((event) => (event as { phase: string }).phase)).toEqual(['scanning', 'training']);
    expect(first.events.filter((event) => event.kind === 'epoch')).toEqual([
      { kind: 'epoch', epoch: 1, total: 3 },
      { kind: 'epoch', epoch: 2, total: 3 },
      { kind: 'epoch', epoch: 3, total: 3 },
    ]);
    expect(first.events.filter((event) => event.kind === 'checkpoint').at(-1)).toEqual({ kind: 'checkpoint', path: 'output/flxflow_final.safetensors', final: true });

    // Metrics: one record per batch (log interval 1), losses of each step, read once.
    const tags = first.metrics.points.reduce<Record<string, number>>((count, point) => ({ ...count, [point.tag]: (count[point.tag] ?? 0) + 1 }), {});
    expect(tags).toMatchObject({ vae_loss: 6, kl_loss: 6, flow_loss: 3 });
    expect(first.metrics.points.filter((point) => point.tag === 'flow_loss').map((point) => point.step)).toEqual([7, 8, 9]);
    expect((await engine.metrics(first.runDir, first.metrics.cursor)).points).toEqual([]);

    // The final output: a checkpoint of family fluxflow, its text encoder beside it.
    const checkpoint = await validateSafetensorsFile({ path: first.launch.outputFile });
    if (!checkpoint.ok) throw new Error('invalid checkpoint');
    expect(checkpoint.header.tensors.every((tensor) => tensor.name.startsWith('diffuser.'))).toBe(true);
    expect(detectFamilyAndKind({ tensors: checkpoint.header.tensors, metadata: checkpoint.header.metadata })).toMatchObject({ kind: 'checkpoint', family: 'fluxflow' });
    // The launch names the text encoder as the output's companion: the job stores both in one library entry.
    expect(first.launch.outputCompanions).toEqual([path.join(path.dirname(first.launch.outputFile), 'text_encoder.safetensors')]);
    const textEncoder = await validateSafetensorsFile({ path: path.join(path.dirname(first.launch.outputFile), 'text_encoder.safetensors') });
    if (!textEncoder.ok) throw new Error('invalid text encoder');
    expect(detectFamilyAndKind({ tensors: textEncoder.header.tensors, metadata: textEncoder.header.metadata })).toMatchObject({ kind: 'text-encoder', family: 'fluxflow' });
    const sample = await sharp(path.join(path.dirname(first.launch.outputFile), 'samples_epoch_0001_caption_0-32.webp')).metadata();
    expect(sample).toMatchObject({ format: 'webp', width: 32, height: 32 });
  });

  it('the captions file holds the class tokens for an uncaptioned image', async () => {
    const captions = await readFile(path.join(first.runDir, 'captions', 'pics.tsv'), 'utf8');
    expect(captions.split('\n')).toContain('photos/4.png\tphoto');
  });

  it('the engine gets the allowlisted environment only: no token from the studio\'s environment or its secret store', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { HF_TOKEN: 'hf_CanaryEnvironment0123456789abcdef', CIVITAI_TOKEN: 'civitai-canary-1234', WANDB_API_KEY: 'wandb-canary-1234', PYTHONPATH: '/evil' });
    let job: Job;
    try {
      job = await runJob(config({ pipeline: { steps: [{ name: 'vae', nEpochs: 1, trainVae: true }] } }));
    } finally {
      process.env = saved;
    }
    const seen = JSON.stringify(job.report.env);
    for (const canary of ['hf_CanaryEnvironment', 'civitai-canary', 'wandb-canary', '/evil', 'hf_CanaryFluxflowEngine']) expect(seen).not.toContain(canary);
    expect(Object.keys(job.report.env).sort()).toEqual(
      ['CUDA_VISIBLE_DEVICES', 'FLUXFLOW_DOUBLE_REPORT', 'HF_HOME', 'HF_HUB_DISABLE_TELEMETRY', 'HF_HUB_OFFLINE', 'HOME', 'LANG', 'PATH', 'PYTHONDONTWRITEBYTECODE', 'PYTHONNOUSERSITE', 'PYTHONUTF8', 'TORCH_FORCE_WEIGHTS_ONLY_LOAD', 'TRANSFORMERS_OFFLINE'].sort(),
    );
    expect(job.outcome.ok).toBe(true);
  });

  it('refuses LPIPS and a WebDataset source with the reason, before any file or process exists (PROC-R03)', async () => {
    const before = jobs;
    const lpips = () => config({ pipeline: { steps: [{ name: 'vae', nEpochs: 1, trainVae: true, useLpips: true } as never] } });
    expect(lpips).toThrow(/"useLpips" is not offered: Needs network access/);
    const webdataset = () => config({ data: { dataset: 'pics', useWebdataset: true, webdatasetUrl: 'hf://datasets/x/*.tar' } as never });
    expect(webdataset).toThrow(/"useWebdataset" is not offered: Needs network access/);
    expect(jobs).toBe(before);
  });

  it('an OOM ends the run with cuda-oom; the last save is still there', async () => {
    const job = await runJob(config(), { env: { FLUXFLOW_DOUBLE_FAIL: 'oom:3' } });
    expect(job.outcome).toMatchObject({ ok: false, code: 'cuda-oom', hint: expect.stringContaining('batchSize') });
    expect(job.code).toBe(1);
    expect(JSON.parse(await readFile(path.join(job.runDir, 'work', 'output', 'training_state.json'), 'utf8'))).toMatchObject({ mode: 'pipeline', global_step: 2 });
  });

  it('a crash names the exception; a clean exit without training is not a success', async () => {
    const crash = await runJob(config(), { env: { FLUXFLOW_DOUBLE_FAIL: 'crash:2' } });
    expect(crash.outcome).toMatchObject({ ok: false, code: 'crash', message: expect.stringContaining('RuntimeError: fluxflow-double: crash requested') });
    const quiet = await runJob(config(), { env: { FLUXFLOW_DOUBLE_FAIL: 'exit0' } });
    expect(quiet.code).toBe(0);
    expect(quiet.outcome).toMatchObject({ ok: false, code: 'not-completed' });
  });

  it('a hang goes silent until the watchdog stops it; the stop keeps only the last save', async () => {
    const job = await runJob(config(), { env: { FLUXFLOW_DOUBLE_FAIL: 'hang:training' }, killWhenSilentMs: 1500 });
    expect(job.signal).toBe('SIGTERM');
    expect(job.outcome).toMatchObject({ ok: false, code: 'signal', hint: expect.stringContaining('last save') });
    expect(job.events.filter((event) => event.kind === 'phase').map((event) => (event as { phase: string }).phase)).toEqual(['scanning', 'training']);
  });

  it('resumes a failed run as a new job: a copy of the parent\'s output, model_checkpoint pointing into it', async () => {
    const parent = await runJob(config(), { env: { FLUXFLOW_DOUBLE_FAIL: 'crash:4' } });
    expect(parent.outcome.ok).toBe(false);
    const child = await runJob(config(), { resumeFrom: parent.runDir });
    expect(child.outcome).toMatchObject({ ok: true, code: 'succeeded' });
    // The parent saved at the end of the VAE step's first epoch (global step 3): the child starts there.
    expect(child.report.resumedAt).toEqual({ stepIndex: 0, epoch: 1, batch: 0, globalStep: 3 });
    expect(child.report.modelCheckpoint).toEqual({ path: child.launch.outputFile, loaded: true });
    expect(child.report.textEncoderLoaded).toBe(true);
    expect(progressOf(child.events).map((event) => event.step)).toEqual([4, 5, 6, 7, 8, 9]);
    // The parent's folder is untouched; the child's metrics carry the parent's records too (one curve).
    expect(JSON.parse(await readFile(path.join(parent.runDir, 'work', 'output', 'training_state.json'), 'utf8'))).toMatchObject({ global_step: 3 });
    expect(child.metrics.points.filter((point) => point.tag === 'vae_loss').map((point) => point.step)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('fine-tunes from a library checkpoint: fresh output folder, model_checkpoint and the copied text encoder', async () => {
    const quarantined = path.join(studio.workspace.paths.areas.quarantine, `${randomUUID()}.safetensors`);
    await copyFile(first.launch.outputFile, quarantined);
    const { model } = await importModel({ workspace: studio.workspace, library: studio.library, securityEvents: studio.securityEvents, file: quarantined, name: 'flxflow_final.safetensors', source: { type: 'run', id: 'job-1', rev: 'final' } });
    expect(model).toMatchObject({ kind: 'checkpoint', family: 'fluxflow' });
    // The jobs module stores the text encoder with the checkpoint (one library entry, DESIGN.md §3).
    const libraryFile = await studio.library.fileOf(model.id);
    await copyFile(path.join(path.dirname(first.launch.outputFile), 'text_encoder.safetensors'), path.join(path.dirname(libraryFile), 'text_encoder.safetensors'));

    const job = await runJob(config({ fineTuneFrom: model.id, pipeline: { steps: [{ name: 'flow', nEpochs: 1, trainDiff: true }] } }));
    expect(job.outcome).toMatchObject({ ok: true });
    expect(job.report.modelCheckpoint).toEqual({ path: libraryFile, loaded: true });
    expect(job.report.textEncoderLoaded).toBe(true);
    expect(job.report.resumedAt).toBeNull();
    expect(job.launch.sandbox.readOnly).toContain(libraryFile);

    // A checkpoint of other dims is refused before anything starts.
    const mismatch = config({ fineTuneFrom: model.id, model: { vaeDim: 32 } });
    await expect(engine.prepare({ config: mismatch, runDir: path.join(studio.workspace.paths.areas.runs, 'never'), gpus: [] })).rejects.toMatchObject({ code: 'fluxflow-dims-mismatch' });
    await expect(lstat(path.join(studio.workspace.paths.areas.runs, 'never'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a command line the trainer refuses is "failed to start" (exit 2)', async () => {
    const runDir = path.join(studio.workspace.paths.areas.runs, `job-${++jobs}`);
    const launch = await engine.prepare({ config: config(), runDir, gpus: [] });
    const [command = '', ...args] = launch.argv;
    const child = spawn(command, [...args, '--cfg_dropout_prob', '0.1'], { cwd: launch.cwd, env: launch.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const parser = engine.createParser(config());
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    for (const line of stderr.split('\n')) parser.parse(line);
    expect(code).toBe(2);
    expect(parser.finish({ code, signal: null, outputExists: false }).outcome).toMatchObject({ ok: false, code: 'failed-to-start', message: expect.stringContaining('unrecognized arguments: --cfg_dropout_prob 0.1') });
  });
});
