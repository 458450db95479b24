/**
 * The FLUXFLOW ENGINE DOUBLE behaves as fluxflow.md says FluxFlow does — what it accepts, what it silently
 * ignores (recorded in its report), what it refuses and how — so the adapter tests that run against it mean
 * something. Driven through the adapter's own launch (prepareFluxflowRun) with a dataset on disk.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineOutcome } from '../../../src/training/engines/engine.ts';
import { prepareFluxflowRun, type FluxflowLaunch } from '../../../src/training/engines/fluxflow/launch.ts';
import { FluxflowOutputParser } from '../../../src/training/engines/fluxflow/parse-output.ts';
import { dumpPyYaml, loadPyYaml, type PyMapping } from '../../../src/training/engines/fluxflow/pyyaml.ts';
import type { FluxflowResolvedRun } from '../../../src/training/engines/fluxflow/resolve-run.ts';
import { LineSplitter } from '../../../src/training/engines/kohya/line-splitter.ts';
import { parseRunConfig, type FluxflowRunConfig, type FluxflowRunInput } from '../../../src/training/schema/index.ts';
import type { FluxflowDoubleReport } from './fluxflow-double.ts';
import { fluxflowDoubleEngine, writeFluxflowStandIn } from './launcher.ts';

let root: string;
let datasetDir: string;
let runs = 0;

beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'lorasmith-fluxflow-double-')));
  await writeFluxflowStandIn(path.join(root, 'engine'));
  await writeFluxflowStandIn(path.join(root, 'engine-no-cache'), { tokenizerCache: false });
  datasetDir = path.join(root, 'datasets', 'pics');
  await mkdir(path.join(datasetDir, 'photos'), { recursive: true });
  for (const index of [0, 1, 2]) {
    await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 90 * index, g: 10, b: 10 } } }).png().toFile(path.join(datasetDir, 'photos', `${index}.png`));
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function config(overrides: Partial<FluxflowRunInput> = {}): FluxflowRunConfig {
  const parsed = parseRunConfig({
    schema: 'lorasmith/run@1',
    kind: 'fluxflow',
    data: { dataset: 'pics', imgSize: 64 },
    model: { vaeDim: 8, featureMapsDim: 16, featureMapsDimDisc: 2 },
    output: { logInterval: 1, checkpointSaveInterval: 10, samples: false },
    pipeline: { steps: [{ name: 'vae', nEpochs: 1, trainVae: true }, { name: 'flow', nEpochs: 1, trainDiff: true }] },
    ...overrides,
  });
  if (parsed.kind !== 'fluxflow') throw new Error('a FluxFlow run');
  return parsed;
}

function input(runConfig: FluxflowRunConfig): FluxflowResolvedRun {
  return {
    config: runConfig,
    datasets: [{ name: 'pics', dir: datasetDir, entries: [0, 1, 2].map((index) => ({ image: `photos/${index}.png`, caption: `photo ${index}` })), skipped: [] }],
    testImages: [],
    fineTune: null,
    resume: null,
  };
}

interface DoubleRun {
  launch: FluxflowLaunch;
  code: number | null;
  stdout: string;
  stderr: string;
  outcome: EngineOutcome;
  report: FluxflowDoubleReport;
}

async function run(options: { config?: FluxflowRunConfig; yaml?: (doc: PyMapping) => void; captions?: string; argv?: (argv: string[]) => string[]; noCache?: boolean } = {}): Promise<DoubleRun> {
  const runConfig = options.config ?? config();
  const launch = await prepareFluxflowRun(input(runConfig), { runDir: path.join(root, 'runs', `job-${++runs}`), engine: fluxflowDoubleEngine(path.join(root, options.noCache ? 'engine-no-cache' : 'engine'), { tokenizerCache: !options.noCache }) });
  if (options.yaml !== undefined) {
    const doc = loadPyYaml(await readFile(launch.layout.pipelineFile, 'utf8')) as PyMapping;
    options.yaml(doc);
    await writeFile(launch.layout.pipelineFile, dumpPyYaml(doc));
  }
  if (options.captions !== undefined) await writeFile(path.join(launch.layout.captionsDir, 'pics.tsv'), options.captions);
  const reportFile = path.join(root, `report-${runs}.json`);
  const [command = '', ...args] = options.argv?.(launch.argv) ?? launch.argv;
  const child = spawn(command, args, { cwd: launch.cwd, env: { ...launch.env, FLUXFLOW_DOUBLE_REPORT: reportFile }, stdio: ['ignore', 'pipe', 'pipe'] });
  const parser = new FluxflowOutputParser({ steps: runConfig.pipeline.steps, outputFile: launch.outputFile });
  const text = { stdout: '', stderr: '' };
  for (const stream of ['stdout', 'stderr'] as const) {
    const splitter = new LineSplitter();
    child[stream].on('data', (chunk: Buffer) => {
      text[stream] += chunk.toString('utf8');
      for (const line of splitter.push(chunk)) parser.parse(line.text);
    });
    child[stream].on('end', () => {
      for (const line of splitter.end()) parser.parse(line.text);
    });
  }
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const report = existsSync(reportFile) ? (JSON.parse(await readFile(reportFile, 'utf8')) as FluxflowDoubleReport) : ({} as FluxflowDoubleReport);
  return { launch, code, ...text, outcome: parser.finish({ code, signal: null, outputExists: existsSync(launch.outputFile) }).outcome, report };
}

function step(doc: PyMapping, index: number): PyMapping {
  return ((doc.training as PyMapping).pipeline as PyMapping & { steps: PyMapping[] }).steps[index] as PyMapping;
}

describe('FLUXFLOW ENGINE DOUBLE: what FluxFlow ignores is recorded, not refused', () => {
  it('unknown keys and keys pipeline mode never reads', async () => {
    const result = await run({
      yaml: (doc) => {
        (doc.output as PyMapping).log_level = 'INFO';
        (doc.training as PyMapping).lr_min = 0.1;
        step(doc, 0).cfg_dropout_prob = 0.1;
        step(doc, 0).batch_size = 4n;
      },
    });
    expect(result.code).toBe(0);
    expect(result.outcome.ok).toBe(true);
    expect(result.report.unknownKeys).toEqual(['output.log_level']);
    expect([...result.report.unreadKeys].sort()).toEqual(['training.lr_min', 'training.pipeline.steps[0].batch_size', 'training.pipeline.steps[0].cfg_dropout_prob']);
    expect(result.stdout).not.toContain('log_level');
  });

  it('a trained component without an optimiser, a missing model_checkpoint, freeze names that are no model keys', async () => {
    const result = await run({
      config: config({ pipeline: { steps: [{ name: 'flow', nEpochs: 1, trainDiff: true, optimizers: { textEncoder: { type: 'AdamW', lr: 1e-8 } } }] } }),
      yaml: (doc) => {
        doc.model_checkpoint = path.join(root, 'nowhere.safetensors');
        step(doc, 0).freeze = ['discriminator'];
      },
    });
    expect(result.outcome.ok).toBe(true);
    expect(result.report.warnings).toEqual([
      expect.stringContaining('model_checkpoint'),
      expect.stringContaining('lists no flow optimiser'),
      expect.stringContaining("freeze 'discriminator'"),
    ]);
    expect(result.stdout).toContain('Flow: 0.0000');
  });
});

describe('FLUXFLOW ENGINE DOUBLE: what FluxFlow refuses, and when', () => {
  it('a mistyped value: TypeError naming the key (FluxFlow checks no types)', async () => {
    const result = await run({ yaml: (doc) => (step(doc, 0).n_epochs = '3') });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('TypeError: training.pipeline.steps[0].n_epochs is a str, where FluxFlow uses a int');
    expect(result.outcome).toMatchObject({ ok: false, code: 'crash', message: expect.stringContaining('n_epochs') });
  });

  it('the validator: a step without a training mode; --validate-pipeline prints the plan or the errors', async () => {
    const bad = await run({ yaml: (doc) => (step(doc, 1).train_diff = false) });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Step 2 ('flow'): at least one training mode must be enabled");
    const plan = await run({ argv: (argv) => [...argv, '--validate-pipeline'] });
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('PIPELINE EXECUTION PLAN');
    expect(plan.stdout).toContain('Pipeline configuration is valid.');
    expect(existsSync(plan.launch.outputFile)).toBe(false);
    const invalid = await run({ yaml: (doc) => (step(doc, 0).max_steps = 0n), argv: (argv) => [...argv, '--validate-pipeline'] });
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toContain('max_steps must be > 0');
  });

  it('an optimiser that validates but cannot be built fails when its step starts, after the steps before it ran', async () => {
    const result = await run({ yaml: (doc) => (step(doc, 1).optimization = { optimizers: { flow: { type: 'Adagrad', lr: 1e-5 } } }) });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('PIPELINE STEP 2/2: flow');
    expect(existsSync(result.launch.outputFile)).toBe(true);
    expect(result.outcome).toMatchObject({ ok: false, code: 'crash', message: expect.stringContaining('Unsupported optimizer type: Adagrad') });
  });

  it('LPIPS and a WebDataset source need the network, which a run never has', async () => {
    const lpips = await run({ yaml: (doc) => (step(doc, 0).use_lpips = true) });
    expect(lpips.outcome).toMatchObject({ ok: false, code: 'engine-cache-missing' });
    const webdataset = await run({ yaml: (doc) => Object.assign(doc.data as PyMapping, { use_webdataset: true, webdataset_token: 'hf_x', webdataset_url: 'hf://datasets/x/*.tar' }) });
    expect(webdataset.outcome).toMatchObject({ ok: false, code: 'engine-cache-missing' });
  });

  it('no top-level data section, a malformed captions file, no tokenizer in the cache', async () => {
    const noData = await run({ yaml: (doc) => delete doc.data });
    expect(noData.stderr).toContain('ValueError: captions_file is required');
    expect(noData.outcome).toMatchObject({ ok: false, code: 'captions-invalid' });
    const blank = await run({ captions: 'photos/0.png\tphoto\n\nphotos/1.png\tphoto\n' });
    expect(blank.stderr).toContain('ValueError: not enough values to unpack (expected 2, got 1)');
    const offline = await run({ config: config({ model: { pretrainedTextEncoder: false } }), noCache: true });
    expect(offline.stderr).toContain("OSError: We couldn't connect to 'https://huggingface.co'");
    expect(offline.outcome).toMatchObject({ ok: false, code: 'engine-cache-missing' });
  });

  it('legacy mode (no training.pipeline) crashes as it does at training head', async () => {
    const result = await run({ yaml: (doc) => delete (doc.training as PyMapping).pipeline });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("unexpected keyword argument 'last_sample_step'");
  });
});

describe('FLUXFLOW ENGINE DOUBLE: transitions', () => {
  it('a loss below the threshold ends the step at the epoch end; the next step starts', async () => {
    const runConfig = config({
      pipeline: {
        steps: [
          { name: 'vae', nEpochs: 3, trainVae: true, transition: { mode: 'loss_threshold', metric: 'vae_loss', threshold: 10, maxEpochs: 3 } },
          { name: 'flow', nEpochs: 1, trainDiff: true },
        ],
      },
    });
    const result = await run({ config: runConfig });
    expect(result.outcome.ok).toBe(true);
    expect(result.stdout).toMatch(/Epoch 1 completed in .*\nTransition criteria met: vae_loss \d\.\d{4} < 10 \(epoch 1\)\n/);
    expect(result.stdout).not.toContain('Epoch 2/3');
    expect(result.report.globalStep).toBe(4);
  });
});

describe('FLUXFLOW ENGINE DOUBLE: the command line', () => {
  it('argparse: an unknown option or a bad value exits 2; a unique prefix and --opt=value are accepted', async () => {
    const unknown = await run({ argv: (argv) => [...argv, '--train_no_gan'] });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('fluxflow-train: error: unrecognized arguments: --train_no_gan');
    const badInt = await run({ argv: (argv) => [...argv, '--n_epochs', 'x'] });
    expect(badInt.stderr).toContain("argument --n_epochs: invalid int value: 'x'");
    const accepted = await run({ argv: (argv) => [...argv, '--lr_m', '0.2', '--log_interval=5'] });
    expect(accepted.code).toBe(0);
  });

  it('the python stand-in insists on -E -s -u and on the fluxflow-train script', async () => {
    const noUnbuffered = await run({ argv: (argv) => argv.filter((arg) => arg !== '-u') });
    expect(noUnbuffered.code).toBe(2);
    expect(noUnbuffered.stderr).toContain('-E -s -u');
    const otherScript = await run({ argv: (argv) => argv.map((arg) => (arg.endsWith('/fluxflow-train') ? path.join(path.dirname(arg), 'python') : arg)) });
    expect(otherScript.code).toBe(2);
    expect(otherScript.stderr).toContain("can't open file");
  });
});
