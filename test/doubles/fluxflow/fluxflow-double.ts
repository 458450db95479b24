#!/usr/bin/env node
/**
 * FLUXFLOW ENGINE DOUBLE — a stand-in for fluxflow-training's `fluxflow-train` in pipeline mode, for CI without
 * a GPU or a Python ML stack (DESIGN.md §4, fluxflow.md). It is NOT FluxFlow and trains nothing; it says so on
 * stderr, and its `.pt` / `.ptz` files hold a "FLUXFLOW-DOUBLE" marker, not pickles.
 *
 * Started as the adapter starts FluxFlow — `<venv>/bin/python -E -s -u <venv>/bin/fluxflow-train --config
 * <run>/pipeline.yaml`, with the stand-ins launcher.ts writes — or as `node fluxflow-double.ts <fluxflow-train
 * arguments>`.
 *
 * What it does as FluxFlow does: argparse over the 58 options of §1.1 (cli.ts; exit 2 on an unknown option);
 * YAML loaded with PyYAML's rules (src/…/pyyaml.ts), CLI > YAML > defaults; `PipelineConfigValidator`
 * (pipeline-rules.ts; `--validate-pipeline` prints the plan or the errors, exit 0 or 1); the tokenizer from
 * `./_cache` under the cwd and `pretrained_bert_model` from its folder, an offline `OSError` when missing; a
 * top-level `data:` section required (`ValueError: captions_file is required…`); the captions file read with
 * FluxFlow's rules (a blank line or a second tab is a ValueError); `model_checkpoint` loaded when it exists
 * (shape mismatch → RuntimeError) and silently ignored when it does not; `text_encoder.safetensors` read from
 * `output_path`; automatic resume from a `training_state.json` with `mode: pipeline` in `output_path`; the
 * dimension scan (tqdm frames on stderr, `<md5(data_path)>.dimensions.json`); the console grammar of §1.3
 * (plan, step banners, per-epoch headers, progress lines every `log_interval` batches, `Epoch N completed in`,
 * `Transition criteria met:`, the completion banners); metrics JSONL per step, `session_<step>.json` and the
 * stray `session.json` (§1.4); saves every `checkpoint_save_interval` batches and at each epoch and step end,
 * overwriting `flxflow_final.safetensors` (`diffuser.*`), `text_encoder.safetensors`, `D_img.safetensors`,
 * `training_state.json` and `lr_sav.json` (§1.5, §1.6); WebP samples written with sharp; optimisers and
 * schedulers FluxFlow validates but cannot build fail when their step starts, `use_lpips` fails fetching VGG
 * weights, a WebDataset source fails on the network; no SIGTERM handler.
 *
 * Where FluxFlow silently ignores something (unknown YAML keys, keys pipeline mode never reads, a trained
 * component without an optimiser, a missing `model_checkpoint`, unusable freeze names), the double records a
 * warning. Where FluxFlow would fail later with a TypeError (a mistyped value, since it checks no types), the
 * double fails at start-up with a TypeError naming the key.
 *
 * Environment (the test adds these to the adapter's environment):
 *   FLUXFLOW_DOUBLE_FAIL=oom:N     CUDA OOM traceback at global step N, exit 1
 *   FLUXFLOW_DOUBLE_FAIL=crash:N   a RuntimeError traceback at global step N, exit 1 (pipeline mode catches nothing)
 *   FLUXFLOW_DOUBLE_FAIL=nan:N     losses from global step N on are NaN (null in the JSONL), the run goes on
 *   FLUXFLOW_DOUBLE_FAIL=hang:P    P = startup | scanning | training: stop printing there and sleep until killed
 *   FLUXFLOW_DOUBLE_FAIL=exit0     print the plan, then exit 0 without training or writing anything
 *   FLUXFLOW_DOUBLE_SPEED=N        batches per second (default 50)
 *   FLUXFLOW_DOUBLE_REPORT=FILE    write what the double saw and ignored there as JSON (argv, env, warnings, …)
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { validateSafetensorsFile } from '../../../src/formats/safetensors/index.ts';
import { parseCaptionsFile } from '../../../src/training/engines/fluxflow/captions-file.ts';
import { loadPyYaml, PyYamlError, type PyMapping, type PyValue } from '../../../src/training/engines/fluxflow/pyyaml.ts';
import { checkPipelineYaml } from '../../../src/training/engines/fluxflow/yaml-schema.ts';
import { ArgparseExit, FLUXFLOW_OPTIONS, parseCli, usage, type CliValue } from './cli.ts';
import { mapping, mergedSteps, num, runtimeProblem, silentlyIgnored, validatePipeline } from './pipeline-rules.ts';
import { diffuserTensors, discriminatorTensors, textEncoderTensors, writeWeights, type ModelDims } from './weights.ts';

export const FLUXFLOW_DOUBLE_PATH: string = fileURLToPath(import.meta.url);
export const FLUXFLOW_DOUBLE_NAME = 'fluxflow-double';
/** The second line of the `fluxflow-train` stand-in: how the python stand-in knows the script it was given. */
export const TRAINER_MARKER = '// FLUXFLOW ENGINE DOUBLE: stand-in for fluxflow-train';
const MARKER_BYTES = 'FLUXFLOW-DOUBLE: stands in for a pickle FluxFlow writes; this is not a pickle\n';

class Stop extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.exitCode = exitCode;
  }
}

// ---- report ----------------------------------------------------------------------------------------------

export interface FluxflowDoubleReport {
  double: typeof FLUXFLOW_DOUBLE_NAME;
  argv: string[];
  /** The python flags the stand-in interpreter was started with; null when run directly. */
  interpreterFlags: string[] | null;
  cwd: string;
  env: Record<string, string>;
  config: string | null;
  /** What FluxFlow would have ignored without a word. */
  warnings: string[];
  unknownKeys: string[];
  unreadKeys: string[];
  tokenizer: string | null;
  bert: string | null;
  modelCheckpoint: { path: string; loaded: boolean } | null;
  textEncoderLoaded: boolean;
  resumedAt: { stepIndex: number; epoch: number; batch: number; globalStep: number } | null;
  /** Dataset name (`default` for the top-level `data:`) → images in its captions file. */
  images: Record<string, number>;
  batchesPerEpoch: Record<string, number>;
  saves: number;
  samples: string[];
  globalStep: number;
  finished: boolean;
}

/** sharp is loaded on first use: loading it sets VIPSHOME in this process, which must not look like the adapter's environment. */
async function imaging(): Promise<typeof import('sharp').default> {
  return (await import('sharp')).default;
}

const report: FluxflowDoubleReport = {
  double: FLUXFLOW_DOUBLE_NAME,
  argv: [],
  interpreterFlags: null,
  cwd: process.cwd(),
  env: Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
  config: null,
  warnings: [],
  unknownKeys: [],
  unreadKeys: [],
  tokenizer: null,
  bert: null,
  modelCheckpoint: null,
  textEncoderLoaded: false,
  resumedAt: null,
  images: {},
  batchesPerEpoch: {},
  saves: 0,
  samples: [],
  globalStep: 0,
  finished: false,
};

function saveReport(): void {
  const file = process.env.FLUXFLOW_DOUBLE_REPORT;
  if (file !== undefined && file !== '') writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** Something FluxFlow accepts silently: recorded for the tests, never printed where the parser would see it. */
function ignored(message: string): void {
  report.warnings.push(message);
  if ((process.env.FLUXFLOW_DOUBLE_REPORT ?? '') === '') process.stderr.write(`${FLUXFLOW_DOUBLE_NAME}: (silently ignored by FluxFlow) ${message}\n`);
  saveReport();
}

// ---- output helpers ----------------------------------------------------------------------------------------

const print = (line: string): void => void process.stdout.write(`${line}\n`);
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const RULE = '='.repeat(60);
const started = performance.now();
/** stdout and stderr are separate pipes: a gap keeps "last stdout line, then the traceback" in that order for a reader. */
const CROSS_STREAM_GAP_MS = 100;

/** `format_duration`: `HHHH:MM:SS.mmm`. */
function duration(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${String(Math.floor(ms / 3_600_000)).padStart(4, '0')}:${two(Math.floor(ms / 60_000) % 60)}:${two(Math.floor(ms / 1000) % 60)}.${String(ms % 1000).padStart(3, '0')}`;
}

function elapsed(): string {
  return duration((performance.now() - started) / 1000);
}

async function traceback(frames: ReadonlyArray<readonly [string, number, string, string]>, last: string, status = 1): Promise<never> {
  await pause(CROSS_STREAM_GAP_MS);
  const lines = ['Traceback (most recent call last):'];
  for (const [file, line, fn, code] of frames) lines.push(`  File "${file}", line ${line}, in ${fn}`, `    ${code}`);
  lines.push(last);
  process.stderr.write(`${lines.join('\n')}\n`);
  saveReport();
  throw new Stop(status);
}

const TRAIN_PY = '/venv/lib/python3.11/site-packages/fluxflow_training/scripts/train.py';
const ORCHESTRATOR_PY = '/venv/lib/python3.11/site-packages/fluxflow_training/training/pipeline_orchestrator.py';
const fail = (last: string): Promise<never> => traceback([[TRAIN_PY, 2011, 'main', 'train(args)'], [TRAIN_PY, 496, 'train', 'orchestrator.run()']], last);

/** Python `repr(float)`. */
function pyRepr(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return `${value}.0`;
  if (value !== 0 && (Math.abs(value) < 1e-4 || Math.abs(value) >= 1e16)) return value.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(value);
}

/** `json.dumps` with default separators; NaN/Inf as null (FluxFlow's logger sanitises them). */
function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? (Number.isInteger(value) ? String(value) : pyRepr(value)) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([key, item]) => `${JSON.stringify(key)}: ${pyJson(item)}`)
    .join(', ')}}`;
}

/** `datetime.now().isoformat()`: local time, microseconds, no zone. */
function localIso(date = new Date()): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}T${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds() * 1000).padStart(6, '0')}`;
}

function sessionId(date = new Date()): string {
  return localIso(date).slice(0, 19).replace(/[-:]/g, '').replace('T', '_');
}

// ---- failure modes ---------------------------------------------------------------------------------------

type HangPhase = 'startup' | 'scanning' | 'training';
interface FailMode {
  oomAt?: number;
  crashAt?: number;
  nanFrom?: number;
  hang?: HangPhase;
  exit0?: boolean;
}

function failMode(env: NodeJS.ProcessEnv): FailMode {
  const raw = env.FLUXFLOW_DOUBLE_FAIL?.trim() ?? '';
  if (raw === '') return {};
  let m: RegExpExecArray | null;
  if ((m = /^(oom|crash|nan):(\d+)$/.exec(raw)) !== null) {
    const at = Number(m[2]);
    return m[1] === 'oom' ? { oomAt: at } : m[1] === 'crash' ? { crashAt: at } : { nanFrom: at };
  }
  if ((m = /^hang:(startup|scanning|training)$/.exec(raw)) !== null) return { hang: m[1] as HangPhase };
  if (raw === 'exit0') return { exit0: true };
  process.stderr.write(`${FLUXFLOW_DOUBLE_NAME}: FLUXFLOW_DOUBLE_FAIL=${raw} is not one of oom:N, crash:N, nan:N, hang:startup|scanning|training, exit0\n`);
  throw new Stop(2);
}

/** Stop printing (the shim's watchdog sees silence) until killed; with no SIGTERM handler, a signal ends it as it ends FluxFlow. */
function hang(): Promise<never> {
  saveReport();
  setInterval(() => undefined, 1 << 30);
  return new Promise<never>(() => undefined);
}

// ---- settings: CLI > YAML > defaults -------------------------------------------------------------------------

const DEFAULTS: Record<string, PyValue> = {
  vae_dim: 128n,
  text_embedding_dim: 1024n,
  feature_maps_dim: 128n,
  feature_maps_dim_disc: 8n,
  use_gradient_checkpointing: true,
  pretrained_bert_model: null,
  model_checkpoint: null,
  batch_size: 2n,
  workers: 1n,
  lr: 5e-7,
  use_fp16: false,
  initial_clipping_norm: 1,
  output_path: 'outputs',
  log_interval: 10n,
  checkpoint_save_interval: 50n,
  samples_per_checkpoint: 1n,
  no_samples: false,
  test_image_address: [],
  sample_captions: ['A sample caption'],
  sample_sizes: [512n],
  tokenizer_name: 'distilbert-base-uncased',
  img_size: 1024n,
  channels: 3n,
  use_webdataset: false,
  data_path: null,
  captions_file: null,
  fixed_prompt_prefix: null,
};

type Settings = Map<string, PyValue>;

function fromCli(value: CliValue): PyValue {
  return Array.isArray(value) ? value.map((item) => (Array.isArray(item) ? [...item] : item)) : value;
}

/** parse_args' merge: YAML sections flattened into argparse dests, then the options given on the CLI in full. */
function settingsOf(doc: PyMapping, cli: ReturnType<typeof parseCli>): Settings {
  const settings: Settings = new Map(Object.entries(DEFAULTS));
  if ('model_checkpoint' in doc) settings.set('model_checkpoint', doc.model_checkpoint ?? null);
  for (const section of ['model', 'data', 'training', 'output', 'optimization']) {
    for (const [key, value] of Object.entries(mapping(doc[section]))) if (key !== 'pipeline' && FLUXFLOW_OPTIONS.some((option) => option.dest === key)) settings.set(key, value);
  }
  for (const dest of cli.overrides) {
    const value = cli.values.get(dest);
    // `--sample_sizes` is ignored in pipeline mode (§1.2); the YAML's list wins.
    if (value !== undefined && dest !== 'sample_sizes') settings.set(dest, fromCli(value));
  }
  return settings;
}

const int = (settings: Settings, key: string): number => num(settings.get(key)) ?? 0;
const text = (settings: Settings, key: string): string | null => {
  const value = settings.get(key);
  return typeof value === 'string' ? value : null;
};

// ---- start-up checks -------------------------------------------------------------------------------------------

function hubCacheFolder(name: string): string {
  return `models--${name.replace(/\//g, '--')}`;
}

/** `AutoTokenizer.from_pretrained(name, cache_dir="./_cache")` offline: the snapshot must be in the cache under the cwd. */
async function loadTokenizer(settings: Settings): Promise<void> {
  const name = text(settings, 'tokenizer_name') ?? 'distilbert-base-uncased';
  const model = path.resolve(process.cwd(), '_cache', hubCacheFolder(name));
  const revision = existsSync(path.join(model, 'refs', 'main')) ? readFileSync(path.join(model, 'refs', 'main'), 'utf8').trim() : '';
  const snapshot = path.join(model, 'snapshots', revision);
  if (revision === '' || !existsSync(path.join(snapshot, 'tokenizer_config.json'))) {
    await traceback(
      [[TRAIN_PY, 350, 'train', `tokenizer = AutoTokenizer.from_pretrained(args.tokenizer_name, cache_dir="./_cache", local_files_only=False)`]],
      `OSError: We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find them in the cached files. Check your internet connection or see how to run the library in offline mode at 'https://huggingface.co/docs/transformers/installation#offline-mode'.`,
    );
  }
  if (process.env.HF_HUB_OFFLINE !== '1') ignored('HF_HUB_OFFLINE is not 1: the real trainer would try the network before its cache');
  report.tokenizer = snapshot;
}

/** `pretrained_bert_model`: a folder with config.json, or a Hub id found in HF_HOME's cache; else the offline error. */
async function loadBert(settings: Settings): Promise<void> {
  const name = text(settings, 'pretrained_bert_model');
  if (name === null) return;
  const asFolder = path.resolve(process.cwd(), name);
  const hub = path.join(process.env.HF_HOME ?? path.join(process.env.HOME ?? '/nonexistent', '.cache', 'huggingface'), 'hub', hubCacheFolder(name));
  const frames = [[TRAIN_PY, 264, 'create_models', 'text_encoder = BertTextEncoder(embed_dim=args.text_embedding_dim, pretrain_model=args.pretrained_bert_model)']] as const;
  if (!existsSync(path.join(asFolder, 'config.json')) && !existsSync(hub)) {
    await traceback(frames, `OSError: We couldn't connect to 'https://huggingface.co' to load this file, couldn't find it in the cached files and it looks like ${name} is not the path to a directory containing a file named config.json.`);
  }
  // from_pretrained needs the weights too, not only the config and the tokenizer files.
  if (existsSync(path.join(asFolder, 'config.json')) && !existsSync(path.join(asFolder, 'model.safetensors'))) {
    await traceback(frames, `OSError: Error no file named model.safetensors found in directory ${asFolder}.`);
  }
  report.bert = existsSync(path.join(asFolder, 'config.json')) ? asFolder : hub;
}

function dimsOf(settings: Settings): ModelDims {
  return { vaeDim: int(settings, 'vae_dim'), featureMapsDim: int(settings, 'feature_maps_dim'), featureMapsDimDisc: int(settings, 'feature_maps_dim_disc'), textEmbeddingDim: int(settings, 'text_embedding_dim') };
}

/** `model_checkpoint`: loaded (shapes checked like load_state_dict) when the file exists; a missing path is silently ignored (§1.5). */
async function loadCheckpoint(settings: Settings, dims: ModelDims): Promise<void> {
  const file = text(settings, 'model_checkpoint');
  if (file === null) return;
  if (!existsSync(file)) {
    ignored(`model_checkpoint ${file} does not exist: the weights stay random`);
    report.modelCheckpoint = { path: file, loaded: false };
    return;
  }
  const checked = await validateSafetensorsFile({ path: file });
  if (!checked.ok) await traceback([[TRAIN_PY, 280, 'load_models', 'state = safetensors.torch.load_file(args.model_checkpoint)']], `safetensors_rust.SafetensorError: Error while deserializing header: ${checked.reason.message}`);
  if (!checked.ok) return;
  const expected = new Map(diffuserTensors(dims, 0).map((tensor) => [tensor.name, tensor.shape]));
  for (const tensor of checked.header.tensors) {
    if (!tensor.name.startsWith('diffuser.')) continue;
    const want = expected.get(tensor.name);
    if (want !== undefined && want.join(',') !== tensor.shape.join(',')) {
      await traceback(
        [[TRAIN_PY, 301, 'load_models', 'diffuser.load_state_dict(diffuser_state, strict=False)']],
        `RuntimeError: Error(s) in loading state_dict for FluxPipeline:\n\tsize mismatch for ${tensor.name.slice('diffuser.'.length)}: copying a param with shape torch.Size([${tensor.shape.join(', ')}]) from checkpoint, the shape in current model is torch.Size([${want.join(', ')}]).`,
      );
    }
  }
  report.modelCheckpoint = { path: file, loaded: true };
}

async function loadTextEncoder(outputPath: string): Promise<void> {
  const file = path.join(outputPath, 'text_encoder.safetensors');
  if (!existsSync(file)) return;
  const checked = await validateSafetensorsFile({ path: file });
  if (!checked.ok || !checked.header.tensors.every((tensor) => tensor.name.startsWith('text_encoder.'))) {
    await traceback([[TRAIN_PY, 318, 'load_models', 'text_encoder.load_state_dict(load_file(te_path))']], `RuntimeError: Error(s) in loading state_dict for BertTextEncoder: ${file} is not a text encoder`);
  }
  report.textEncoderLoaded = true;
}

interface ResumePoint {
  stepIndex: number;
  epoch: number;
  batch: number;
  globalStep: number;
}

function resumePoint(outputPath: string): ResumePoint | null {
  const file = path.join(outputPath, 'training_state.json');
  if (!existsSync(file)) return null;
  const state = JSON.parse(readFileSync(file, 'utf8')) as { mode?: string; global_step?: number; pipeline?: { current_step_index?: number; current_step_epoch?: number; current_batch_idx?: number } };
  if (state.mode !== 'pipeline') return null;
  return { stepIndex: state.pipeline?.current_step_index ?? 0, epoch: state.pipeline?.current_step_epoch ?? 0, batch: state.pipeline?.current_batch_idx ?? 0, globalStep: state.global_step ?? 0 };
}

// ---- datasets --------------------------------------------------------------------------------------------

interface Loader {
  name: string;
  dataPath: string;
  images: Array<{ file: string; caption: string }>;
  batchSize: number;
}

class Tqdm {
  private readonly desc: string;
  private readonly total: number;
  private readonly begun = performance.now();
  constructor(desc: string, total: number) {
    this.desc = desc;
    this.total = total;
  }
  frame(n: number): void {
    const seconds = (performance.now() - this.begun) / 1000;
    const pct = String(Math.floor((n / Math.max(1, this.total)) * 100)).padStart(3, ' ');
    const filled = Math.floor((n / Math.max(1, this.total)) * 10);
    const rate = n > 0 && seconds > 0 ? `${(n / seconds).toFixed(2)}it/s` : '?it/s';
    process.stderr.write(`\r${this.desc}: ${pct}%|${'█'.repeat(filled)}${' '.repeat(10 - filled)}| ${n}/${this.total} [00:00<00:00, ${rate}]`);
  }
  close(): void {
    process.stderr.write('\n');
  }
}

/** Build a loader like FluxFlow's: read the captions file, check the images, scan (or reuse) their dimensions. */
async function buildLoader(name: string, dataPath: string | null, captionsFile: string | null, batchSize: number, outputPath: string, failure: FailMode): Promise<Loader> {
  if (captionsFile === null || dataPath === null) {
    await traceback([[TRAIN_PY, 496, 'train', 'loader = create_dataloader(args)']], 'ValueError: captions_file is required when not using webdataset (set data.data_path and data.captions_file)');
  }
  const captionsText = await readFile(captionsFile ?? '', 'utf8').catch(() => null);
  if (captionsText === null) await traceback([[TRAIN_PY, 496, 'train', 'loader = create_dataloader(args)']], `FileNotFoundError: [Errno 2] No such file or directory: '${captionsFile}'`);
  const parsed = parseCaptionsFile(captionsText ?? '');
  if (!parsed.ok) await traceback([['/venv/lib/python3.11/site-packages/fluxflow_training/data/datasets.py', 78, '__init__', 'image_name, caption = line.strip().split("\\t")']], `ValueError: ${parsed.error}`);
  const entries = parsed.ok ? parsed.entries : [];
  const images = entries.map((entry) => ({ file: path.join(dataPath ?? '', entry.image), caption: entry.caption }));
  for (const image of images) {
    if (!existsSync(image.file)) await traceback([['/venv/lib/python3.11/site-packages/fluxflow_training/data/datasets.py', 536, 'scan', 'with Image.open(path) as img:']], `FileNotFoundError: [Errno 2] No such file or directory: '${image.file}'`);
  }
  await mkdir(outputPath, { recursive: true });
  const cacheFile = path.join(outputPath, `${createHash('md5').update(dataPath ?? '').digest('hex')}.dimensions.json`);
  const cached = existsSync(cacheFile) ? (JSON.parse(readFileSync(cacheFile, 'utf8')) as { count?: number }) : null;
  // FluxFlow reuses a dimension cache whenever the image count matches (§1.1).
  if (cached?.count !== images.length) {
    const bar = new Tqdm('Scanning image dimensions', images.length);
    bar.frame(0);
    if (failure.hang === 'scanning') await hang();
    const sizes: Array<[string, number, number]> = [];
    for (const [index, image] of images.entries()) {
      const meta = await (await imaging())(image.file).metadata();
      sizes.push([path.relative(dataPath ?? '', image.file), meta.width ?? 0, meta.height ?? 0]);
      bar.frame(index + 1);
    }
    bar.close();
    await writeFile(cacheFile, JSON.stringify({ count: images.length, sizes }));
  }
  report.images[name] = images.length;
  return { name, dataPath: dataPath ?? '', images, batchSize };
}

// ---- training ------------------------------------------------------------------------------------------------

interface Run {
  settings: Settings;
  dims: ModelDims;
  outputPath: string;
  steps: PyMapping[];
  loaders: Map<string, Loader>;
  fail: FailMode;
  speed: number;
  globalStep: number;
  saves: number;
  /** The last 20 values of each recorded transition metric. */
  history: Map<string, number[]>;
}

function modes(step: PyMapping): { vae: boolean; gan: boolean; flow: boolean } {
  return { vae: step.train_vae === true || step.gan_training === true || step.train_spade === true, gan: step.gan_training === true, flow: step.train_diff === true || step.train_diff_full === true };
}

/** Synthetic losses that fall as training goes on; 0 for a trainer FluxFlow skipped (no optimiser for it). */
function losses(run: Run, step: PyMapping): Record<string, number> {
  const g = run.globalStep;
  const nan = run.fail.nanFrom !== undefined && g >= run.fail.nanFrom;
  const value = (base: number, rate: number): number => (nan ? NaN : base / (1 + rate * g) + 0.001 * ((g * 7919) % 13));
  const { vae, gan, flow } = modes(step);
  const optimizers = mapping(mapping(step.optimization).optimizers);
  const listed = Object.keys(optimizers).length > 0;
  const out: Record<string, number> = {};
  if (vae) {
    const skipped = listed && !('vae' in optimizers);
    out.vae_loss = skipped ? 0 : value(0.5, 0.02);
    out.kl_loss = skipped ? 0 : value(1.2, 0.01);
    if (gan) {
      out.g_loss = value(0.7, 0.005);
      out.d_loss = value(0.5, 0.004);
    }
    out.color_stats = value(0.01, 0.01);
    out.hist_loss = value(0.02, 0.01);
    out.contrast_loss = value(0.03, 0.01);
  }
  if (flow) out.flow_loss = listed && !('flow' in optimizers) ? 0 : value(0.3, 0.01);
  return out;
}

const LABELS: ReadonlyArray<readonly [string, string]> = [
  ['vae_loss', 'VAE'],
  ['kl_loss', 'KL'],
  ['g_loss', 'G'],
  ['d_loss', 'D'],
  ['lpips_loss', 'LPIPS'],
  ['color_stats', 'ColorStats'],
  ['hist_loss', 'Hist'],
  ['contrast_loss', 'Contrast'],
  ['flow_loss', 'Flow'],
];

function progressLine(stepName: string, k: number, total: number, epoch: number, epochs: number, batch: number, batches: number, values: Record<string, number>, secPerBatch: number): string {
  const parts = [`[${elapsed()}] Step ${stepName} (${k}/${total})`, `Epoch ${epoch}/${epochs}`, `Batch ${batch}/${batches}`];
  for (const [key, label] of LABELS) {
    const value = values[key];
    if (value !== undefined) parts.push(`${label}: ${Number.isNaN(value) ? 'nan' : value.toFixed(4)}`);
  }
  parts.push(`${secPerBatch.toFixed(2)}s/batch`);
  return parts.join(' | ');
}

async function saveAll(run: Run, position: { stepIndex: number; stepName: string; epoch: number; batch: number; completed: string[] }, sample: { epoch: number; vae: boolean } | undefined): Promise<void> {
  const out = run.outputPath;
  await writeWeights(path.join(out, 'flxflow_final.safetensors'), diffuserTensors(run.dims, run.globalStep));
  await writeWeights(path.join(out, 'text_encoder.safetensors'), textEncoderTensors(run.dims, run.globalStep));
  await writeWeights(path.join(out, 'D_img.safetensors'), discriminatorTensors(run.dims, run.globalStep));
  const state = {
    version: '2.0',
    mode: 'pipeline',
    timestamp: localIso(),
    epoch: position.epoch,
    batch_idx: position.batch,
    global_step: run.globalStep,
    kl_warmup: { current_beta: 0.0001, warmup_steps: 5000, max_beta: 0.0001, progress_pct: 100.0 },
    learning_rates: {},
    pipeline: {
      current_step_index: position.stepIndex,
      current_step_name: position.stepName,
      current_step_epoch: position.epoch,
      current_batch_idx: position.batch,
      total_steps: run.steps.length,
      steps_completed: position.completed,
    },
  };
  await writeFile(path.join(out, 'training_state.json'), `${JSON.stringify(state, null, 2)}\n`);
  await writeFile(path.join(out, 'lr_sav.json'), `${pyJson({ lr: num(run.settings.get('lr')) ?? 5e-7 })}\n`);
  for (const name of ['training_states.pt', 'training_states.pt.bck']) await writeFile(path.join(out, name), MARKER_BYTES);
  run.saves += 1;
  report.saves = run.saves;
  report.globalStep = run.globalStep;
  const wantSamples = run.settings.get('no_samples') !== true && num(run.settings.get('samples_per_checkpoint')) !== 0;
  if (sample !== undefined && wantSamples) await samples(run, sample);
  saveReport();
}

async function samples(run: Run, at: { epoch: number; vae: boolean }): Promise<void> {
  const epoch = String(at.epoch).padStart(4, '0');
  const captions = (run.settings.get('sample_captions') as PyValue[] | undefined) ?? [];
  const sizes = (run.settings.get('sample_sizes') as PyValue[] | undefined) ?? [512n];
  for (const [index] of captions.entries()) {
    for (const size of sizes) {
      const [width, height] = Array.isArray(size) ? [num(size[0]) ?? 512, num(size[1]) ?? 512] : [num(size) ?? 512, num(size) ?? 512];
      const name = `samples_epoch_${epoch}_caption_${index}-${width === height ? width : `${width}x${height}`}.webp`;
      const shade = (run.globalStep * 37 + index * 91) % 256;
      await (await imaging())({ create: { width, height, channels: 3, background: { r: shade, g: 128, b: 255 - shade } } })
        .webp()
        .toFile(path.join(run.outputPath, name));
      if (!report.samples.includes(name)) report.samples.push(name);
    }
  }
  if (!at.vae) return;
  for (const image of (run.settings.get('test_image_address') as PyValue[] | undefined) ?? []) {
    if (typeof image !== 'string') continue;
    if (!existsSync(image)) await fail(`FileNotFoundError: [Errno 2] No such file or directory: '${image}'`);
    const digest = createHash('md5').update(image).digest('hex');
    const name = `vae_epoch_${epoch}-${digest}-ctx.webp`;
    await (await imaging())(image).resize(64, 64, { fit: 'fill' }).webp().toFile(path.join(run.outputPath, name));
    await writeFile(path.join(run.outputPath, `${digest}.ptz`), gzipSync(MARKER_BYTES));
    if (!report.samples.includes(name)) report.samples.push(name);
  }
}

function loaderFor(run: Run, step: PyMapping): Loader {
  const named = typeof step.dataset === 'string' ? run.loaders.get(step.dataset) : undefined;
  const loader = named ?? run.loaders.get('default');
  if (loader === undefined) throw new Error('no loader');
  return loader;
}

async function train(run: Run, resume: ResumePoint | null): Promise<void> {
  const total = run.steps.length;
  const logInterval = Math.max(1, int(run.settings, 'log_interval'));
  const saveInterval = Math.max(1, int(run.settings, 'checkpoint_save_interval'));
  const completed: string[] = [];
  for (let k = resume?.stepIndex ?? 0; k < total; k += 1) {
    const step = run.steps[k] ?? {};
    const name = String(step.name ?? '');
    print(RULE);
    print(`PIPELINE STEP ${k + 1}/${total}: ${name}`);
    print(RULE);
    const loader = loaderFor(run, step);
    print(`Dataset: ${loader.name} (local)`);
    const problem = runtimeProblem(step);
    if (problem !== undefined) await traceback([[ORCHESTRATOR_PY, 833, '_create_step_trainers', 'optimizers = create_optimizers(step.optimization, models)']], problem);
    for (const note of silentlyIgnored(step)) ignored(note);
    const { vae } = modes(step);
    const graph = path.join(run.outputPath, 'graph');
    await mkdir(graph, { recursive: true });
    const session = { session_id: sessionId(), created_at: localIso(), resumed_count: 0, last_update: localIso() };
    for (const file of [`session_${name}.json`, 'session.json']) await writeFile(path.join(graph, file), `${JSON.stringify(session, null, 2)}\n`);
    const metricsFile = path.join(graph, `training_metrics_${name}.jsonl`);

    const epochs = num(step.n_epochs) ?? 1;
    const maxSteps = num(step.max_steps);
    const perEpoch = Math.min(Math.ceil(loader.images.length / loader.batchSize), maxSteps ?? Number.POSITIVE_INFINITY);
    report.batchesPerEpoch[name] = perEpoch;
    const transition = mapping(step.transition_on);
    const startEpoch = resume !== null && k === resume.stepIndex ? resume.epoch : 0;
    for (let e = startEpoch; e < epochs; e += 1) {
      const epochStarted = performance.now();
      print(`Step ${name} (${k + 1}/${total}), Epoch ${e + 1}/${epochs}, ${perEpoch} batches`);
      const firstBatch = resume !== null && k === resume.stepIndex && e === resume.epoch ? resume.batch : 0;
      for (let i = firstBatch; i < perEpoch; i += 1) {
        const batchStarted = performance.now();
        await pause(1000 / run.speed);
        run.globalStep += 1;
        if (run.fail.hang === 'training') await hang();
        if (run.fail.oomAt === run.globalStep) {
          await traceback(
            [
              [ORCHESTRATOR_PY, 1352, '_train_step', 'losses = trainer.train_step(batch)'],
              ['/venv/lib/python3.11/site-packages/torch/_tensor.py', 626, 'backward', 'torch.autograd.backward('],
            ],
            'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 23.55 GiB of which 1.21 GiB is free. Of the allocated memory 20.12 GiB is allocated by PyTorch, and 1.01 GiB is reserved by PyTorch but unallocated.',
          );
        }
        if (run.fail.crashAt === run.globalStep) {
          await traceback([[ORCHESTRATOR_PY, 1352, '_train_step', 'losses = trainer.train_step(batch)']], 'RuntimeError: fluxflow-double: crash requested at this step (FLUXFLOW_DOUBLE_FAIL=crash)');
        }
        const values = losses(run, step);
        for (const metric of ['vae_loss', 'flow_loss']) {
          const value = values[metric];
          if (value !== undefined) run.history.set(metric, [...(run.history.get(metric) ?? []), value].slice(-20));
        }
        if (i % logInterval === 0) {
          print(progressLine(name, k + 1, total, e + 1, epochs, i, perEpoch, values, (performance.now() - batchStarted) / 1000));
          const record = { timestamp: localIso(), session_id: session.session_id, epoch: e, batch: i, global_step: run.globalStep, metrics: values };
          await appendFile(metricsFile, `${pyJson(record)}\n`);
        }
        if ((i + 1) % saveInterval === 0 && i + 1 < perEpoch) await saveAll(run, { stepIndex: k, stepName: name, epoch: e, batch: i + 1, completed }, { epoch: e + 1, vae });
      }
      print(`Epoch ${e + 1} completed in ${duration((performance.now() - epochStarted) / 1000)}`);
      await saveAll(run, { stepIndex: k, stepName: name, epoch: e + 1, batch: 0, completed }, { epoch: e + 1, vae });
      if (transition.mode === 'loss_threshold') {
        const metric = String(transition.metric);
        const window = run.history.get(metric) ?? [];
        const average = window.length === 0 ? Number.POSITIVE_INFINITY : window.reduce((a, b) => a + b, 0) / window.length;
        const threshold = num(transition.threshold) ?? 0;
        // max_epochs is compared 0-based, so it fires one epoch late (§1.2 "Transitions").
        if (average < threshold || e >= (num(transition.max_epochs) ?? epochs)) {
          print(`Transition criteria met: ${metric} ${average.toFixed(4)} < ${threshold} (epoch ${e + 1})`);
          break;
        }
      }
    }
    completed.push(name);
    await saveAll(run, { stepIndex: k + 1, stepName: name, epoch: 0, batch: 0, completed }, undefined);
  }
}

// ---- main --------------------------------------------------------------------------------------------------

function validatePlan(steps: PyMapping[]): void {
  print(RULE);
  print('PIPELINE EXECUTION PLAN');
  print(RULE);
  print(`Total steps: ${steps.length}`);
  for (const [index, step] of steps.entries()) {
    const on = ['train_vae', 'gan_training', 'use_lpips', 'train_spade', 'train_diff', 'train_diff_full'].filter((mode) => step[mode] === true);
    print(`  Step ${index + 1}: ${String(step.name ?? '')} (${String(num(step.n_epochs) ?? '?')} epochs) [${on.join(', ')}] dataset: ${typeof step.dataset === 'string' ? step.dataset : 'default'}`);
  }
  print(RULE);
}

export interface MainOptions {
  /** Set by the python stand-in: the interpreter flags it was given. */
  interpreterFlags?: string[];
}

export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  report.argv = [...argv];
  report.interpreterFlags = options.interpreterFlags ?? null;
  try {
    process.stderr.write(`${FLUXFLOW_DOUBLE_NAME}: ENGINE DOUBLE of fluxflow-training's fluxflow-train (pipeline mode); it trains nothing\n`);
    saveReport();
    let cli: ReturnType<typeof parseCli>;
    try {
      cli = parseCli(argv);
    } catch (error) {
      if (!(error instanceof ArgparseExit)) throw error;
      process.stderr.write(error.stderr);
      return error.status;
    }
    if (cli.help) {
      print(usage().trimEnd());
      for (const option of FLUXFLOW_OPTIONS) print(`  ${option.flag}`);
      return 0;
    }
    const failure = failMode(process.env);
    const configFile = cli.values.get('config');
    if (typeof configFile !== 'string') {
      // Legacy mode: not modelled beyond its data check; at training head it crashes after the first epoch (§5.8).
      if (!cli.values.has('data_path') || !cli.values.has('captions_file')) {
        print('Error: --data_path and --captions_file are required unless --use_webdataset is set with --webdataset_token.');
        return 1;
      }
      await fail("TypeError: CheckpointManager.save_training_state() got an unexpected keyword argument 'last_sample_step'");
      return 1;
    }
    report.config = configFile;
    const source = await readFile(configFile, 'utf8').catch(() => null);
    if (source === null) await traceback([[TRAIN_PY, 1612, 'parse_args', 'with open(args.config) as f:']], `FileNotFoundError: [Errno 2] No such file or directory: '${configFile}'`);
    let doc: PyValue = null;
    try {
      doc = loadPyYaml(source ?? '');
    } catch (error) {
      if (!(error instanceof PyYamlError)) throw error;
      await traceback([[TRAIN_PY, 1613, 'parse_args', 'config = yaml.safe_load(f)']], `yaml.constructor.ConstructorError: ${error.message}`);
    }
    const checked = checkPipelineYaml(doc);
    report.unknownKeys = checked.unknown;
    report.unreadKeys = checked.unread;
    for (const key of checked.unknown) ignored(`unknown YAML key ${key}`);
    for (const key of checked.unread) ignored(`${key} is parsed but never read in pipeline mode`);
    const typeError = checked.typeErrors[0];
    if (typeError !== undefined) {
      await fail(`TypeError: ${typeError.path} is a ${typeError.got}, where FluxFlow uses a ${typeError.expected} (${FLUXFLOW_DOUBLE_NAME} fails at start-up; FluxFlow checks no types and fails where it uses the value)`);
    }
    const root = mapping(doc);
    const settings = settingsOf(root, cli);
    const pipeline = mapping(mapping(root.training).pipeline);
    if (!('pipeline' in mapping(root.training))) {
      await fail("TypeError: CheckpointManager.save_training_state() got an unexpected keyword argument 'last_sample_step'");
    }
    const steps = mergedSteps(pipeline);
    const errors = validatePipeline(pipeline);
    if (cli.values.get('validate_pipeline') === true) {
      if (errors.length > 0) {
        print('Pipeline validation failed:');
        for (const error of errors) print(`  - ${error}`);
        return 1;
      }
      validatePlan(steps);
      print('Pipeline configuration is valid.');
      return 0;
    }
    if (errors.length > 0) await fail(`ValueError: Invalid pipeline configuration:\n  - ${errors.join('\n  - ')}`);

    if (failure.hang === 'startup') await hang();
    await loadTokenizer(settings);
    await loadBert(settings);
    const dims = dimsOf(settings);
    await loadCheckpoint(settings, dims);
    const outputPath = path.resolve(process.cwd(), text(settings, 'output_path') ?? 'outputs');
    await mkdir(outputPath, { recursive: true });
    await loadTextEncoder(outputPath);
    const resume = resumePoint(outputPath);
    report.resumedAt = resume;

    const loaders = new Map<string, Loader>();
    const datasets = mapping(pipeline.datasets);
    const batchSize = int(settings, 'batch_size') || 2;
    if (steps.some((step) => typeof step.dataset !== 'string')) {
      if (settings.get('use_webdataset') === true) await fail("requests.exceptions.ConnectionError: HTTPSConnectionPool(host='huggingface.co', port=443): Max retries exceeded (Failed to establish a new connection: [Errno -3] Temporary failure in name resolution)");
      loaders.set('default', await buildLoader('default', text(settings, 'data_path'), text(settings, 'captions_file'), batchSize, outputPath, failure));
    }
    for (const [name, raw] of Object.entries(datasets)) {
      const dataset = mapping(raw);
      if (!steps.some((step) => step.dataset === name)) continue;
      if (dataset.type === 'webdataset') await fail("requests.exceptions.ConnectionError: HTTPSConnectionPool(host='huggingface.co', port=443): Max retries exceeded (Failed to establish a new connection: [Errno -3] Temporary failure in name resolution)");
      loaders.set(name, await buildLoader(name, typeof dataset.image_folder === 'string' ? dataset.image_folder : null, typeof dataset.captions_file === 'string' ? dataset.captions_file : null, num(dataset.batch_size) ?? batchSize, outputPath, failure));
    }
    validatePlan(steps);
    if (failure.exit0) return 0;

    const run: Run = {
      settings,
      dims,
      outputPath,
      steps,
      loaders,
      fail: failure,
      speed: Number(process.env.FLUXFLOW_DOUBLE_SPEED ?? '50') || 50,
      globalStep: resume?.globalStep ?? 0,
      saves: 0,
      history: new Map(),
    };
    await train(run, resume);
    print(RULE);
    print('PIPELINE TRAINING COMPLETE');
    print(RULE);
    print('Pipeline training complete!');
    report.finished = true;
    saveReport();
    return 0;
  } catch (error) {
    if (error instanceof Stop) return error.exitCode;
    process.stderr.write(`Traceback (most recent call last):\n  File "${FLUXFLOW_DOUBLE_PATH}", line 0, in main\nRuntimeError: ${FLUXFLOW_DOUBLE_NAME} internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

/**
 * The python stand-in's entry: `-E -s -u <script> <args…>`, as the adapter starts the interpreter. Refuses
 * other interpreter flags and any script that is not the `fluxflow-train` stand-in, as python would not run it.
 */
export async function pythonMain(argv: readonly string[]): Promise<number> {
  const args = [...argv];
  const flags: string[] = [];
  while (args.length > 0 && /^-[A-Za-z]$/.test(args[0] ?? '')) flags.push(args.shift() ?? '');
  if (flags.join(' ') !== '-E -s -u') {
    process.stderr.write(`${FLUXFLOW_DOUBLE_NAME}: the python stand-in was started with ${JSON.stringify(flags)}; the adapter passes -E -s -u (fluxflow.md §5.12)\n`);
    return 2;
  }
  const script = args.shift() ?? '';
  let isTrainer = false;
  try {
    isTrainer = statSync(script).isFile() && readFileSync(script, 'utf8').split('\n')[1] === TRAINER_MARKER;
  } catch {
    isTrainer = false;
  }
  if (!isTrainer) {
    process.stderr.write(`python: can't open file '${script}': [Errno 2] No such file or directory\n`);
    return 2;
  }
  return main(args, { interpreterFlags: flags });
}

/** Run as the process: exit with the status (a hang never returns). */
export function runAsMain(entry: (argv: readonly string[]) => Promise<number>, argv: readonly string[]): void {
  entry(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${FLUXFLOW_DOUBLE_NAME}: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === FLUXFLOW_DOUBLE_PATH) runAsMain(main, process.argv.slice(2));
