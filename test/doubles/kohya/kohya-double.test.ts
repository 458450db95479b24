/**
 * The KOHYA ENGINE DOUBLE driven through the real adapter: prepareKohyaRun writes run.toml / dataset.toml
 * and links generated PNGs; the double runs from `launch.argv` (its python is the stand-in); its output goes
 * through LineSplitter + KohyaOutputParser exactly as the shim would feed them.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSafetensorsFile } from '../../../src/formats/safetensors/index.ts';
import { prepareKohyaRun, type KohyaLaunch } from '../../../src/training/engines/kohya/launch.ts';
import { LineSplitter } from '../../../src/training/engines/kohya/line-splitter.ts';
import { KohyaOutputParser, type KohyaEvent, type KohyaOutcome } from '../../../src/training/engines/kohya/parse-output.ts';
import type { KohyaRunInput } from '../../../src/training/engines/kohya/types.ts';
import { kohyaDoubleArgv, kohyaDoubleEngine, writePythonStandIn } from './launcher.ts';
import { crc32c, decodeEvent, readRecords } from './tfrecord.ts';

let root: string;
let engineDir: string;
let datasetDir: string;
let runCounter = 0;

beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'lorasmith-kohya-double-')));
  engineDir = path.join(root, 'engine');
  await writePythonStandIn(engineDir);
  datasetDir = path.join(root, 'datasets', 'char', 'character');
  await mkdir(datasetDir, { recursive: true });
  const sizes = [
    [512, 512],
    [512, 512],
    [640, 384],
  ] as const;
  for (const [i, [width, height]] of sizes.entries()) {
    await sharp({ create: { width, height, channels: 3, background: { r: 40 * i, g: 90, b: 200 } } })
      .png()
      .toFile(path.join(datasetDir, `img${i}.png`));
    await writeFile(path.join(datasetDir, `img${i}.txt`), 'sks woman, red hair');
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function baseInput(overrides: Partial<KohyaRunInput> = {}, args: KohyaRunInput['args'] = {}): KohyaRunInput {
  return {
    script: 'train_network.py',
    args: {
      pretrained_model_name_or_path: '/models/sd15.safetensors',
      network_module: 'networks.lora',
      network_dim: 4,
      network_alpha: 2,
      learning_rate: 0.0001,
      mixed_precision: 'fp16',
      max_train_epochs: 2,
      save_every_n_epochs: 1,
      output_name: 'dbl',
      cache_latents: true,
      cache_latents_to_disk: true,
      sample_every_n_epochs: 1,
      save_state: true,
      seed: 42,
      ...args,
    },
    general: { caption_extension: '.txt' },
    datasets: [{ resolution: 512, batch_size: 1, subsets: [{ name: 'character', source_dir: datasetDir, num_repeats: 2 }] }],
    samplePrompts: [{ prompt: 'sks woman, portrait', seed: 1, width: 64, height: 96 }],
    ...overrides,
  };
}

interface RunResult {
  launch: KohyaLaunch;
  events: KohyaEvent[];
  outcome: KohyaOutcome;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

async function runDouble(
  input: KohyaRunInput,
  options: { env?: Record<string, string>; mutate?: (launch: KohyaLaunch) => Promise<void>; argv?: (launch: KohyaLaunch) => string[]; killWhen?: (events: KohyaEvent[]) => boolean; viaNode?: boolean } = {},
): Promise<RunResult> {
  const runDir = path.join(root, 'runs', `job-${++runCounter}`);
  const launch = await prepareKohyaRun(input, { runDir, engine: kohyaDoubleEngine(engineDir) });
  await options.mutate?.(launch);
  const argv = options.argv?.(launch) ?? launch.argv;
  const [command, ...rest] = options.viaNode ? [process.execPath, ...kohyaDoubleArgv(argv)] : argv;
  const child = spawn(command ?? '', rest, { cwd: launch.cwd, env: { ...launch.env, ...options.env }, shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
  const parser = new KohyaOutputParser({ outputName: launch.plan.outputName });
  const events: KohyaEvent[] = [];
  const text = { stdout: '', stderr: '' };
  let killTimer: NodeJS.Timeout | undefined;
  for (const stream of ['stdout', 'stderr'] as const) {
    const splitter = new LineSplitter();
    const pipe = child[stream];
    pipe.on('data', (chunk: Buffer) => {
      text[stream] += chunk.toString('utf8');
      for (const line of splitter.push(chunk)) events.push(...parser.parse({ text: line.text, stream }));
      if (options.killWhen?.(events) && killTimer === undefined) {
        // Watch for silence, then stop it as the shim's watchdog would.
        killTimer = setTimeout(() => child.kill('SIGTERM'), 400);
      }
    });
    pipe.on('end', () => {
      for (const line of splitter.end()) events.push(...parser.parse({ text: line.text, stream }));
    });
  }
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  const { events: tail, outcome } = parser.finish({ code, signal, outputExists: existsSync(launch.plan.outputFile) });
  events.push(...tail);
  return { launch, events, outcome, code, signal, stdout: text.stdout, stderr: text.stderr };
}

const of = <K extends KohyaEvent['kind']>(events: KohyaEvent[], kind: K): Array<Extract<KohyaEvent, { kind: K }>> => events.filter((e): e is Extract<KohyaEvent, { kind: K }> => e.kind === kind);

describe('kohya engine double: a successful SD 1.x LoRA run', () => {
  let run: RunResult;
  beforeAll(async () => {
    run = await runDouble(baseInput());
  });

  it('prints the grammar the parser turns into progress, epochs, checkpoints and a success', () => {
    expect(run.code, run.stderr).toBe(0);
    // 3 images × 2 repeats, batch 1, no buckets → 6 batches/epoch, 2 epochs → 12 steps.
    expect(of(run.events, 'summary').at(-1)).toMatchObject({ totalSteps: 12, epochs: 2, batchesPerEpoch: 6, trainImages: 6, regImages: 0 });
    expect(of(run.events, 'epoch').map((e) => [e.epoch, e.total])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    const training = of(run.events, 'progress').filter((p) => p.bar === 'training');
    expect(training[0]).toMatchObject({ step: 0, total: 12 });
    expect(training.at(-1)).toMatchObject({ step: 12, total: 12, percent: 100 });
    expect(training.at(-1)?.loss).toBeGreaterThan(0);
    expect(training.at(-1)?.itPerSec).toBeGreaterThan(0);
    expect(run.stderr).toMatch(/\rsteps: 100%\|██████████\| 12\/12 \[\d\d:\d\d<00:00, +[\d.]+it\/s, avr_loss=[\d.]+\]/);
    const out = run.launch.layout.outputDir;
    expect(of(run.events, 'checkpoint')).toEqual([
      { kind: 'checkpoint', path: path.join(out, 'dbl-000001.safetensors'), final: false },
      { kind: 'checkpoint', path: path.join(out, 'dbl.safetensors'), final: true },
    ]);
    expect(of(run.events, 'state-saving').map((e) => e.at)).toEqual(['epoch', 'last']);
    expect(of(run.events, 'sample').map((e) => e.step)).toEqual([6, 12]);
    expect(of(run.events, 'model-saved')).toHaveLength(1);
    expect(of(run.events, 'phase').map((e) => e.phase)).toContain('training');
    expect(of(run.events, 'error')).toEqual([]);
    expect(run.outcome).toMatchObject({ ok: true, code: 'succeeded' });
  });

  it('writes a LoRA with kohya keys, the rank and ss_* metadata', async () => {
    const check = await validateSafetensorsFile({ path: run.launch.plan.outputFile });
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    const { tensors, metadata } = check.header;
    for (const t of tensors) expect(t.name).toMatch(/^lora_(unet|te)_\w+\.(lora_down\.weight|lora_up\.weight|alpha)$/);
    expect(tensors.some((t) => t.name.startsWith('lora_te_text_model_encoder_layers_'))).toBe(true);
    const downs = tensors.filter((t) => t.name.endsWith('.lora_down.weight'));
    expect(downs.length).toBeGreaterThan(10);
    for (const t of downs) expect(t.shape[0]).toBe(4);
    for (const t of tensors.filter((t) => t.name.endsWith('.alpha'))) expect(t.shape).toEqual([]);
    expect(tensors.every((t) => t.dtype === 'F16')).toBe(true);
    const attn2k = tensors.find((t) => t.name === 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight');
    expect(attn2k?.shape).toEqual([4, 768]);
    expect(metadata).toMatchObject({
      ss_network_dim: '4',
      ss_network_alpha: '2.0',
      ss_network_module: 'networks.lora',
      ss_base_model_version: 'sd_v1',
      ss_output_name: 'dbl',
      ss_num_train_images: '6',
      ss_num_batches_per_epoch: '6',
      ss_num_epochs: '2',
      ss_steps: '12',
      ss_epoch: '2',
      ss_max_train_steps: '12',
      ss_learning_rate: '0.0001',
      ss_mixed_precision: 'fp16',
      ss_seed: '42',
      ss_sd_model_name: 'sd15.safetensors',
      ss_sd_scripts_commit_hash: 'kohya-double',
      'modelspec.architecture': 'stable-diffusion-v1/lora',
      'modelspec.implementation_version': 'sd-scripts/kohya-double',
    });
    expect(JSON.parse(metadata.ss_dataset_dirs ?? '{}')).toEqual({ character: { n_repeats: 2, img_count: 3 } });
    expect(JSON.parse(metadata.ss_tag_frequency ?? '{}')).toEqual({ character: { 'sks woman': 3, 'red hair': 3 } });
    expect(metadata.sshs_model_hash).toMatch(/^[0-9a-f]{64}$/);
    const epoch1 = await validateSafetensorsFile({ path: path.join(run.launch.layout.outputDir, 'dbl-000001.safetensors') });
    expect(epoch1.ok && epoch1.header.metadata.ss_steps).toBe('6');
    expect(epoch1.ok && epoch1.header.metadata.ss_epoch).toBe('1');
  });

  it('writes latent caches next to the linked images, not into the dataset', async () => {
    const linkDir = path.join(run.launch.layout.imagesDir, '0', 'character');
    const files = (await readdir(linkDir)).sort();
    expect(files.filter((f) => f.endsWith('.npz'))).toEqual(['img0_0512x0512_sd.npz', 'img1_0512x0512_sd.npz', 'img2_0640x0384_sd.npz']);
    expect((await readdir(datasetDir)).some((f) => f.endsWith('.npz'))).toBe(false);
    expect(run.stdout).toContain('caching latents.');
  });

  it('writes sample PNGs, state folders and a TensorBoard file with valid masked CRCs', async () => {
    const out = run.launch.layout.outputDir;
    const samples = (await readdir(path.join(out, 'sample'))).sort();
    expect(samples).toHaveLength(2);
    expect(samples[0]).toMatch(/^dbl_e000001_00_\d{14}_1\.png$/);
    expect(samples[1]).toMatch(/^dbl_e000002_00_\d{14}_1\.png$/);
    const meta = await sharp(path.join(out, 'sample', samples[0] ?? '')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 64, 96]);
    for (const state of ['dbl-000001-state', 'dbl-state']) {
      expect((await readdir(path.join(out, state))).sort()).toEqual(['model.safetensors', 'optimizer.bin', 'random_states_0.pkl', 'scheduler.bin', 'train_state.json']);
    }
    expect(JSON.parse(await readFile(path.join(out, 'dbl-state', 'train_state.json'), 'utf8'))).toEqual({ current_epoch: 2, current_step: 12 });

    const logs = run.launch.layout.loggingDir;
    const [stampDir] = await readdir(logs);
    expect(stampDir).toMatch(/^\d{14}$/);
    const trackerDir = path.join(logs, stampDir ?? '', 'network_train');
    const [eventFile] = await readdir(trackerDir);
    expect(eventFile).toMatch(/^events\.out\.tfevents\.\d+\.[^.]+.*\.\d+\.0$/);
    const { records, problems } = readRecords(await readFile(path.join(trackerDir, eventFile ?? '')));
    expect(problems).toEqual([]);
    const events = records.map(decodeEvent);
    expect(events[0]?.fileVersion).toBe('brain.Event:2');
    const tags = new Set(events.flatMap((e) => e.scalars.map((s) => s.tag)));
    expect([...tags].sort()).toEqual(['loss/average', 'loss/current', 'loss/epoch_average', 'lr/textencoder', 'lr/unet']);
    const unet = events.filter((e) => e.scalars.some((s) => s.tag === 'lr/unet'));
    expect(unet.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(unet[0]?.scalars.find((s) => s.tag === 'lr/unet')?.value).toBeCloseTo(0.0001, 8);
  });
});

describe('kohya engine double: other families and launch forms', () => {
  it('SDXL, U-Net only, bf16, launched as `node kohya-double.ts` with the python flags', async () => {
    const run = await runDouble(
      baseInput({ script: 'sdxl_train_network.py', datasets: [{ resolution: 1024, enable_bucket: true, batch_size: 2, subsets: [{ name: 'character', source_dir: datasetDir, num_repeats: 1 }] }], samplePrompts: [] }, {
        network_train_unet_only: true,
        mixed_precision: 'bf16',
        network_dim: 8,
        network_alpha: 8,
        max_train_epochs: 1,
        save_state: false,
        sample_every_n_epochs: 1,
      }),
      { viaNode: true },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.outcome.ok).toBe(true);
    const check = await validateSafetensorsFile({ path: run.launch.plan.outputFile });
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(check.header.tensors.every((t) => t.name.startsWith('lora_unet_') && t.dtype === 'BF16')).toBe(true);
    expect(check.header.tensors.find((t) => t.name.endsWith('attn2_to_k.lora_down.weight'))?.shape).toEqual([8, 2048]);
    expect(check.header.metadata).toMatchObject({ ss_base_model_version: 'sdxl_base_v1-0', ss_network_dim: '8', ss_network_alpha: '8.0' });
    const caches = (await readdir(path.join(run.launch.layout.imagesDir, '0', 'character'))).filter((f) => f.endsWith('.npz'));
    expect(caches).toContain('img2_0640x0384_sdxl.npz');
  });

  it('FLUX.1 LoRA keys and extras', async () => {
    const run = await runDouble(
      baseInput({ script: 'flux_train_network.py', samplePrompts: [] }, {
        network_module: 'networks.lora_flux',
        network_train_unet_only: true,
        mixed_precision: 'bf16',
        max_train_epochs: 1,
        save_state: false,
        cache_latents: false,
        cache_latents_to_disk: false,
        sample_every_n_epochs: 1,
      }),
    );
    expect(run.outcome.ok, run.stderr).toBe(true);
    const check = await validateSafetensorsFile({ path: run.launch.plan.outputFile });
    if (!check.ok) throw new Error(check.reason.message);
    const names = check.header.tensors.map((t) => t.name);
    expect(names).toContain('lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight');
    expect(check.header.tensors.find((t) => t.name === 'lora_unet_single_blocks_0_linear1.lora_up.weight')?.shape).toEqual([21504, 4]);
    expect(check.header.metadata).toMatchObject({ ss_base_model_version: 'flux1', ss_model_type: 'flux', 'modelspec.architecture': 'flux-1-dev/lora' });
  });
});

describe('kohya engine double: failure modes', () => {
  const fast = (): KohyaRunInput => baseInput({ samplePrompts: [] }, { save_state: false, sample_every_n_epochs: 1 });

  it('oom:STEP prints the CUDA OOM traceback at that step and exits 1', async () => {
    const run = await runDouble(fast(), { env: { KOHYA_DOUBLE_FAIL: 'oom:3' } });
    expect(run.code).toBe(1);
    expect(run.outcome).toMatchObject({ ok: false, code: 'cuda-oom' });
    expect(of(run.events, 'progress').filter((p) => p.bar === 'training').at(-1)?.step).toBe(3);
    expect(run.stderr).toContain('torch.cuda.OutOfMemoryError: CUDA out of memory.');
    expect(existsSync(run.launch.plan.outputFile)).toBe(false);
  });

  it('crash:STEP prints a traceback and exits 1', async () => {
    const run = await runDouble(fast(), { env: { KOHYA_DOUBLE_FAIL: 'crash:7' } });
    expect(run.code).toBe(1);
    expect(run.outcome).toMatchObject({ ok: false, code: 'crash' });
    expect(run.outcome.message).toContain('ZeroDivisionError');
    // Epoch 1 ended at step 6 and was saved before the crash.
    expect(existsSync(path.join(run.launch.layout.outputDir, 'dbl-000001.safetensors'))).toBe(true);
  });

  it('nodata prints "No data found" and exits 0, which is not a success', async () => {
    const run = await runDouble(fast(), { env: { KOHYA_DOUBLE_FAIL: 'nodata' } });
    expect(run.code).toBe(0);
    expect(run.outcome).toMatchObject({ ok: false, code: 'no-data' });
  });

  it('hang:training goes silent after the first step until killed', async () => {
    const started = Date.now();
    // A tqdm frame is ended by the next frame's `\r`: the step-0 frame is complete once step 1 is written.
    const run = await runDouble(fast(), {
      env: { KOHYA_DOUBLE_FAIL: 'hang:training' },
      killWhen: (events) => events.some((e) => e.kind === 'progress' && e.bar === 'training' && e.step === 0),
    });
    expect(run.signal).toBe('SIGTERM');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(of(run.events, 'progress').filter((p) => p.bar === 'training').at(-1)?.step).toBe(1);
    expect(run.outcome).toMatchObject({ ok: false, code: 'signal' });
  });

  it('hang:caching stops after "caching latents."', async () => {
    const run = await runDouble(fast(), { env: { KOHYA_DOUBLE_FAIL: 'hang:caching' }, killWhen: (events) => events.some((e) => e.kind === 'phase' && e.phase === 'caching') });
    expect(run.signal).toBe('SIGTERM');
    expect(of(run.events, 'phase').map((e) => e.phase)).toEqual(['caching']);
  });
});

describe('kohya engine double: it accepts exactly the engine command line', () => {
  const fast = (): KohyaRunInput => baseInput({ samplePrompts: [] }, { save_state: false, sample_every_n_epochs: 1, max_train_epochs: 1 });

  it('refuses a config key the script does not have, as argparse would an unknown flag', async () => {
    const run = await runDouble(fast(), { mutate: async (l) => writeFile(l.layout.configFile, `${await readFile(l.layout.configFile, 'utf8')}not_an_option = 1\n`) });
    expect(run.code).toBe(2);
    expect(run.outcome.code).toBe('bad-arguments');
    expect(run.stderr).toContain('unrecognized arguments: --not_an_option');
  });

  it('refuses a mistyped value (an int where kohya-args.json says float)', async () => {
    const run = await runDouble(fast(), { mutate: async (l) => writeFile(l.layout.configFile, (await readFile(l.layout.configFile, 'utf8')).replace(/^learning_rate = .*$/m, 'learning_rate = 1')) });
    expect(run.code).toBe(1);
    expect(run.outcome.code).toBe('config-type-invalid');
  });

  it('refuses a dataset TOML sd-scripts would reject', async () => {
    const run = await runDouble(fast(), { mutate: async (l) => writeFile(l.layout.datasetFile, (await readFile(l.layout.datasetFile, 'utf8')).replace('[[datasets.subsets]]', '[[datasets.subsets]]\nbogus_key = true')) });
    expect(run.code).toBe(1);
    expect(run.outcome.code).toBe('dataset-config-invalid');
    expect(run.stderr).toContain("extra keys not allowed @ data['datasets'][0]['subsets'][0]['bogus_key']");
  });

  it('refuses extra arguments and unknown scripts', async () => {
    const extra = await runDouble(fast(), { argv: (l) => [...l.argv, '--highvram'] });
    expect(extra.code).toBe(2);
    expect(extra.outcome.code).toBe('bad-arguments');
    const script = await runDouble(fast(), { argv: (l) => l.argv.map((a) => (a.endsWith('/train_network.py') ? a.replace('train_network.py', 'gen_img.py') : a)) });
    expect(script.code).toBe(2);
    expect(script.outcome.code).toBe('script-missing');
  });

  it('a missing image folder logs "not directory" and ends as No data found', async () => {
    const run = await runDouble(fast(), { mutate: async (l) => rm(path.join(l.layout.imagesDir, '0', 'character'), { recursive: true }) });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('not directory: ');
    expect(run.outcome.code).toBe('no-data');
  });
});

describe('tfrecord', () => {
  it('uses CRC-32C (Castagnoli)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});
