#!/usr/bin/env node
/**
 * KOHYA ENGINE DOUBLE — a stand-in for kohya-ss sd-scripts' trainer scripts, for CI without a GPU or a
 * Python ML stack (DESIGN.md §4). It is NOT sd-scripts and trains nothing; every file it writes says so
 * (`ss_sd_scripts_commit_hash = "kohya-double"`, `modelspec.implementation_version = "sd-scripts/kohya-double"`,
 * cache and state files start with "KOHYA-DOUBLE").
 *
 * Command line — exactly what the adapter's launch.ts builds, minus the interpreter:
 *
 *   node test/doubles/kohya/kohya-double.ts [-E -s -u -X utf8] [-m accelerate.commands.launch --num_processes N
 *        --num_machines 1 --mixed_precision P --dynamo_backend no] <…/script.py> --config_file <abs run.toml>
 *        --dataset_config <abs dataset.toml> --console_log_simple
 *
 * The python flags are accepted (and checked) so that `launch.argv.slice(1)` can be passed unchanged:
 *   spawn(process.execPath, [KOHYA_DOUBLE_PATH, ...launch.argv.slice(1)], { env: launch.env, cwd: launch.cwd })
 * or, to spawn `launch.argv` as it is (argv[0] = the engine's python), point `engine.python` at the
 * shell-free stand-in that launcher.ts's `writePythonStandIn(dir)` writes (`<dir>/bin/python`, a Node
 * script with an absolute `#!<node>` line that imports this module), and use `venvDir = <dir>`.
 *
 * What it checks: the script's basename is one of the 8 trainer scripts of kohya-args.json; the options are
 * exactly `--config_file`, `--dataset_config` (absolute paths) and `--console_log_simple`; every key of the
 * config TOML (flattened one level, as sd-scripts does) is an option of that script in kohya-args.json and
 * has its type (int ≠ float, choices, store_true = boolean, nargs=* = array); the dataset TOML parses and
 * passes the voluptuous transcription (dataset-toml-schema.ts). These checks are stricter than sd-scripts
 * (which ignores unknown config keys) on purpose: a double that accepted them would hide adapter bugs.
 * Errors are printed in sd-scripts' own shapes (argparse `error:`, `Invalid cmdline parsed arguments`,
 * `Invalid user config` + voluptuous, tracebacks) so the real parser classifies them.
 *
 * What it does: lists each subset's images (non-recursive, kohya's extensions, no dotfiles; a missing
 * image_dir logs `not directory:` and counts 0 images, as sd-scripts does), counts buckets, batches, steps and
 * epochs with src/datasets/buckets/count-steps.ts, prints the start-up block, caches latents (with
 * `cache_latents_to_disk`, `<stem>_<WWWW>x<HHHH>_<family>.npz` next to the listed image path — in the run's
 * link folder, never resolved through the symlink), prints `epoch N/M`, tqdm `steps:` frames with `\r` on
 * stderr (postfix `avr_loss=…` as sd-scripts prints it), `saving checkpoint: <path>`, `model saved.`; writes
 * `<output_name>-<epoch:06d>.safetensors` (save_every_n_epochs, not on the last epoch),
 * `<output_name>-step<step:08d>.safetensors` (save_every_n_steps), `<output_name>.safetensors`, state folders
 * (save_state / save_state_on_train_end), sample PNGs in `<output_dir>/sample/` (sample_every_n_epochs /
 * _steps / sample_at_first, prompts from the `.txt`/`.json`/`.toml` file) and a TensorBoard event file in
 * `<logging_dir>/<log_prefix><YYYYmmddHHMMSS>/network_train/` (`loss/current`, `loss/average`, `lr/unet`,
 * `lr/textencoder`, `loss/epoch_average`).
 *
 * Environment:
 *   KOHYA_DOUBLE_FAIL=oom:STEP    at global step STEP: the CUDA OOM traceback of the reference (§5.5, L6–L8), exit 1
 *   KOHYA_DOUBLE_FAIL=crash:STEP  at global step STEP: a Python traceback ending in ZeroDivisionError (L19), exit 1
 *   KOHYA_DOUBLE_FAIL=hang:PHASE  PHASE = startup | caching | training: stop printing there and sleep until killed
 *   KOHYA_DOUBLE_FAIL=nodata      find no images: "No data found. …" and exit 0, as sd-scripts does
 *   KOHYA_DOUBLE_SPEED=N          optimizer steps per second (default 500: fast for tests)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { parse as parseToml } from 'smol-toml';
import { countSteps, type ImageSize, type StepsDataset, type StepsPlan } from '../../../src/datasets/buckets/index.ts';
import { encodeSafetensorsHeader, writeSafetensors, type SafetensorsDtype } from '../../../src/formats/safetensors/index.ts';
import { kohyaDatasetConfigSchema } from '../../../src/training/engines/kohya/dataset-toml-schema.ts';
import { KOHYA_ARGS_SOURCE, KOHYA_TRAINER_SCRIPTS, isKohyaTrainerScript, kohyaArg, type KohyaTrainerScript } from '../../../src/training/engines/kohya/kohya-args.ts';
import { BUCKET_STEP_MULTIPLE } from '../../../src/training/engines/kohya/write-dataset-toml.ts';
import { readSamplePromptsTxt } from '../../../src/training/engines/kohya/write-sample-prompts.ts';
import { EventFileWriter } from './tfrecord.ts';
import { checkpointTensors, familyOf, isNetworkTrainer, loraModules, loraTensors, prng, saveDtype, type DoubleFamily, type WeightTensor } from './lora-weights.ts';

export const KOHYA_DOUBLE_PATH: string = fileURLToPath(import.meta.url);
export const KOHYA_DOUBLE_NAME = 'kohya-double';

// ---- small output helpers ----------------------------------------------------------------------------

/** A logger line in `--console_log_simple` mode: the message alone, on stdout. */
function log(message: string): void {
  process.stdout.write(`${message}\n`);
}
/** `print()` / `accelerator.print()`: stdout. */
const print = log;

function stamp(date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

/** A line logged before `train()` re-initialises logging: Rich form on stderr (§1.2, §5.1). */
function richLog(level: 'INFO' | 'WARNING' | 'ERROR', message: string, source: string): void {
  process.stderr.write(`${stamp()} ${level.padEnd(8)} ${message}    ${source}\n`);
}

function note(message: string): void {
  process.stderr.write(`${KOHYA_DOUBLE_NAME}: ${message}\n`);
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * stdout and stderr are separate pipes, so a reader cannot know which of two near-simultaneous lines came
 * first. sd-scripts logs e.g. `Invalid user config` on stdout and then raises (traceback on stderr); the
 * parser reads the pair in that order. The double leaves this gap between the two so tests see that order.
 */
const CROSS_STREAM_GAP_MS = 150;

function traceback(frames: ReadonlyArray<readonly [string, number, string, string]>, last: string): string {
  const lines = ['Traceback (most recent call last):'];
  for (const [file, line, fn, code] of frames) lines.push(`  File "${file}", line ${line}, in ${fn}`, `    ${code}`);
  lines.push(last);
  return `${lines.join('\n')}\n`;
}

/** Python `str(float)`. */
function pyFloat(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return `${value}.0`;
  if (value !== 0 && (Math.abs(value) < 1e-4 || Math.abs(value) >= 1e16)) {
    return value.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(value);
}

/** Python `json.dumps` (default separators). */
function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : pyFloat(value);
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${JSON.stringify(k)}: ${pyJson(v)}`)
    .join(', ')}}`;
}

function pyBool(value: boolean): string {
  return value ? 'True' : 'False';
}

// ---- tqdm -------------------------------------------------------------------------------------------

function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${two(m)}:${two(r)}`;
}

const BAR_CHARS = ' ▏▎▍▌▋▊▉█';

/** tqdm's non-TTY bar: 10 cells. */
function bar(n: number, total: number): string {
  const frac = total > 0 ? Math.min(1, n / total) : 0;
  const filled = Math.floor(frac * 10 * 8);
  const full = Math.floor(filled / 8);
  const part = filled % 8;
  if (full >= 10) return '█'.repeat(10);
  return `${'█'.repeat(full)}${BAR_CHARS[part] ?? ' '}${' '.repeat(10 - full - 1)}`;
}

/** tqdm `format_num`: `{:.3g}` unless `str()` is shorter. */
function formatNum(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  const g = Number(value.toPrecision(3));
  const short = Math.abs(g) !== 0 && (Math.abs(g) < 1e-4 || Math.abs(g) >= 1e16) ? g.toExponential().replace(/e([+-])(\d)$/, 'e$1$2') : String(g);
  const full = String(value);
  return short.length < full.length ? short : full;
}

class Tqdm {
  private readonly started = performance.now();
  private lastFrame = '';
  private readonly desc: string | undefined;
  private readonly total: number;

  constructor(total: number, desc?: string) {
    this.total = total;
    this.desc = desc;
  }

  frame(n: number, postfix?: Record<string, number>): string {
    const elapsed = (performance.now() - this.started) / 1000;
    const pct = String(Math.floor((n / Math.max(1, this.total)) * 100)).padStart(3, ' ');
    let timing: string;
    if (n === 0 || elapsed <= 0) {
      timing = `${clock(elapsed)}<?, ?it/s`;
    } else {
      const rate = n / elapsed;
      const remaining = (this.total - n) / rate;
      const rateText = rate >= 1 ? `${rate.toFixed(2).padStart(5, ' ')}it/s` : `${(1 / rate).toFixed(2).padStart(5, ' ')}s/it`;
      timing = `${clock(elapsed)}<${clock(remaining)}, ${rateText}`;
    }
    const post =
      postfix === undefined
        ? ''
        : Object.keys(postfix)
            .sort()
            .map((key) => `${key}=${formatNum(postfix[key] as number)}`)
            .join(', ');
    const head = this.desc === undefined ? '' : `${this.desc}: `;
    return `${head}${pct}%|${bar(n, this.total)}| ${n}/${this.total} [${timing}${post ? `, ${post}` : ''}]`;
  }

  /** Write one `\r` frame to stderr (tqdm pads a shorter frame with spaces). */
  update(n: number, postfix?: Record<string, number>): void {
    const text = this.frame(n, postfix);
    const pad = this.lastFrame.length > text.length ? ' '.repeat(this.lastFrame.length - text.length) : '';
    this.lastFrame = text;
    process.stderr.write(`\r${text}${pad}`);
  }

  close(): void {
    process.stderr.write('\n');
  }
}

// ---- argv ---------------------------------------------------------------------------------------------

class Stop extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.exitCode = exitCode;
  }
}

interface Invocation {
  scriptPath: string;
  script: KohyaTrainerScript;
  configFile: string;
  datasetFile: string;
  numProcesses: number;
}

function usage(script: string): string {
  return `usage: ${script} [-h] [--config_file CONFIG_FILE] [--dataset_config DATASET_CONFIG] [--console_log_simple] ...\n`;
}

function argparseError(script: string, message: string): never {
  process.stderr.write(usage(script));
  process.stderr.write(`${script}: error: ${message}\n`);
  throw new Stop(2);
}

export function parseInvocation(argv: readonly string[]): Invocation {
  const args = [...argv];
  // Interpreter flags, as launch.ts passes them to python.
  while (args.length > 0 && /^-[Esu]$|^-X$/.test(args[0] ?? '')) {
    const flag = args.shift();
    if (flag === '-X') {
      const option = args.shift();
      if (option !== 'utf8') {
        process.stderr.write(`${KOHYA_DOUBLE_NAME}: -X ${String(option)} is not what the adapter passes (-X utf8)\n`);
        throw new Stop(2);
      }
    }
  }
  let numProcesses = 1;
  if (args[0] === '-m') {
    args.shift();
    const module = args.shift();
    if (module !== 'accelerate.commands.launch') {
      process.stderr.write(`/usr/bin/python: No module named ${String(module)}\n`);
      throw new Stop(1);
    }
    while (args.length > 0 && (args[0] ?? '').startsWith('--')) {
      const flag = args.shift() ?? '';
      if (flag === '--multi_gpu') continue;
      const value = args.shift();
      if (!['--num_processes', '--num_machines', '--mixed_precision', '--dynamo_backend'].includes(flag) || value === undefined) {
        process.stderr.write(`accelerate <command> [<args>] launch: error: unrecognized arguments: ${flag}\n`);
        throw new Stop(2);
      }
      if (flag === '--num_processes') numProcesses = Number(value);
    }
  }
  const scriptPath = args.shift();
  if (scriptPath === undefined || !scriptPath.endsWith('.py')) {
    process.stderr.write(`${KOHYA_DOUBLE_NAME}: expected a trainer script, got ${JSON.stringify(scriptPath ?? null)}\n`);
    throw new Stop(2);
  }
  const script = path.basename(scriptPath);
  if (!isKohyaTrainerScript(script)) {
    note(`${script} is not one of the trainer scripts the double knows (${KOHYA_TRAINER_SCRIPTS.join(', ')})`);
    process.stderr.write(`/usr/bin/python: can't open file '${scriptPath}': [Errno 2] No such file or directory\n`);
    throw new Stop(2);
  }
  let configFile: string | undefined;
  let datasetFile: string | undefined;
  let simple = false;
  const unknown: string[] = [];
  while (args.length > 0) {
    const arg = args.shift() ?? '';
    if (arg === '--config_file' || arg === '--dataset_config') {
      const value = args.shift();
      if (value === undefined) argparseError(script, `argument ${arg}: expected one argument`);
      if (!path.isAbsolute(value)) argparseError(script, `${KOHYA_DOUBLE_NAME}: ${arg} must be an absolute path (the engine's cwd is <run>/work), got ${value}`);
      if ((arg === '--config_file' ? configFile : datasetFile) !== undefined) argparseError(script, `${KOHYA_DOUBLE_NAME}: ${arg} given twice`);
      if (arg === '--config_file') configFile = value;
      else datasetFile = value;
    } else if (arg === '--console_log_simple') {
      simple = true;
    } else {
      unknown.push(arg);
    }
  }
  if (unknown.length > 0) argparseError(script, `unrecognized arguments: ${unknown.join(' ')}`);
  if (configFile === undefined || datasetFile === undefined || !simple) {
    argparseError(script, `${KOHYA_DOUBLE_NAME}: the adapter's command line has --config_file, --dataset_config and --console_log_simple; missing ${[configFile === undefined ? '--config_file' : '', datasetFile === undefined ? '--dataset_config' : '', simple ? '' : '--console_log_simple'].filter(Boolean).join(', ')}`);
  }
  if (!Number.isSafeInteger(numProcesses) || numProcesses < 1) argparseError('accelerate', `invalid --num_processes`);
  return { scriptPath, script, configFile, datasetFile, numProcesses };
}

// ---- failure modes ------------------------------------------------------------------------------------

type HangPhase = 'startup' | 'caching' | 'training';
interface FailMode {
  oomAt?: number;
  crashAt?: number;
  hang?: HangPhase;
  nodata?: boolean;
}

function failMode(env: NodeJS.ProcessEnv): FailMode {
  const raw = env.KOHYA_DOUBLE_FAIL?.trim();
  if (raw === undefined || raw === '') return {};
  let m: RegExpExecArray | null;
  if ((m = /^(oom|crash):(\d+)$/.exec(raw)) !== null) return m[1] === 'oom' ? { oomAt: Number(m[2]) } : { crashAt: Number(m[2]) };
  if ((m = /^hang:(startup|caching|training)$/.exec(raw)) !== null) return { hang: m[1] as HangPhase };
  if (raw === 'nodata') return { nodata: true };
  note(`KOHYA_DOUBLE_FAIL=${raw} is not one of oom:STEP, crash:STEP, hang:startup|caching|training, nodata`);
  throw new Stop(2);
}

/** Stop printing (the shim's idle / step watchdog sees silence) and sleep until killed; SIGTERM ends it, as it ends sd-scripts. */
async function hang(_phase: HangPhase): Promise<never> {
  setInterval(() => undefined, 1 << 30);
  return new Promise<never>(() => undefined);
}

// ---- config -------------------------------------------------------------------------------------------

type ConfigValue = string | number | bigint | boolean | ConfigValue[] | { [key: string]: ConfigValue };
type Config = Map<string, ConfigValue>;

function loadConfig(inv: Invocation): Config {
  const file = inv.configFile.endsWith('.toml') ? inv.configFile : `${inv.configFile}.toml`;
  richLog('INFO', `Loading settings from ${file}...`, 'train_util.py:4651');
  if (!existsSync(file)) {
    richLog('INFO', `${file} not found.`, 'train_util.py:4656');
    throw new Stop(1);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(readFileSyncUtf8(file), { integersAsBigInt: true }) as Record<string, unknown>;
  } catch (error) {
    process.stderr.write(traceback([[inv.scriptPath, 1784, '<module>', 'args = train_util.read_config_from_file(args, parser)']], `toml.decoder.TomlDecodeError: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`));
    throw new Stop(1);
  }
  richLog('INFO', file.replace(/\.toml$/, ''), 'train_util.py:4696');
  // sd-scripts flattens one level: every table's keys join the namespace, section names are dropped.
  const config: Config = new Map();
  for (const [key, value] of Object.entries(doc)) {
    if (isTable(value)) for (const [inner, item] of Object.entries(value)) config.set(inner, item as ConfigValue);
    else config.set(key, value as ConfigValue);
  }
  return config;
}

function readFileSyncUtf8(file: string): string {
  // Small config files; a sync read keeps the start-up order simple.
  return readFileSync(file, 'utf8');
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function typeProblem(script: string, key: string, value: ConfigValue): string | undefined {
  const spec = kohyaArg(script, key);
  if (spec === undefined) return undefined;
  const items: ConfigValue[] = spec.list && Array.isArray(value) ? value : [value];
  if (!spec.list && Array.isArray(value)) return `expected a single value for object value @ data['${key}']`;
  for (const item of items) {
    switch (spec.type) {
      case 'bool(store_true)':
        if (typeof item !== 'boolean') return `expected bool for object value @ data['${key}']`;
        break;
      case 'int':
        if (typeof item !== 'bigint') return `expected int for object value @ data['${key}']`;
        break;
      case 'float':
        if (typeof item !== 'number') return `expected float for object value @ data['${key}']`;
        break;
      case 'int_or_float':
        if (typeof item !== 'number' && typeof item !== 'bigint') return `expected int or float for object value @ data['${key}']`;
        break;
      case 'choice': {
        const plain = typeof item === 'bigint' ? Number(item) : item;
        if (!(spec.choices ?? []).some((choice) => choice !== null && choice === plain)) return `value must be one of ${JSON.stringify(spec.choices)} for object value @ data['${key}']`;
        break;
      }
      case 'str':
        if (typeof item !== 'string') return `expected str for object value @ data['${key}']`;
        break;
    }
  }
  return undefined;
}

async function validateConfig(inv: Invocation, config: Config): Promise<void> {
  const unknown = [...config.keys()].filter((key) => kohyaArg(inv.script, key) === undefined);
  if (unknown.length > 0) {
    note(`config keys that ${inv.script} does not have in kohya-args.json: ${unknown.join(', ')} (sd-scripts would silently ignore them)`);
    argparseError(inv.script, `unrecognized arguments: ${unknown.map((key) => `--${key}`).join(' ')}`);
  }
  const problems = [...config].map(([key, value]) => typeProblem(inv.script, key, value)).filter((p): p is string => p !== undefined);
  if (problems.length > 0) {
    log('Invalid cmdline parsed arguments. This should be a bug.');
    await pause(CROSS_STREAM_GAP_MS);
    process.stderr.write(traceback([[inv.scriptPath, 1790, '<module>', 'trainer.train(args)']], `voluptuous.error.MultipleInvalid: ${problems[0]}`));
    throw new Stop(1);
  }
}

function str(config: Config, key: string): string | undefined {
  const value = config.get(key);
  return typeof value === 'string' ? value : undefined;
}
function num(config: Config, key: string): number | undefined {
  const value = config.get(key);
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return value;
  if (Array.isArray(value) && value.length > 0) {
    const first = value[0];
    return typeof first === 'bigint' ? Number(first) : typeof first === 'number' ? first : undefined;
  }
  return undefined;
}
function flag(config: Config, key: string): boolean {
  return config.get(key) === true;
}

// ---- dataset ------------------------------------------------------------------------------------------

interface SubsetRun {
  datasetIndex: number;
  subsetIndex: number;
  imageDir: string;
  images: Array<ImageSize & { path: string }>;
  repeats: number;
  isReg: boolean;
  captionExtension: string;
  classTokens: string | undefined;
  captions: Map<string, string>;
  flags: Record<string, unknown>;
}

interface DatasetRun {
  index: number;
  batchSize: number;
  resolution: { width: number; height: number };
  enableBucket: boolean;
  minBucketReso: number;
  maxBucketReso: number;
  bucketResoSteps: number;
  bucketNoUpscale: boolean;
  networkMultiplier: number;
  subsets: SubsetRun[];
}

const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.bmp'].flatMap((ext) => [ext, ext.toUpperCase()]);

function voluptuousPath(pathParts: ReadonlyArray<PropertyKey>): string {
  return `data${pathParts.map((part) => (typeof part === 'number' ? `[${part}]` : `['${String(part)}']`)).join('')}`;
}

async function loadDataset(inv: Invocation, config: Config): Promise<Record<string, unknown>> {
  log(`Loading dataset config from ${inv.datasetFile}`);
  if (!existsSync(inv.datasetFile)) {
    await pause(CROSS_STREAM_GAP_MS);
    process.stderr.write(traceback([[inv.scriptPath, 1790, '<module>', 'trainer.train(args)']], `ValueError: file not found: ${inv.datasetFile}`));
    throw new Stop(1);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(readFileSyncUtf8(inv.datasetFile), { integersAsBigInt: true }) as Record<string, unknown>;
  } catch (error) {
    log('Error on parsing TOML config file. Please check the format. / TOML 形式の設定ファイルの読み込みに失敗しました。文法が正しいか確認してください。');
    await pause(CROSS_STREAM_GAP_MS);
    process.stderr.write(traceback([[inv.scriptPath, 1790, '<module>', 'trainer.train(args)']], `toml.decoder.TomlDecodeError: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`));
    throw new Stop(1);
  }
  const checked = kohyaDatasetConfigSchema.safeParse(doc);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    let message = 'not a valid value';
    if (issue !== undefined) {
      if (issue.code === 'unrecognized_keys') message = `extra keys not allowed @ ${voluptuousPath([...issue.path, issue.keys[0] ?? ''])}`;
      else if (issue.code === 'invalid_type' && issue.input === undefined) message = `required key not provided @ ${voluptuousPath(issue.path)}`;
      else if (issue.code === 'invalid_type') message = `expected ${issue.expected === 'bigint' ? 'int' : issue.expected === 'number' ? 'float' : issue.expected} for dictionary value @ ${voluptuousPath(issue.path)}`;
      else message = `${issue.message} @ ${voluptuousPath(issue.path)}`;
    }
    log('Invalid user config / ユーザ設定の形式が正しくないようです');
    await pause(CROSS_STREAM_GAP_MS);
    process.stderr.write(traceback([[inv.scriptPath, 1790, '<module>', 'trainer.train(args)']], `voluptuous.error.MultipleInvalid: ${message}`));
    throw new Stop(1);
  }
  void config;
  return doc;
}

function plain(value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

async function listImages(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((name) => !name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(name))).sort();
}

async function prepareDatasets(inv: Invocation, config: Config, doc: Record<string, unknown>, fail: FailMode): Promise<DatasetRun[]> {
  const general = (isTable(doc.general) ? doc.general : {}) as Record<string, unknown>;
  const datasets = (Array.isArray(doc.datasets) ? doc.datasets : []) as Array<Record<string, unknown>>;
  log('prepare images.');
  const runs: DatasetRun[] = [];
  for (const [datasetIndex, dataset] of datasets.entries()) {
    const pick = (subset: Record<string, unknown> | undefined, key: string, argKey = key): unknown => {
      for (const level of [subset, dataset, general]) if (level !== undefined && level[key] !== undefined) return plain(level[key]);
      const arg = config.get(argKey);
      return arg === undefined ? undefined : plain(arg);
    };
    let resolutionValue = pick(undefined, 'resolution');
    if (typeof resolutionValue === 'string') {
      const parts = resolutionValue.split(',').map((s) => Number(s.trim()));
      resolutionValue = parts.length === 1 ? parts[0] : parts;
    }
    if (resolutionValue === undefined) {
      await pause(CROSS_STREAM_GAP_MS);
      process.stderr.write(traceback([[inv.scriptPath, 1790, '<module>', 'trainer.train(args)']], 'AssertionError: resolution is required / resolution（解像度）指定は必須です'));
      throw new Stop(1);
    }
    const resolution = Array.isArray(resolutionValue)
      ? { width: Number(plain(resolutionValue[0])), height: Number(plain(resolutionValue[1])) }
      : { width: Number(resolutionValue), height: Number(resolutionValue) };
    const run: DatasetRun = {
      index: datasetIndex,
      batchSize: Number(pick(undefined, 'batch_size', 'train_batch_size') ?? 1),
      resolution,
      enableBucket: pick(undefined, 'enable_bucket') === true,
      minBucketReso: Number(pick(undefined, 'min_bucket_reso') ?? 256),
      maxBucketReso: Number(pick(undefined, 'max_bucket_reso') ?? 1024),
      bucketResoSteps: Number(pick(undefined, 'bucket_reso_steps') ?? 64),
      bucketNoUpscale: pick(undefined, 'bucket_no_upscale') === true,
      networkMultiplier: Number(pick(undefined, 'network_multiplier') ?? 1),
      subsets: [],
    };
    const subsets = (Array.isArray(dataset.subsets) ? dataset.subsets : []) as Array<Record<string, unknown>>;
    const seenDirs = new Set<string>();
    for (const [subsetIndex, subset] of subsets.entries()) {
      const imageDir = String(subset.image_dir);
      const repeats = Number(pick(subset, 'num_repeats', 'dataset_repeats') ?? 1);
      const captionExtension = String(pick(subset, 'caption_extension') ?? '.caption');
      const classTokens = pick(subset, 'class_tokens') as string | undefined;
      const sub: SubsetRun = {
        datasetIndex,
        subsetIndex,
        imageDir,
        images: [],
        repeats,
        isReg: subset.is_reg === true,
        captionExtension,
        classTokens,
        captions: new Map(),
        flags: {
          color_aug: pick(subset, 'color_aug') === true,
          flip_aug: pick(subset, 'flip_aug') === true,
          random_crop: pick(subset, 'random_crop') === true,
          shuffle_caption: pick(subset, 'shuffle_caption') === true,
          keep_tokens: Number(pick(subset, 'keep_tokens') ?? 0),
        },
      };
      if (seenDirs.has(imageDir)) continue;
      seenDirs.add(imageDir);
      if (fail.nodata || repeats < 1) {
        run.subsets.push(sub);
        continue;
      }
      let isDir = false;
      try {
        isDir = statSync(imageDir).isDirectory();
      } catch {
        isDir = false;
      }
      if (!isDir) {
        log(`not directory: ${imageDir}`);
        run.subsets.push(sub);
        continue;
      }
      const names = await listImages(imageDir);
      log(`found directory ${imageDir} contains ${names.length} image files`);
      let missingCaptions = 0;
      for (const name of names) {
        const file = path.join(imageDir, name);
        const { width, height } = await sharp(file).metadata();
        sub.images.push({ image: name, width, height, path: file });
        const captionFile = path.join(imageDir, `${path.parse(name).name}${captionExtension}`);
        if (existsSync(captionFile)) {
          sub.captions.set(name, (await readFile(captionFile, 'utf8')).split(/\r?\n/)[0]?.trim() ?? '');
        } else if (classTokens !== undefined) {
          sub.captions.set(name, classTokens);
        } else {
          missingCaptions++;
          sub.captions.set(name, '');
        }
      }
      if (missingCaptions > 0) log(`No caption file found for ${missingCaptions} images. Training will continue without captions for these images. If class token exists, it will be used. / ${missingCaptions}枚の画像にキャプションファイルが見つかりませんでした。これらの画像についてはキャプションなしで学習を続行します。class tokenが存在する場合はそれを使います。`);
      run.subsets.push(sub);
    }
    const train = run.subsets.filter((s) => !s.isReg).reduce((sum, s) => sum + s.images.length * Math.max(0, s.repeats), 0);
    const reg = run.subsets.filter((s) => s.isReg).reduce((sum, s) => sum + s.images.length * Math.max(0, s.repeats), 0);
    log(`${train} train images with repeats.`);
    if (reg > 0) log(`${reg} reg images with repeats.`);
    else log('no regularization images / 正則化画像が見つかりませんでした');
    runs.push(run);
  }
  // The dataset dump.
  for (const run of runs) {
    log(`[Dataset ${run.index}]`);
    log(`  batch_size: ${run.batchSize}`);
    log(`  resolution: (${run.resolution.width}, ${run.resolution.height})`);
    log(`  enable_bucket: ${pyBool(run.enableBucket)}`);
    log(`  network_multiplier: ${pyFloat(run.networkMultiplier)}`);
    if (run.enableBucket) {
      log(`  min_bucket_reso: ${run.minBucketReso}`);
      log(`  max_bucket_reso: ${run.maxBucketReso}`);
      log(`  bucket_reso_steps: ${run.bucketResoSteps}`);
      log(`  bucket_no_upscale: ${pyBool(run.bucketNoUpscale)}`);
    }
    log('');
    for (const sub of run.subsets) {
      log(`  [Subset ${sub.subsetIndex} of Dataset ${run.index}]`);
      log(`    image_dir: "${sub.imageDir}"`);
      log(`    image_count: ${sub.images.length}`);
      log(`    num_repeats: ${sub.repeats}`);
      log(`    shuffle_caption: ${pyBool(sub.flags.shuffle_caption === true)}`);
      log(`    keep_tokens: ${String(sub.flags.keep_tokens)}`);
      log(`    caption_extension: ${sub.captionExtension}`);
      log(`    is_reg: ${pyBool(sub.isReg)}`);
      log(`    class_tokens: ${sub.classTokens ?? 'None'}`);
      log('');
    }
  }
  return runs;
}

// ---- the run ------------------------------------------------------------------------------------------

interface RunContext {
  inv: Invocation;
  config: Config;
  family: DoubleFamily;
  datasets: DatasetRun[];
  plan: StepsPlan;
  outputDir: string;
  outputName: string;
  saveAs: string;
  dtype: SafetensorsDtype;
  rank: number;
  alpha: number;
  trainTextEncoder: boolean;
  seed: number;
  sessionId: number;
  startedAt: number;
  fail: FailMode;
}

const LATENT_SUFFIX: Record<DoubleFamily, string> = { sd1: '_sd.npz', sd2: '_sd.npz', sdxl: '_sdxl.npz', sd3: '_sd3.npz', flux: '_flux.npz', lumina: '_lumina.npz' };
const TE_SUFFIX: Partial<Record<DoubleFamily, string>> = { sdxl: '_te_outputs.npz', sd3: '_sd3_te.npz', flux: '_flux_te.npz', lumina: '_lumina_te.npz' };

const BASE_MODEL_VERSION = (family: DoubleFamily, config: Config): string => {
  const v = flag(config, 'v_parameterization') ? '_v' : '';
  switch (family) {
    case 'sd1':
      return `sd_v1${v}`;
    case 'sd2':
      return `sd_v2${v}`;
    case 'sdxl':
      return 'sdxl_base_v1-0';
    case 'sd3':
      return 'medium';
    case 'flux':
      return str(config, 'model_type') === 'chroma' ? 'chroma' : 'flux1';
    case 'lumina':
      return 'lumina2';
  }
};

const ARCHITECTURE: Record<DoubleFamily, string> = {
  sd1: 'stable-diffusion-v1',
  sd2: 'stable-diffusion-v2-512',
  sdxl: 'stable-diffusion-xl-v1-base',
  sd3: 'stable-diffusion-3-medium',
  flux: 'flux-1-dev',
  lumina: 'lumina-2',
};

async function cacheFiles(ctx: RunContext): Promise<void> {
  const toDisk = flag(ctx.config, 'cache_latents_to_disk');
  if (flag(ctx.config, 'cache_latents') || toDisk) {
    log('caching latents.');
    const images = ctx.datasets.flatMap((d) => d.subsets.flatMap((s) => s.images));
    const progress = new Tqdm(images.length);
    progress.update(0);
    if (ctx.fail.hang === 'caching') await hang('caching');
    for (const [i, image] of images.entries()) {
      if (toDisk) {
        const stem = image.path.slice(0, image.path.length - path.extname(image.path).length);
        const file = `${stem}_${String(image.width).padStart(4, '0')}x${String(image.height).padStart(4, '0')}${LATENT_SUFFIX[ctx.family]}`;
        if (!existsSync(file)) await writeFile(file, `KOHYA-DOUBLE latent cache (not a real .npz) for ${path.basename(image.path)} ${image.width}x${image.height}\n`);
      }
      progress.update(i + 1);
    }
    progress.close();
  } else if (ctx.fail.hang === 'caching') {
    log('caching latents.');
    await hang('caching');
  }
  const teSuffix = TE_SUFFIX[ctx.family];
  const teToDisk = flag(ctx.config, 'cache_text_encoder_outputs_to_disk');
  if (teSuffix !== undefined && (flag(ctx.config, 'cache_text_encoder_outputs') || teToDisk)) {
    log('caching Text Encoder outputs with caching strategy.');
    const images = ctx.datasets.flatMap((d) => d.subsets.flatMap((s) => s.images));
    const progress = new Tqdm(images.length);
    for (const [i, image] of images.entries()) {
      if (teToDisk) {
        const stem = image.path.slice(0, image.path.length - path.extname(image.path).length);
        const file = `${stem}${teSuffix}`;
        if (!existsSync(file)) await writeFile(file, `KOHYA-DOUBLE text-encoder cache (not a real .npz) for ${path.basename(image.path)}\n`);
      }
      progress.update(i + 1);
    }
    progress.close();
  }
}

function metadata(ctx: RunContext, at: { step: number; epoch: number }): Record<string, string> {
  const c = ctx.config;
  const lr = num(c, 'learning_rate') ?? 2e-6;
  const trainImages = ctx.plan.datasets.reduce((sum, d) => sum + d.trainImagesWithRepeats, 0);
  const regImages = ctx.plan.datasets.reduce((sum, d) => sum + d.regImagesWithRepeats, 0);
  const opt = (key: string): string => {
    const value = c.get(key);
    if (value === undefined) return 'None';
    if (typeof value === 'boolean') return pyBool(value);
    if (typeof value === 'number') return pyFloat(value);
    if (typeof value === 'bigint') return String(value);
    return String(value);
  };
  const md: Record<string, string> = {
    ss_session_id: String(ctx.sessionId),
    ss_training_started_at: pyFloat(ctx.startedAt),
    ss_output_name: ctx.outputName,
    ss_learning_rate: pyFloat(lr),
    ss_text_encoder_lr: c.has('text_encoder_lr') ? pyFloat(num(c, 'text_encoder_lr') ?? lr) : 'None',
    ss_unet_lr: c.has('unet_lr') ? pyFloat(num(c, 'unet_lr') ?? lr) : 'None',
    ss_num_train_images: String(trainImages),
    ss_num_validation_images: '0',
    ss_num_reg_images: String(regImages),
    ss_num_batches_per_epoch: String(ctx.plan.batchesPerEpoch),
    ss_num_epochs: String(ctx.plan.epochs),
    ss_gradient_checkpointing: pyBool(flag(c, 'gradient_checkpointing')),
    ss_gradient_accumulation_steps: String(num(c, 'gradient_accumulation_steps') ?? 1),
    ss_max_train_steps: String(ctx.plan.maxTrainSteps),
    ss_lr_warmup_steps: String(num(c, 'lr_warmup_steps') ?? 0),
    ss_lr_scheduler: str(c, 'lr_scheduler') ?? 'constant',
    ss_network_module: str(c, 'network_module') ?? 'None',
    ss_network_dim: String(ctx.rank),
    ss_network_alpha: pyFloat(ctx.alpha),
    ss_network_dropout: opt('network_dropout'),
    ss_mixed_precision: str(c, 'mixed_precision') ?? 'no',
    ss_full_fp16: pyBool(flag(c, 'full_fp16')),
    ss_v2: pyBool(flag(c, 'v2')),
    ss_base_model_version: BASE_MODEL_VERSION(ctx.family, c),
    ss_clip_skip: opt('clip_skip'),
    ss_max_token_length: opt('max_token_length'),
    ss_cache_latents: pyBool(flag(c, 'cache_latents') || flag(c, 'cache_latents_to_disk')),
    ss_seed: String(ctx.seed),
    ss_lowram: pyBool(flag(c, 'lowram')),
    ss_noise_offset: opt('noise_offset'),
    ss_min_snr_gamma: opt('min_snr_gamma'),
    ss_optimizer: `torch.optim.adamw.AdamW`,
    ss_max_grad_norm: pyFloat(num(c, 'max_grad_norm') ?? 1),
    ss_loss_type: str(c, 'loss_type') ?? 'l2',
    ss_sd_model_name: path.basename(str(c, 'pretrained_model_name_or_path') ?? ''),
    ss_sd_scripts_commit_hash: KOHYA_DOUBLE_NAME,
    ss_training_comment: opt('training_comment'),
    ss_datasets: pyJson(
      ctx.datasets.map((d, i) => ({
        is_dreambooth: true,
        batch_size_per_device: d.batchSize,
        num_train_images: ctx.plan.datasets[i]?.trainImagesWithRepeats ?? 0,
        num_reg_images: ctx.plan.datasets[i]?.regImagesWithRepeats ?? 0,
        resolution: [d.resolution.width, d.resolution.height],
        enable_bucket: d.enableBucket,
        min_bucket_reso: d.enableBucket ? d.minBucketReso : null,
        max_bucket_reso: d.enableBucket ? d.maxBucketReso : null,
        subsets: d.subsets.map((s) => ({ img_count: s.images.length, num_repeats: s.repeats, ...s.flags, image_dir: path.basename(s.imageDir), class_tokens: s.classTokens ?? null, is_reg: s.isReg })),
      })),
    ),
    ss_tag_frequency: pyJson(
      Object.fromEntries(
        ctx.datasets.flatMap((d) =>
          d.subsets.map((s) => {
            const freq: Record<string, number> = {};
            for (const caption of s.captions.values()) {
              for (const tag of caption.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean)) freq[tag] = (freq[tag] ?? 0) + 1;
            }
            return [path.basename(s.imageDir), freq];
          }),
        ),
      ),
    ),
    ss_dataset_dirs: pyJson(Object.fromEntries(ctx.datasets.flatMap((d) => d.subsets.filter((s) => !s.isReg).map((s) => [path.basename(s.imageDir), { n_repeats: s.repeats, img_count: s.images.length }])))),
    ss_training_finished_at: pyFloat(Date.now() / 1000),
    ss_steps: String(at.step),
    ss_epoch: String(at.epoch),
  };
  const networkArgs = c.get('network_args');
  if (Array.isArray(networkArgs)) {
    const dict: Record<string, string | null> = {};
    for (const item of networkArgs) {
      const [k, ...rest] = String(item).split('=');
      dict[k ?? ''] = rest.join('=');
    }
    dict.dropout = c.has('network_dropout') ? String(num(c, 'network_dropout')) : null;
    md.ss_network_args = pyJson(dict);
  }
  if (ctx.family === 'flux') {
    md.ss_model_type = str(c, 'model_type') ?? 'flux';
    md.ss_guidance_scale = pyFloat(num(c, 'guidance_scale') ?? 3.5);
    md.ss_timestep_sampling = str(c, 'timestep_sampling') ?? 'sigma';
    md.ss_model_prediction_type = str(c, 'model_prediction_type') ?? 'sigma_scaled';
    md.ss_discrete_flow_shift = pyFloat(num(c, 'discrete_flow_shift') ?? 3);
    md.ss_apply_t5_attn_mask = pyBool(flag(c, 'apply_t5_attn_mask'));
  }
  return md;
}

function modelspec(ctx: RunContext): Record<string, string> {
  const res = str(ctx.config, 'resolution');
  const defaultRes = ['sdxl', 'sd3', 'flux', 'lumina'].includes(ctx.family) ? '1024x1024' : '512x512';
  const spec: Record<string, string> = {
    'modelspec.sai_model_spec': '1.0.1',
    'modelspec.architecture': `${ARCHITECTURE[ctx.family]}${isNetworkTrainer(ctx.inv.script) ? '/lora' : ''}`,
    'modelspec.implementation': ctx.family === 'sdxl' ? 'https://github.com/Stability-AI/generative-models' : ctx.family === 'flux' ? 'https://github.com/black-forest-labs/flux' : ctx.family === 'lumina' ? 'https://github.com/Alpha-VLLM/Lumina-Image-2.0' : 'diffusers',
    'modelspec.title': ctx.outputName,
    'modelspec.date': new Date().toISOString().replace(/\.\d+Z$/, ''),
    'modelspec.resolution': res === undefined ? defaultRes : res.includes(',') ? res.replace(',', 'x') : `${res}x${res}`,
    'modelspec.implementation_version': `sd-scripts/${KOHYA_DOUBLE_NAME}`,
  };
  if (ctx.family !== 'flux') spec['modelspec.prediction_type'] = flag(ctx.config, 'v_parameterization') ? 'v' : 'epsilon';
  return spec;
}

function tensorsAt(ctx: RunContext, step: number): WeightTensor[] {
  const progress = ctx.plan.maxTrainSteps > 0 ? step / ctx.plan.maxTrainSteps : 1;
  if (!isNetworkTrainer(ctx.inv.script)) return checkpointTensors(ctx.family, { dtype: ctx.dtype, seed: ctx.seed + step });
  return loraTensors(loraModules(ctx.family, { trainTextEncoder: ctx.trainTextEncoder }), { rank: ctx.rank, alpha: ctx.alpha, dtype: ctx.dtype, seed: ctx.seed, progress });
}

async function saveModel(ctx: RunContext, file: string, at: { step: number; epoch: number }): Promise<void> {
  print('');
  print(`saving checkpoint: ${file}`);
  const tensors = tensorsAt(ctx, at.step);
  const ss = ctx.config.get('no_metadata') === true ? minimal(metadata(ctx, at)) : metadata(ctx, at);
  // sshs_* hashes over the body, computed with ss_* metadata only (§6).
  const encoded = encodeSafetensorsHeader({ tensors, metadata: ss });
  const byName = new Map(tensors.map((t) => [t.name, t.data]));
  const body = Buffer.concat(encoded.layout.map((entry) => byName.get(entry.tensor.name) ?? new Uint8Array()));
  const whole = Buffer.concat([Buffer.from(encoded.prefix), body]);
  const legacy = createHash('sha256').update(whole.subarray(0x100000, 0x100000 + 0x10000)).digest('hex').slice(0, 8);
  const md = { ...ss, sshs_model_hash: createHash('sha256').update(body).digest('hex'), sshs_legacy_hash: legacy, ...modelspec(ctx) };
  await writeSafetensors({ path: file, tensors, metadata: md, mode: 0o644 });
}

function minimal(md: Record<string, string>): Record<string, string> {
  const keep = ['ss_v2', 'ss_base_model_version', 'ss_network_module', 'ss_network_dim', 'ss_network_alpha', 'ss_network_args'];
  return Object.fromEntries(Object.entries(md).filter(([key]) => keep.includes(key)));
}

async function saveState(ctx: RunContext, dir: string, at: { step: number; epoch: number }): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeSafetensors({ path: path.join(dir, 'model.safetensors'), tensors: tensorsAt(ctx, at.step), mode: 0o644 });
  for (const name of ['optimizer.bin', 'scheduler.bin', 'random_states_0.pkl']) await writeFile(path.join(dir, name), `KOHYA-DOUBLE ${name} (not a real accelerate state file)\n`);
  log(`save train state to ${path.join(dir, 'train_state.json')} at epoch ${at.epoch} step ${at.step}`);
  await writeFile(path.join(dir, 'train_state.json'), JSON.stringify({ current_epoch: at.epoch, current_step: at.step }));
}

interface Prompt {
  prompt: string;
  negative_prompt?: string;
  width: number;
  height: number;
  seed?: number;
  sample_steps: number;
  scale: number;
  sample_sampler: string;
}

async function loadPrompts(ctx: RunContext): Promise<Prompt[] | undefined> {
  const file = str(ctx.config, 'sample_prompts');
  if (file === undefined) return undefined;
  if (!existsSync(file)) {
    log(`No prompt file / プロンプトファイルがありません: ${file}`);
    return undefined;
  }
  const text = await readFile(file, 'utf8');
  let dicts: Array<Record<string, unknown>>;
  if (file.endsWith('.json')) {
    const parsed = JSON.parse(text) as unknown[];
    dicts = parsed.map((item) => (typeof item === 'string' ? { prompt: item } : (item as Record<string, unknown>)));
  } else if (file.endsWith('.toml')) {
    const doc = parseToml(text) as { prompt?: Record<string, unknown> & { subset?: Array<Record<string, unknown>> } };
    const { subset = [], ...defaults } = doc.prompt ?? {};
    dicts = subset.map((item) => ({ ...defaults, ...item }));
  } else {
    dicts = readSamplePromptsTxt(text);
  }
  const floor8 = (v: unknown, d: number): number => Math.max(64, Math.floor(Number(v ?? d) / 8) * 8);
  const isFlux = ctx.family === 'flux';
  return dicts.map((d) => ({
    prompt: String(d.prompt ?? ''),
    ...(d.negative_prompt === undefined ? {} : { negative_prompt: String(d.negative_prompt) }),
    width: floor8(d.width, 512),
    height: floor8(d.height, 512),
    ...(d.seed === undefined ? {} : { seed: Number(d.seed) }),
    sample_steps: Math.min(1000, Math.max(1, Number(d.sample_steps ?? (isFlux ? 20 : 30)))),
    scale: Number(d.scale ?? (isFlux ? 1 : 7.5)),
    sample_sampler: String(d.sample_sampler ?? str(ctx.config, 'sample_sampler') ?? 'ddim'),
  }));
}

function fileStamp(date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

async function sample(ctx: RunContext, prompts: Prompt[], at: { step: number; epoch?: number }): Promise<void> {
  log(`generating sample images at step / サンプル画像生成 ステップ: ${at.step}`);
  const dir = path.join(ctx.outputDir, 'sample');
  await mkdir(dir, { recursive: true });
  for (const [i, p] of prompts.entries()) {
    log(`prompt: ${p.prompt}`);
    log(`negative_prompt: ${p.negative_prompt ?? 'None'}`);
    log(`height: ${p.height}`);
    log(`width: ${p.width}`);
    log(`sample_steps: ${p.sample_steps}`);
    log(`scale: ${p.scale}`);
    log(`sample_sampler: ${p.sample_sampler}`);
    if (p.seed !== undefined) log(`seed: ${p.seed}`);
    const suffix = at.epoch !== undefined ? `e${String(at.epoch).padStart(6, '0')}` : String(at.step).padStart(6, '0');
    const name = `${ctx.outputName ? `${ctx.outputName}_` : ''}${suffix}_${String(i).padStart(2, '0')}_${fileStamp()}${p.seed !== undefined ? `_${p.seed}` : ''}.png`;
    const random = prng((p.seed ?? i) + at.step * 7919);
    const colour = { r: Math.floor(random() * 256), g: Math.floor(random() * 256), b: Math.floor(random() * 256) };
    await sharp({ create: { width: p.width, height: p.height, channels: 3, background: colour } })
      .png()
      .withMetadata()
      .toFile(path.join(dir, name));
  }
}

function tensorboard(ctx: RunContext): EventFileWriter | undefined {
  const dir = str(ctx.config, 'logging_dir');
  const logWith = str(ctx.config, 'log_with');
  if (dir === undefined || (logWith !== undefined && logWith !== 'tensorboard' && logWith !== 'all')) return undefined;
  const runDir = path.join(dir, `${str(ctx.config, 'log_prefix') ?? ''}${fileStamp()}`, str(ctx.config, 'log_tracker_name') ?? 'network_train');
  mkdirSync(runDir, { recursive: true });
  const now = Date.now() / 1000;
  return new EventFileWriter(path.join(runDir, `events.out.tfevents.${Math.floor(now)}.${hostname()}.${process.pid}.0`), now);
}

async function crash(ctx: RunContext, progress: Tqdm, step: number, postfix: Record<string, number>, kind: 'oom' | 'crash'): Promise<never> {
  progress.update(step, postfix);
  const engineTrainer = path.join(path.dirname(ctx.inv.scriptPath), 'train_network.py');
  const last =
    kind === 'oom'
      ? 'torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 11.76 GiB total capacity; 10.92 GiB already allocated; 56.25 MiB free; 10.97 GiB reserved in total by PyTorch) If reserved memory is >> allocated memory try setting max_split_size_mb to avoid fragmentation.  See documentation for Memory Management and PYTORCH_CUDA_ALLOC_CONF'
      : 'ZeroDivisionError: integer division or modulo by zero';
  const frames: Array<readonly [string, number, string, string]> = [
    [ctx.inv.scriptPath, 229, '<module>', 'trainer.train(args)'],
    [engineTrainer, 1452, 'train', kind === 'oom' ? 'accelerator.backward(loss)' : 'self.sample_images(accelerator, args, epoch + 1, global_step, accelerator.device, vae, tokenizers, text_encoder, unet)'],
  ];
  process.stderr.write(traceback(frames, last));
  throw new Stop(1);
}

async function train(ctx: RunContext): Promise<void> {
  const c = ctx.config;
  const { plan } = ctx;
  const speed = Number(process.env.KOHYA_DOUBLE_SPEED ?? 500);
  const stepMs = Number.isFinite(speed) && speed > 0 ? 1000 / speed : 2;
  log('import network module: ' + (str(c, 'network_module') ?? 'networks.lora'));
  if (isNetworkTrainer(ctx.inv.script)) log(`create LoRA network. base dim (rank): ${ctx.rank}, alpha: ${pyFloat(ctx.alpha)}`);
  log('prepare optimizer, data loader etc.');
  const optimizer = str(c, 'optimizer_type') ?? '';
  log(`use ${optimizer === '' ? 'AdamW' : optimizer} optimizer | {}`);
  const maxTrainEpochs = num(c, 'max_train_epochs');
  if (maxTrainEpochs !== undefined) log(`override steps. steps for ${maxTrainEpochs} epochs is / 指定エポックまでのステップ数: ${plan.maxTrainSteps}`);
  const trainImages = plan.datasets.reduce((sum, d) => sum + d.trainImagesWithRepeats, 0);
  const regImages = plan.datasets.reduce((sum, d) => sum + d.regImagesWithRepeats, 0);
  log('running training / 学習開始');
  log(`  num train images * repeats / 学習画像の数×繰り返し回数: ${trainImages}`);
  log(`  num validation images * repeats / 学習画像の数×繰り返し回数: 0`);
  log(`  num reg images / 正則化画像の数: ${regImages}`);
  log(`  num batches per epoch / 1epochのバッチ数: ${plan.batchesPerEpoch}`);
  log(`  num epochs / epoch数: ${plan.epochs}`);
  log(`  batch size per device / バッチサイズ: ${ctx.datasets.map((d) => d.batchSize).join(', ')}`);
  log(`  gradient accumulation steps / 勾配を合計するステップ数 = ${num(c, 'gradient_accumulation_steps') ?? 1}`);
  log(`  total optimization steps / 学習ステップ数: ${plan.maxTrainSteps}`);

  const prompts = await loadPrompts(ctx);
  const events = tensorboard(ctx);
  const mixed = str(c, 'mixed_precision') ?? 'no';
  const torchDtype = mixed === 'fp16' ? 'torch.float16' : mixed === 'bf16' ? 'torch.bfloat16' : 'torch.float32';
  if (flag(c, 'sample_at_first') && prompts !== undefined) await sample(ctx, prompts, { step: 0, epoch: 0 });
  log(`unet dtype: ${torchDtype}, device: cuda:0`);
  const progress = new Tqdm(plan.maxTrainSteps, 'steps');
  progress.update(0);

  const unetLr = num(c, 'unet_lr') ?? num(c, 'learning_rate') ?? 2e-6;
  const teLr = num(c, 'text_encoder_lr') ?? num(c, 'learning_rate') ?? 2e-6;
  const saveEveryEpochs = num(c, 'save_every_n_epochs');
  const saveEverySteps = num(c, 'save_every_n_steps');
  const sampleEveryEpochs = num(c, 'sample_every_n_epochs');
  const sampleEverySteps = sampleEveryEpochs === undefined ? num(c, 'sample_every_n_steps') : undefined;
  const saveLastEpochs = num(c, 'save_last_n_epochs');
  const withState = flag(c, 'save_state');
  const random = prng(ctx.seed);
  const recent: number[] = [];
  let lossSum = 0;
  let lossCount = 0;
  let step = 0;
  for (let epoch = 1; epoch <= plan.epochs; epoch++) {
    print('');
    print(`epoch ${epoch}/${plan.epochs}`);
    print('');
    log(`epoch is incremented. current_epoch: ${epoch - 1}, epoch: ${epoch}`);
    let epochLossSum = 0;
    let epochLossCount = 0;
    for (let i = 0; i < plan.stepsPerEpoch && step < plan.maxTrainSteps; i++) {
      await pause(stepMs);
      step++;
      const current = 0.05 + 0.1 * Math.exp(-step / Math.max(1, plan.maxTrainSteps)) + (random() - 0.5) * 0.02;
      recent.push(current);
      if (recent.length > plan.batchesPerEpoch) recent.shift();
      lossSum += current;
      lossCount++;
      epochLossSum += current;
      epochLossCount++;
      const average = epoch === 1 ? lossSum / lossCount : recent.reduce((a, b) => a + b, 0) / recent.length;
      const postfix = { avr_loss: average };
      if (ctx.fail.oomAt === step) await crash(ctx, progress, step, postfix, 'oom');
      if (ctx.fail.crashAt === step) await crash(ctx, progress, step, postfix, 'crash');
      const scalars = [
        { tag: 'loss/current', value: current },
        { tag: 'loss/average', value: average },
        { tag: 'lr/unet', value: unetLr },
      ];
      if (!flag(c, 'network_train_unet_only')) scalars.push({ tag: 'lr/textencoder', value: teLr });
      events?.scalars(step, scalars);
      progress.update(step, postfix);
      if (ctx.fail.hang === 'training') await hang('training');
      if (saveEverySteps !== undefined && saveEverySteps > 0 && step % saveEverySteps === 0 && step < plan.maxTrainSteps) {
        await saveModel(ctx, path.join(ctx.outputDir, `${ctx.outputName}-step${String(step).padStart(8, '0')}.${ctx.saveAs}`), { step, epoch: epoch - 1 });
        if (withState) {
          log(`saving state at step ${step}`);
          await saveState(ctx, path.join(ctx.outputDir, `${ctx.outputName}-step${String(step).padStart(8, '0')}-state`), { step, epoch: epoch - 1 });
        }
      }
      if (prompts !== undefined && sampleEverySteps !== undefined && sampleEverySteps > 0 && step % sampleEverySteps === 0) await sample(ctx, prompts, { step });
    }
    events?.scalars(epoch, [{ tag: 'loss/epoch_average', value: epochLossSum / Math.max(1, epochLossCount) }]);
    if (saveEveryEpochs !== undefined && saveEveryEpochs > 0 && epoch % saveEveryEpochs === 0 && epoch < plan.epochs) {
      const file = path.join(ctx.outputDir, `${ctx.outputName}-${String(epoch).padStart(6, '0')}.${ctx.saveAs}`);
      await saveModel(ctx, file, { step, epoch });
      if (saveLastEpochs !== undefined && saveLastEpochs > 0) {
        const old = epoch - saveEveryEpochs * saveLastEpochs;
        const oldFile = path.join(ctx.outputDir, `${ctx.outputName}-${String(old).padStart(6, '0')}.${ctx.saveAs}`);
        if (old > 0 && existsSync(oldFile)) {
          print(`removing old checkpoint: ${oldFile}`);
          await rm(oldFile, { force: true });
        }
      }
      if (withState) {
        log(`saving state at epoch ${epoch}`);
        await saveState(ctx, path.join(ctx.outputDir, `${ctx.outputName}-${String(epoch).padStart(6, '0')}-state`), { step, epoch });
      }
    }
    if (prompts !== undefined && sampleEveryEpochs !== undefined && sampleEveryEpochs > 0 && epoch % sampleEveryEpochs === 0) await sample(ctx, prompts, { step, epoch });
  }
  if (withState || flag(c, 'save_state_on_train_end')) {
    log('saving last state.');
    await saveState(ctx, path.join(ctx.outputDir, `${ctx.outputName}-state`), { step, epoch: plan.epochs });
  }
  await saveModel(ctx, path.join(ctx.outputDir, `${ctx.outputName}.${ctx.saveAs}`), { step, epoch: plan.epochs });
  log('model saved.');
  progress.close();
}

// ---- main ---------------------------------------------------------------------------------------------

export async function main(argv: readonly string[]): Promise<number> {
  try {
    process.stderr.write(`${KOHYA_DOUBLE_NAME}: ENGINE DOUBLE of kohya-ss/sd-scripts (${KOHYA_ARGS_SOURCE} option catalogue); it trains nothing\n`);
    const fail = failMode(process.env);
    const inv = parseInvocation(argv);
    const config = loadConfig(inv);
    await validateConfig(inv, config);
    const doc = await loadDataset(inv, config);
    const datasets = await prepareDatasets(inv, config, doc, fail);

    // Bucket-step assertion (kohya-sd-scripts.md §1.1), only with enable_bucket.
    for (const d of datasets) {
      const multiple = BUCKET_STEP_MULTIPLE[inv.script];
      if (d.enableBucket && d.bucketResoSteps % multiple !== 0) {
        await pause(CROSS_STREAM_GAP_MS);
        process.stderr.write(traceback([[inv.scriptPath, 1790, '<module>', 'trainer.train(args)']], `AssertionError: bucket_reso_steps is ${d.bucketResoSteps}. it must be divisible by ${multiple}.`));
        throw new Stop(1);
      }
    }
    for (const d of datasets) {
      log(`[Prepare dataset ${d.index}]`);
      log('loading image sizes.');
      const images = d.subsets.reduce((sum, s) => sum + s.images.length, 0);
      const sizes = new Tqdm(images);
      sizes.update(images);
      sizes.close();
      log(d.enableBucket ? 'make buckets' : 'prepare dataset');
    }
    const totalTrain = datasets.reduce((sum, d) => sum + d.subsets.filter((s) => !s.isReg).reduce((n, s) => n + s.images.length * Math.max(0, s.repeats), 0), 0);
    if (totalTrain === 0) {
      log('No data found. Please verify arguments (train_data_dir must be the parent of folders with images) / 画像がありません。引数指定を確認してください（train_data_dirには画像があるフォルダではなく、画像があるフォルダの親フォルダを指定する必要があります）');
      return 0;
    }
    const stepsDatasets: StepsDataset[] = datasets.map((d) => ({
      bucketing: { resolution: d.resolution, enableBucket: d.enableBucket, minBucketReso: d.minBucketReso, maxBucketReso: d.maxBucketReso, bucketResoSteps: d.bucketResoSteps, bucketNoUpscale: d.bucketNoUpscale },
      batchSize: d.batchSize,
      subsets: d.subsets.map((s) => ({ name: path.basename(s.imageDir), images: s.images.map(({ image, width, height }) => ({ image, width, height })), repeats: s.repeats, isReg: s.isReg })),
    }));
    const maxTrainEpochs = num(config, 'max_train_epochs');
    const maxTrainSteps = num(config, 'max_train_steps');
    const plan = countSteps({
      datasets: stepsDatasets,
      training: {
        gradientAccumulationSteps: num(config, 'gradient_accumulation_steps') ?? 1,
        numProcesses: inv.numProcesses,
        ...(maxTrainEpochs === undefined ? {} : { maxTrainEpochs }),
        ...(maxTrainSteps === undefined ? {} : { maxTrainSteps }),
      },
    });
    for (const [i, d] of plan.datasets.entries()) {
      log('number of images (including repeats) / 各bucketの画像枚数（繰り返し回数を含む）');
      for (const [b, bucket] of d.buckets.entries()) log(`bucket ${b}: resolution (${bucket.width}, ${bucket.height}), count: ${bucket.count}`);
      if (datasets[i]?.enableBucket) log('mean ar error (without repeats): 0.0');
    }
    log('preparing accelerator');
    log('accelerator device: cuda');
    if (fail.hang === 'startup') await hang('startup');

    const family = familyOf(inv.script, flag(config, 'v2'));
    const outputDir = str(config, 'output_dir');
    if (outputDir === undefined) {
      note('the config has no output_dir (the adapter always writes one)');
      process.stderr.write(traceback([[inv.scriptPath, 1790, '<module>', 'trainer.train(args)']], "TypeError: expected str, bytes or os.PathLike object, not NoneType"));
      return 1;
    }
    await mkdir(outputDir, { recursive: true });
    const seedValue = num(config, 'seed');
    const ctx: RunContext = {
      inv,
      config,
      family,
      datasets,
      plan,
      outputDir,
      outputName: str(config, 'output_name') ?? 'last',
      saveAs: str(config, 'save_model_as') ?? 'safetensors',
      dtype: saveDtype(str(config, 'save_precision'), str(config, 'mixed_precision')),
      rank: num(config, 'network_dim') ?? 4,
      alpha: num(config, 'network_alpha') ?? 1,
      trainTextEncoder: !flag(config, 'network_train_unet_only') && !flag(config, 'cache_text_encoder_outputs') && !flag(config, 'cache_text_encoder_outputs_to_disk'),
      seed: seedValue ?? Math.floor(Math.random() * 2 ** 32),
      sessionId: Math.floor(Math.random() * 2 ** 31),
      startedAt: Date.now() / 1000,
      fail,
    };
    if (ctx.saveAs !== 'safetensors') note(`save_model_as=${ctx.saveAs}: the double writes safetensors bytes under that extension`);
    await cacheFiles(ctx);
    await train(ctx);
    return 0;
  } catch (error) {
    if (error instanceof Stop) return error.exitCode;
    process.stderr.write(traceback([[KOHYA_DOUBLE_PATH, 0, 'main', 'kohya-double internal error']], `RuntimeError: ${KOHYA_DOUBLE_NAME} internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`));
    return 1;
  }
}

/** Run as the process: exit with main's status (a hang never returns). */
export function runAsMain(argv: readonly string[]): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${KOHYA_DOUBLE_NAME}: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === KOHYA_DOUBLE_PATH) runAsMain(process.argv.slice(2));
