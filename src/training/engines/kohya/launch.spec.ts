import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../../core/errors.ts';
import { registerSecret } from '../../../core/redact.ts';
import { allowlistedEnv } from '../spec-fixtures.ts';
import { buildKohyaLaunch, kohyaDryRun, prepareKohyaRun, type KohyaEngineLocation } from './launch.ts';
import { parseTomlTyped } from './toml-format.ts';
import type { KohyaRunInput } from './types.ts';
import { readSamplePromptsTxt } from './write-sample-prompts.ts';

const ENGINE: KohyaEngineLocation = {
  python: '/ws/engines/kohya/venv/bin/python',
  venvDir: '/ws/engines/kohya/venv',
  engineRoot: '/ws/engines/kohya/sd-scripts',
  tokenizerCacheDir: '/ws/engines/kohya/cache/tokenizers',
};

function input(overrides: Partial<KohyaRunInput> = {}): KohyaRunInput {
  return {
    script: 'sdxl_train_network.py',
    args: {
      pretrained_model_name_or_path: '/ws/models/checkpoint/local/abc/-/sdxl.safetensors',
      network_module: 'networks.lora',
      network_dim: 8,
      network_alpha: 4,
      learning_rate: 0.0001,
      mixed_precision: 'bf16',
      max_train_epochs: 2,
      output_name: 'char-v1',
      network_train_unet_only: true,
    },
    general: { caption_extension: '.txt', enable_bucket: true },
    datasets: [{ resolution: 1024, batch_size: 1, subsets: [{ name: 'character', source_dir: '/ws/datasets/char/character', num_repeats: 5 }] }],
    samplePrompts: [{ prompt: 'sks woman, portrait', seed: 1, width: 1024, height: 1024 }],
    ...overrides,
  };
}

describe('buildKohyaLaunch', () => {
  it('builds the one-GPU argv of DESIGN §4 with absolute paths, cwd work/', () => {
    const launch = buildKohyaLaunch(input(), { runDir: '/ws/runs/job-1', engine: ENGINE, gpus: ['0'] });
    expect(launch.argv).toEqual([
      '/ws/engines/kohya/venv/bin/python',
      '-E',
      '-s',
      '-u',
      '-X',
      'utf8',
      '/ws/engines/kohya/sd-scripts/sdxl_train_network.py',
      '--config_file',
      '/ws/runs/job-1/run.toml',
      '--dataset_config',
      '/ws/runs/job-1/dataset.toml',
      '--console_log_simple',
    ]);
    expect(launch.cwd).toBe('/ws/runs/job-1/work');
    expect(launch.engine).toBe('kohya');
  });

  it('launches several GPUs through accelerate with the script\'s own mixed precision', () => {
    const launch = buildKohyaLaunch(input(), { runDir: '/ws/runs/job-1', engine: ENGINE, gpus: ['0', '1'] });
    expect(launch.argv).toEqual([
      '/ws/engines/kohya/venv/bin/python',
      '-E',
      '-s',
      '-u',
      '-X',
      'utf8',
      '-m',
      'accelerate.commands.launch',
      '--num_processes',
      '2',
      '--num_machines',
      '1',
      '--mixed_precision',
      'bf16',
      '--dynamo_backend',
      'no',
      '/ws/engines/kohya/sd-scripts/sdxl_train_network.py',
      '--config_file',
      '/ws/runs/job-1/run.toml',
      '--dataset_config',
      '/ws/runs/job-1/dataset.toml',
      '--console_log_simple',
    ]);
    expect(launch.env.CUDA_VISIBLE_DEVICES).toBe('0,1');
    expect(launch.plan.gpus).toBe(2);
    // mixed_precision is also in the config TOML: accelerate's own flag has no effect on sd-scripts.
    expect(parseTomlTyped(launch.files[0]?.content ?? '').mixed_precision).toBe('bf16');
  });

  it('builds the allowlisted environment from nothing: no token, no user PYTHON* variable', () => {
    const saved = { ...process.env };
    process.env.HF_TOKEN = 'hf_abcdefghijklmnopqrstuvwxyz0123';
    process.env.CIVITAI_TOKEN = 'civitai-secret';
    process.env.WANDB_API_KEY = 'wandb-secret';
    process.env.PYTHONPATH = '/evil';
    process.env.TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD = '1';
    try {
      const { env } = buildKohyaLaunch(input(), { runDir: '/ws/runs/job-1', engine: ENGINE, gpus: ['GPU-0f2e6f4e-1a2b-3c4d-5e6f-000000000000'] });
      expect(env).toEqual(allowlistedEnv({ venvDir: '/ws/engines/kohya/venv', workDir: '/ws/runs/job-1/work', cudaVisibleDevices: 'GPU-0f2e6f4e-1a2b-3c4d-5e6f-000000000000' }));
    } finally {
      process.env = saved;
    }
    expect(buildKohyaLaunch(input(), { runDir: '/ws/runs/job-1', engine: ENGINE }).env).not.toHaveProperty('CUDA_VISIBLE_DEVICES');
    expect(buildKohyaLaunch(input(), { runDir: '/ws/runs/job-1', engine: ENGINE, gpus: [] }).env.CUDA_VISIBLE_DEVICES).toBe('');
  });

  it('writes the config, dataset and sample files into the run folder, pointing at each other', () => {
    const launch = buildKohyaLaunch(input(), { runDir: '/ws/runs/job-1', engine: ENGINE });
    expect(launch.files.map((f) => [f.path, f.mode])).toEqual([
      ['/ws/runs/job-1/run.toml', 0o644],
      ['/ws/runs/job-1/dataset.toml', 0o644],
      ['/ws/runs/job-1/sample-prompts.txt', 0o644],
    ]);
    const config = parseTomlTyped(launch.files[0]?.content ?? '');
    expect(config).toMatchObject({
      output_dir: '/ws/runs/job-1/work/output',
      logging_dir: '/ws/runs/job-1/work/logs',
      tokenizer_cache_dir: '/ws/engines/kohya/cache/tokenizers',
      sample_prompts: '/ws/runs/job-1/sample-prompts.txt',
    });
    const dataset = parseTomlTyped(launch.files[1]?.content ?? '') as { datasets: Array<{ subsets: Array<{ image_dir: string }> }> };
    expect(dataset.datasets[0]?.subsets[0]?.image_dir).toBe('/ws/runs/job-1/work/images/0/character');
    expect(readSamplePromptsTxt(launch.files[2]?.content ?? '')).toEqual([{ prompt: 'sks woman, portrait', seed: 1, width: 1024, height: 1024 }]);
    const json = buildKohyaLaunch(input(), { runDir: '/ws/runs/job-1', engine: ENGINE, samplePromptsFormat: 'json' });
    expect(parseTomlTyped(json.files[0]?.content ?? '').sample_prompts).toBe('/ws/runs/job-1/sample-prompts.json');
    expect(buildKohyaLaunch(input({ samplePrompts: [] }), { runDir: '/ws/runs/job-1', engine: ENGINE }).files).toHaveLength(2);
  });

  it('gives the shim phase directives and snapshots, and the sandbox its binds', () => {
    const launch = buildKohyaLaunch(input(), { runDir: '/ws/runs/job-1', engine: ENGINE, timeouts: { stepFloorS: 120 } });
    const [startup, caching, training] = launch.directives.phases;
    expect(startup).toMatchObject({ phase: 'startup', idleTimeoutS: 1800 });
    expect(new RegExp(caching?.enter[0] ?? '', 'i').test('caching latents...')).toBe(true);
    expect(new RegExp(caching?.enter[0] ?? '', 'i').test('caching Text Encoder outputs with caching strategy.')).toBe(true);
    expect(training).toMatchObject({ phase: 'training', stepFactor: 20, stepFloorS: 120 });
    expect(training?.enter.some((p) => new RegExp(p).test('running training / 学習開始'))).toBe(true);
    expect(new RegExp(training?.stepPattern ?? '').exec('steps:  29%|████▋     | 943/3280 [18:48<46:37,  1.20s/it, avr_loss=nan]')?.slice(1)).toEqual(['943', '3280']);
    const [outputs, samples] = launch.directives.snapshots;
    expect(outputs?.dir).toBe('/ws/runs/job-1/work/output');
    for (const name of ['char-v1.safetensors', 'char-v1-000001.safetensors', 'char-v1-step00000500.safetensors']) expect(new RegExp(outputs?.pattern ?? '').test(name)).toBe(true);
    expect(new RegExp(outputs?.pattern ?? '').test('char-v1-000001-state')).toBe(false);
    expect(samples?.dir).toBe('/ws/runs/job-1/work/output/sample');
    expect(launch.sandbox).toEqual({
      readOnly: [
        '/ws/engines/kohya/sd-scripts',
        '/ws/engines/kohya/venv',
        '/ws/engines/kohya/cache/tokenizers',
        '/ws/runs/job-1',
        '/ws/models/checkpoint/local/abc/-/sdxl.safetensors',
        '/ws/datasets/char/character',
      ],
      writable: ['/ws/runs/job-1/work'],
      network: false,
    });
    expect(launch.plan).toMatchObject({
      script: 'sdxl_train_network.py',
      gpus: 1,
      mixedPrecision: 'bf16',
      outputName: 'char-v1',
      outputFile: '/ws/runs/job-1/work/output/char-v1.safetensors',
      datasets: [{ index: 0, subsets: [{ name: 'character', sourceDir: '/ws/datasets/char/character', linkDir: '/ws/runs/job-1/work/images/0/character', isReg: false, numRepeats: 5, captionExtension: '.txt' }] }],
      samplePrompts: 1,
    });
  });

  it('refuses relative engine paths, bad GPU ids and unknown scripts', () => {
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        if (isLorasmithError(error)) return error.code;
        throw error;
      }
      return 'no error';
    };
    expect(codeOf(() => buildKohyaLaunch(input(), { runDir: 'runs/job-1', engine: ENGINE }))).toBe('kohya-launch-invalid');
    expect(codeOf(() => buildKohyaLaunch(input(), { runDir: '/ws/runs/job-1', engine: { ...ENGINE, python: 'python3' } }))).toBe('kohya-launch-invalid');
    expect(codeOf(() => buildKohyaLaunch(input(), { runDir: '/ws/runs/job-1', engine: ENGINE, gpus: ['0;rm -rf /'] }))).toBe('kohya-launch-invalid');
    expect(codeOf(() => buildKohyaLaunch(input({ script: 'gen_img.py' as never }), { runDir: '/ws/runs/job-1', engine: ENGINE }))).toBe('kohya-launch-invalid');
    expect(codeOf(() => buildKohyaLaunch(input({ args: { log_with: 'wandb' } }), { runDir: '/ws/runs/job-1', engine: ENGINE }))).toBe('kohya-needs-network');
  });
});

describe('kohyaDryRun', () => {
  it('shows argv, env, cwd, files, sandbox and plan under a placeholder run folder, secrets redacted', () => {
    registerSecret('civitai-literal-secret-123');
    const view = kohyaDryRun(input({ args: { ...input().args, training_comment: 'token hf_abcdefghijklmnopqrstuvwxyz0123 and civitai-literal-secret-123' } }), { engine: ENGINE, gpus: ['0'] });
    expect(Object.keys(view).sort()).toEqual(['argv', 'cwd', 'directives', 'engine', 'env', 'files', 'plan', 'sandbox']);
    expect(view.engine).toBe('kohya');
    expect(view.cwd).toBe('<run>/work');
    expect(view.argv.slice(-5)).toEqual(['--config_file', '<run>/run.toml', '--dataset_config', '<run>/dataset.toml', '--console_log_simple']);
    expect(Object.keys(view.files)).toEqual(['<run>/run.toml', '<run>/dataset.toml', '<run>/sample-prompts.txt']);
    expect(view.files['<run>/run.toml']).toContain('output_dir = "<run>/work/output"');
    expect(view.files['<run>/dataset.toml']).toContain('image_dir = "<run>/work/images/0/character"');
    expect(view.env.HOME).toBe('<run>/work/home');
    expect(view.sandbox.writable).toEqual(['<run>/work']);
    expect(view.plan.outputFile).toBe('<run>/work/output/char-v1.safetensors');
    const text = JSON.stringify(view);
    expect(text).not.toContain('hf_abcdefghijklmnopqrstuvwxyz0123');
    expect(text).not.toContain('civitai-literal-secret-123');
    expect(text).toContain('[REDACTED]');
    expect(text).not.toContain('__lorasmith_dry_run__');
  });
});

describe('prepareKohyaRun (real files)', () => {
  let root: string;
  beforeEach(async () => {
    root = await realpath(await mkdtemp(path.join(tmpdir(), 'lorasmith-kohya-prepare-')));
    await mkdir(path.join(root, 'datasets', 'char', 'character'), { recursive: true });
    await writeFile(path.join(root, 'datasets', 'char', 'character', '1.png'), 'png');
    await writeFile(path.join(root, 'datasets', 'char', 'character', '1.txt'), 'sks woman');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes the files, makes work/ and links the images', async () => {
    const runDir = path.join(root, 'runs', 'job-1');
    const base = input();
    const run: KohyaRunInput = { ...base, datasets: [{ resolution: 1024, subsets: [{ name: 'character', source_dir: path.join(root, 'datasets', 'char', 'character'), num_repeats: 5 }] }] };
    const launch = await prepareKohyaRun(run, { runDir, engine: ENGINE, gpus: ['0'] });
    expect((await readdir(runDir)).sort()).toEqual(['dataset.toml', 'run.toml', 'sample-prompts.txt', 'work']);
    expect(await readFile(path.join(runDir, 'run.toml'), 'utf8')).toBe(launch.files[0]?.content);
    expect(((await stat(path.join(runDir, 'run.toml'))).mode & 0o777).toString(8)).toBe('644');
    expect((await readdir(path.join(runDir, 'work'))).sort()).toEqual(['hf', 'home', 'images', 'logs', 'output']);
    const link = path.join(runDir, 'work', 'images', '0', 'character', '1.png');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(path.join(root, 'datasets', 'char', 'character', '1.png'));
    expect(launch.links.subsets[0]).toMatchObject({ images: 1, captions: 1 });
    expect(launch.sandbox.readOnly).toContain(path.join(root, 'datasets', 'char', 'character'));
  });
});
