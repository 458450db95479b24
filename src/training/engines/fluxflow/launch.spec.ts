import { lstat, mkdir, mkdtemp, readFile, readlink, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allowlistedEnv } from '../spec-fixtures.ts';
import { fluxflowLocationAt, type FluxflowEngineLocation } from './engine-location.ts';
import { buildFluxflowLaunch, FLUXFLOW_PROGRESS_LINE, prepareFluxflowRun } from './launch.ts';
import { loadPyYaml, type PyMapping } from './pyyaml.ts';
import { fluxflowConfig, fluxflowInput } from './spec-fixtures.ts';

const ENGINE: FluxflowEngineLocation = fluxflowLocationAt(
  '/ws/engines/fluxflow/venv/bin/python',
  '/ws/engines/fluxflow/cache',
  { dir: '/ws/engines/fluxflow/cache/models--distilbert-base-uncased/snapshots/abc1234', weights: true },
);
const RUN = '/ws/runs/job-1';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('buildFluxflowLaunch', () => {
  it('launches <venv python> -E -s -u <venv>/bin/fluxflow-train --config <run>/pipeline.yaml in work/', () => {
    const launch = buildFluxflowLaunch(fluxflowInput(), { runDir: RUN, engine: ENGINE, gpus: ['0'] });
    expect(launch.argv).toEqual(['/ws/engines/fluxflow/venv/bin/python', '-E', '-s', '-u', '/ws/engines/fluxflow/venv/bin/fluxflow-train', '--config', '/ws/runs/job-1/pipeline.yaml']);
    expect(launch.cwd).toBe('/ws/runs/job-1/work');
    expect(launch.outputFile).toBe('/ws/runs/job-1/work/output/flxflow_final.safetensors');
    expect(launch.links).toEqual([{ path: '/ws/runs/job-1/work/_cache', target: '/ws/engines/fluxflow/cache' }]);
  });

  it('builds the environment from nothing, with the same allowlist as kohya', () => {
    const saved = { ...process.env };
    Object.assign(process.env, { HF_TOKEN: 'hf_abcdefghijklmnopqrstuvwxyz0123', WANDB_API_KEY: 'w', PYTHONPATH: '/evil', TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD: '1', http_proxy: 'http://proxy' });
    try {
      const { env } = buildFluxflowLaunch(fluxflowInput(), { runDir: RUN, engine: ENGINE, gpus: ['1'] });
      expect(env).toEqual(allowlistedEnv({ venvDir: '/ws/engines/fluxflow/venv', workDir: '/ws/runs/job-1/work', cudaVisibleDevices: '1' }));
    } finally {
      process.env = saved;
    }
    expect(buildFluxflowLaunch(fluxflowInput(), { runDir: RUN, engine: ENGINE, gpus: [] }).env.CUDA_VISIBLE_DEVICES).toBe('');
  });

  it('writes the YAML 0600 and one captions file per dataset into the run folder; the YAML points at them', () => {
    const config = fluxflowConfig({ pipeline: { steps: [{ name: 'a', nEpochs: 1, trainVae: true }, { name: 'b', nEpochs: 1, trainDiff: true, dataset: 'faces' }] } });
    const launch = buildFluxflowLaunch(fluxflowInput(config), { runDir: RUN, engine: ENGINE });
    expect(launch.files.map((file) => [file.path, file.mode])).toEqual([
      ['/ws/runs/job-1/pipeline.yaml', 0o600],
      ['/ws/runs/job-1/captions/pics.tsv', 0o644],
      ['/ws/runs/job-1/captions/faces.tsv', 0o644],
    ]);
    const doc = loadPyYaml(launch.files[0]?.content ?? '') as PyMapping;
    expect(doc.data).toMatchObject({ data_path: '/ws/datasets/pics', captions_file: '/ws/runs/job-1/captions/pics.tsv' });
    expect(doc.output).toMatchObject({ output_path: '/ws/runs/job-1/work/output' });
    expect(launch.files[1]?.content).toBe('photos/001.png\ta photo, number 001\nphotos/002.png\ta photo, number 002\nphotos/003.png\ta photo, number 003\n');
  });

  it('binds the venv, the engine cache, the run folder, datasets and models read-only; only work/ is writable', () => {
    const input = fluxflowInput(fluxflowConfig({ fineTuneFrom: 'model-1' }), { fineTune: { checkpoint: '/ws/models/checkpoint/run/j0/final/flxflow_final.safetensors', textEncoder: '/ws/models/checkpoint/run/j0/final/text_encoder.safetensors' } });
    const launch = buildFluxflowLaunch(input, { runDir: RUN, engine: ENGINE });
    expect(launch.sandbox).toEqual({
      readOnly: ['/ws/engines/fluxflow/venv', '/ws/engines/fluxflow/cache', RUN, '/ws/datasets/pics', '/ws/models/checkpoint/run/j0/final/flxflow_final.safetensors'],
      writable: ['/ws/runs/job-1/work'],
      network: false,
    });
    expect((loadPyYaml(launch.files[0]?.content ?? '') as PyMapping).model_checkpoint).toBe('/ws/models/checkpoint/run/j0/final/flxflow_final.safetensors');
    expect(launch.copies).toEqual([{ from: '/ws/models/checkpoint/run/j0/final/text_encoder.safetensors', to: '/ws/runs/job-1/work/output/text_encoder.safetensors' }]);
    expect(launch.plan).toMatchObject({ start: 'fine-tune', output: { kind: 'checkpoint', family: 'fluxflow', file: launch.outputFile } });
  });

  it('points model_checkpoint into its own output folder when resuming', () => {
    const input = fluxflowInput(undefined, { resume: { outputDir: '/ws/runs/job-0/work/output', state: { stepIndex: 1, stepName: 'flow', epoch: 0, batch: 20, globalStep: 70 } } });
    const launch = buildFluxflowLaunch(input, { runDir: RUN, engine: ENGINE });
    expect((loadPyYaml(launch.files[0]?.content ?? '') as PyMapping).model_checkpoint).toBe(launch.outputFile);
    expect(launch.copyOutputFrom).toBe('/ws/runs/job-0/work/output');
    expect(launch.plan.resume).toEqual({ from: '/ws/runs/job-0/work/output', step: 'flow', epoch: 0, batch: 20, globalStep: 70 });
  });

  it('gives the shim phases (startup, scanning, training at k × the step time) and per-save snapshots', () => {
    const launch = buildFluxflowLaunch(fluxflowInput(), { runDir: RUN, engine: ENGINE, timeouts: { stepFloorS: 60 } });
    expect(launch.directives.phases.map((phase) => phase.phase)).toEqual(['startup', 'scanning', 'training']);
    const training = launch.directives.phases[2];
    expect(training).toMatchObject({ stepFactor: 20, stepFloorS: 60 });
    expect(new RegExp(training?.stepPattern ?? '$^').test('[0000:01:02.345] Step vae (1/2) | Epoch 1/3 | Batch 20/500 | VAE: 0.1 | 0.52s/batch')).toBe(true);
    expect(new RegExp(launch.directives.phases[1]?.enter[0] ?? '$^').test('Scanning image dimensions:  40%|████      | 2/5')).toBe(true);
    const [weights, samples] = launch.directives.snapshots;
    for (const name of ['flxflow_final.safetensors', 'text_encoder.safetensors']) expect(new RegExp(weights?.pattern ?? '$^').test(name)).toBe(true);
    for (const name of ['D_img.safetensors', 'training_states.pt', 'x.flxflow_final.safetensors']) expect(new RegExp(weights?.pattern ?? '$^').test(name)).toBe(false);
    expect(new RegExp(samples?.pattern ?? '$^').test('samples_epoch_0001_caption_0-512.webp')).toBe(true);
    expect(new RegExp(samples?.pattern ?? '$^').test('0123abcd.ptz')).toBe(false);
    expect(FLUXFLOW_PROGRESS_LINE).toBe(training?.stepPattern);
  });

  it('refuses what cannot run: several GPUs, a relative run folder, no DistilBERT in the cache', () => {
    expect(codeOf(() => buildFluxflowLaunch(fluxflowInput(), { runDir: RUN, engine: ENGINE, gpus: ['0', '1'] }))).toBe('fluxflow-launch-invalid');
    expect(codeOf(() => buildFluxflowLaunch(fluxflowInput(), { runDir: 'runs/job-1', engine: ENGINE }))).toBe('fluxflow-launch-invalid');
    expect(codeOf(() => buildFluxflowLaunch(fluxflowInput(), { runDir: RUN, engine: { ...ENGINE, bertDir: null } }))).toBe('fluxflow-launch-invalid');
    // The tokenizer without the weights: a pretrained text encoder cannot load offline.
    expect(() => buildFluxflowLaunch(fluxflowInput(), { runDir: RUN, engine: { ...ENGINE, bertWeights: false } })).toThrow(/tokenizer but not its weights/);
    expect(codeOf(() => buildFluxflowLaunch(fluxflowInput(fluxflowConfig({ model: { pretrainedTextEncoder: false } })), { runDir: RUN, engine: { ...ENGINE, bertWeights: false } }))).toBeUndefined();
    const noBert = fluxflowInput(fluxflowConfig({ model: { pretrainedTextEncoder: false } }));
    expect(codeOf(() => buildFluxflowLaunch(noBert, { runDir: RUN, engine: { ...ENGINE, bertDir: null } }))).toBeUndefined();
  });
});

describe('prepareFluxflowRun', () => {
  let root: string;
  beforeEach(async () => {
    root = await realpath(await mkdtemp(path.join(tmpdir(), 'lorasmith-fluxflow-launch-')));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function engineIn(dir: string): FluxflowEngineLocation {
    return fluxflowLocationAt(path.join(dir, 'venv', 'bin', 'python'), path.join(dir, 'cache'), { dir: path.join(dir, 'cache', 'models--distilbert-base-uncased', 'snapshots', 'abc1234'), weights: true });
  }

  it('writes the files with their modes, creates work/ and links work/_cache to the engine cache', async () => {
    const runDir = path.join(root, 'runs', 'job-1');
    const launch = await prepareFluxflowRun(fluxflowInput(), { runDir, engine: engineIn(path.join(root, 'engine')) });
    expect((await stat(launch.layout.pipelineFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(launch.layout.pipelineFile, 'utf8')).toBe(launch.files[0]?.content);
    expect((await stat(path.join(runDir, 'captions', 'pics.tsv'))).mode & 0o777).toBe(0o644);
    expect(await readlink(path.join(runDir, 'work', '_cache'))).toBe(path.join(root, 'engine', 'cache'));
    for (const dir of ['output', 'home', 'hf']) expect((await lstat(path.join(runDir, 'work', dir))).isDirectory()).toBe(true);
  });

  it('refuses an output folder that already holds something: FluxFlow would resume from it', async () => {
    const runDir = path.join(root, 'runs', 'job-1');
    await mkdir(path.join(runDir, 'work', 'output'), { recursive: true });
    await writeFile(path.join(runDir, 'work', 'output', 'training_state.json'), '{"mode":"pipeline"}');
    await expect(prepareFluxflowRun(fluxflowInput(), { runDir, engine: engineIn(path.join(root, 'engine')) })).rejects.toMatchObject({ code: 'fluxflow-launch-invalid' });
  });

  it('starts a fine-tune with the checkpoint\'s text encoder copied into the fresh output folder', async () => {
    const library = path.join(root, 'models', 'final');
    await mkdir(library, { recursive: true });
    await writeFile(path.join(library, 'flxflow_final.safetensors'), 'weights');
    await writeFile(path.join(library, 'text_encoder.safetensors'), 'text encoder');
    const input = fluxflowInput(fluxflowConfig({ fineTuneFrom: 'm1' }), { fineTune: { checkpoint: path.join(library, 'flxflow_final.safetensors'), textEncoder: path.join(library, 'text_encoder.safetensors') } });
    const launch = await prepareFluxflowRun(input, { runDir: path.join(root, 'runs', 'job-2'), engine: engineIn(path.join(root, 'engine')) });
    expect(await readFile(path.join(launch.layout.outputDir, 'text_encoder.safetensors'), 'utf8')).toBe('text encoder');
    await expect(lstat(launch.outputFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('starts a resumed job with a copy of the parent\'s output folder (regular files only)', async () => {
    const parent = path.join(root, 'runs', 'job-0', 'work', 'output');
    await mkdir(path.join(parent, 'graph'), { recursive: true });
    await writeFile(path.join(parent, 'flxflow_final.safetensors'), 'w');
    await writeFile(path.join(parent, 'training_state.json'), '{"mode":"pipeline"}');
    await writeFile(path.join(parent, 'graph', 'training_metrics_vae.jsonl'), '{}\n');
    await symlink('/etc/passwd', path.join(parent, 'planted.safetensors'));
    const input = fluxflowInput(undefined, { resume: { outputDir: parent, state: { stepIndex: 0, stepName: 'vae', epoch: 1, batch: 0, globalStep: 2 } } });
    const launch = await prepareFluxflowRun(input, { runDir: path.join(root, 'runs', 'job-1'), engine: engineIn(path.join(root, 'engine')) });
    expect(await readFile(launch.outputFile, 'utf8')).toBe('w');
    expect(await readFile(path.join(launch.layout.outputDir, 'graph', 'training_metrics_vae.jsonl'), 'utf8')).toBe('{}\n');
    await expect(lstat(path.join(launch.layout.outputDir, 'planted.safetensors'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
