/**
 * sd-scripts' console output → engine events (kohya-sd-scripts.md §5).
 *
 * The adapter launches with `--console_log_simple`, so logger lines are plain `<message>` lines on stdout
 * and tqdm's bar is on stderr as `\r` frames; lines logged before `train()` re-initialises logging, and all
 * output of older or wrapped setups (the reference's log excerpts), carry Rich's `<time> LEVEL message
 * file.py:N` columns, which are stripped here. Matching is on message text, never on a level column.
 *
 * One parser per run: it remembers what it saw (the phase, `model saved.`, "No data found", errors), because
 * success is `model saved.` plus the output file and a clean exit, not the exit code alone (§5.5).
 */
import path from 'node:path';
import { redactString } from '../../../core/redact.ts';
import { LineSplitter } from './line-splitter.ts';

export type KohyaPhase = 'startup' | 'caching' | 'training';

export interface KohyaProgressEvent {
  kind: 'progress';
  /** `training` for the `steps:` bar, `validation` for the validation bars, `caching` / `other` for bars without a label. */
  bar: 'training' | 'validation' | 'caching' | 'other';
  step: number;
  total: number;
  percent: number;
  elapsedS?: number;
  /** tqdm's ETA; absent while tqdm shows `?`. */
  remainingS?: number;
  /** Speed both ways; absent while tqdm shows `?it/s`. */
  itPerSec?: number;
  secPerIt?: number;
  /** `avr_loss` (or the old `loss`) when finite. */
  loss?: number;
  /** Every postfix pair as printed (`avr_loss` → `0.0912`, `nan` stays `nan`). */
  postfix: Record<string, string>;
}

export type KohyaEvent =
  | KohyaProgressEvent
  | { kind: 'phase'; phase: KohyaPhase }
  | { kind: 'summary'; totalSteps?: number; epochs?: number; batchesPerEpoch?: number; trainImages?: number; regImages?: number }
  | { kind: 'epoch'; epoch: number; total: number }
  | { kind: 'checkpoint'; path: string; final: boolean }
  | { kind: 'checkpoint-removed'; path: string }
  | { kind: 'state-saving'; at: 'epoch' | 'step' | 'last'; number?: number }
  | { kind: 'model-saved' }
  | { kind: 'sample'; step: number }
  | { kind: 'warning'; code: string; message: string }
  | { kind: 'error'; code: string; message: string; hint: string; fatal: boolean };

export type KohyaErrorEvent = Extract<KohyaEvent, { kind: 'error' }>;

export interface KohyaLine {
  text: string;
  stream?: 'stdout' | 'stderr';
}

export interface KohyaOutcome {
  ok: boolean;
  /** `succeeded`, or the reason: an error code (`cuda-oom`, `no-data`, …), `no-model-saved`, `output-missing`, `exit-N`, `killed`. */
  code: string;
  message: string;
  hint?: string;
}

export interface KohyaExit {
  code: number | null;
  signal?: string | null;
  /** Whether the final `<output_dir>/<output_name>.<ext>` exists (checked by the caller); absent when unknown. */
  outputExists?: boolean;
}

export interface KohyaParserOptions {
  /** `output_name` of the run, to tell the final `saving checkpoint:` from the periodic ones. */
  outputName?: string;
}

// ---- line normalisation ----------------------------------------------------------------------------

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
/** fluxgym's wrapper prefix in the L4 excerpt: `[2024-10-21 11:16:10] [INFO] `. */
const WRAPPER_PREFIX = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] \[[A-Z]+\] /;
/** Rich: optional time, level padded to 8, message, optional `file.py:N` column far right. */
const RICH = /^\s*(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+)?(DEBUG|INFO|WARNING|ERROR|CRITICAL) {1,8}(\S.*?)(?:\s{2,}[\w.-]+\.py:\d+)?\s*$/;

interface Normalised {
  message: string;
  level?: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';
}

function normalise(raw: string): Normalised {
  let text = raw.replace(ANSI, '').replace(WRAPPER_PREFIX, '');
  const rich = RICH.exec(text);
  if (rich !== null) return { message: (rich[2] ?? '').trimEnd(), level: rich[1] as Normalised['level'] };
  text = text.trimEnd();
  return { message: text };
}

// ---- progress ------------------------------------------------------------------------------------

const PROGRESS =
  /^\s*(?:(?<desc>[A-Za-z][\w ]*?):\s+)?(?<pct>\d+)%(?:\|[^|]*\|)?\s*(?<n>\d+)\/(?<total>\d+) \[(?<elapsed>[\d:]+)<(?<remain>[\d:?]+),\s*(?<rate>[\d.?]+)(?<unit>it\/s|s\/it)(?:,\s*(?<postfix>[^\]]*))?\]/;
const POSTFIX_PAIR = /([^=,]+?)=([^,]+)(?:,\s*|$)/g;

function seconds(clock: string | undefined): number | undefined {
  if (clock === undefined || !/^\d+(?::\d+){1,2}$/.test(clock)) return undefined;
  return clock.split(':').reduce((total, part) => total * 60 + Number(part), 0);
}

function finite(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}

// ---- signatures ----------------------------------------------------------------------------------

const RE = {
  epoch: /^epoch (\d+)\/(\d+)$/,
  checkpoint: /^saving checkpoint: (.+)$/,
  removed: /^removing old checkpoint: (.+)$/,
  stateAt: /^saving state at (epoch|step) (\d+)$/,
  stateLast: /^saving last state\.$/,
  modelSaved: /^model saved\.$/,
  sample: /^generating sample images at step \/ サンプル画像生成 ステップ: (\d+)$/,
  running: /^running training \/ 学習開始$/,
  caching: /^caching (?:latents|text encoder outputs)\b/i,
  totalSteps: /total optimization steps \/ 学習ステップ数: (\d+)/,
  epochs: /num epochs \/ epoch数: (\d+)/,
  batches: /num batches per epoch \/ 1epochのバッチ数: (\d+)/,
  trainImages: /num train images \* repeats \/ 学習画像の数×繰り返し回数: (\d+)/,
  regImages: /num reg images \/ 正則化画像の数: (\d+)/,
  noData: /^No data found\. Please verify arguments/,
  oom: /CUDA out of memory|OutOfMemoryError/,
  missingModule: /^(?:\w+\.)*ModuleNotFoundError: No module named '([^']+)'/,
  invalidUserConfig: /^Invalid user config \//,
  invalidCmdline: /^Invalid cmdline parsed arguments\./,
  voluptuous: /^voluptuous\.error\.(?:MultipleInvalid|Invalid): (.*)$/,
  configMissing: /^(\S.*\.toml) not found\.$/,
  argparse: /^[\w./-]+\.py: error: (.*)$/,
  scriptMissing: /can't open file '([^']+)': \[Errno 2\] No such file or directory/,
  sigkill: /died with <Signals\.SIGKILL: 9>/,
  calledProcess: /^subprocess\.CalledProcessError: Command .* returned non-zero exit status (-?\d+)\.?$/,
  traceback: /^Traceback \(most recent call last\):$/,
  exception: /^((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Invalid|Interrupt)): ?(.*)$/,
  resumeState: /Tried to find (.+?)\/model\.safetensors but folder does not/,
  offline: /outgoing traffic has been disabled|We couldn't connect to 'https:\/\/huggingface\.co'|Can't load tokenizer for|HF_HUB_OFFLINE|LocalEntryNotFoundError/,
  noCuda: /Torch not compiled with CUDA enabled|No CUDA GPUs are available|CUDA driver version is insufficient|no kernel image is available/,
  pythonWarning: /^\S+\.py:\d+: (\w*Warning): (.*)$/,
};

/** Warnings sd-scripts logs without a level column in simple mode (§5.5), by message text. */
const KNOWN_WARNINGS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^neither caption file nor class tokens are found/, 'caption-missing'],
  [/^No caption file found for \d+ images/, 'caption-missing'],
  [/^learning rate is too low/, 'learning-rate-low'],
  [/^No prompt file \//, 'sample-prompts-missing'],
  [/^(?:min|max)_bucket_reso is adjusted/, 'bucket-reso-adjusted'],
  [/^ignoring the following options because config file is found/, 'options-ignored'],
  [/^NaN found in latents/, 'nan-latents'],
];

const HINTS: Readonly<Record<string, string>> = {
  'cuda-oom':
    'The GPU ran out of memory. Lower the batch size or resolution, turn on gradient checkpointing, cache latents (and text-encoder outputs), use an 8-bit optimizer, fp8 base weights or block swapping for large models, or train on a GPU with more memory.',
  'missing-module': 'A Python package the run needs is not installed in the engine\'s environment. Reinstall the engine (lorasmith engine install) or pick an option that does not need it.',
  'nan-loss':
    'The loss became NaN: training diverged. Lower the learning rate, prefer bf16 to fp16 mixed precision (or turn off full_fp16), check min_snr_gamma / noise offset settings, and resume from the last good checkpoint.',
  'no-data':
    'sd-scripts found no images in the run\'s dataset folders. Check that the dataset has images with a supported extension (.png .jpg .jpeg .webp .bmp, all lower- or all upper-case), that num_repeats is at least 1, and that the run\'s image links were created.',
  'dataset-config-invalid': 'sd-scripts rejected the dataset config. This is a bug in lorasmith\'s dataset writer; please report it with the run config.',
  'config-type-invalid': 'sd-scripts rejected the type of a dataset option in the training config. This is a bug in lorasmith\'s config writer; please report it with the run config.',
  'config-missing': 'The training config file was not found where the run expected it. Start the run again; if it persists, report it.',
  'bad-arguments': 'sd-scripts did not accept its command line. The engine version may not match lorasmith\'s option catalogue: run lorasmith engine detect.',
  'script-missing': 'The trainer script is missing from the engine folder. Reinstall the engine (lorasmith engine install).',
  killed: 'The process was killed by the system, usually because the machine ran out of RAM. Lower max_data_loader_n_workers, turn on lowram or cache latents to disk, or close other programs.',
  'worker-failed': 'A training worker process failed; its own error is above in the log.',
  'resume-invalid': 'Resume needs a state folder (<name>-<epoch>-state), not a .safetensors file. Pick a saved state, or turn on save_state for future runs.',
  'engine-cache-missing':
    'The run has no network access, and a tokenizer or model file the engine loads at start is missing from the engine cache. Run lorasmith engine install (or engine detect) to fill the cache.',
  'cuda-unavailable': 'PyTorch cannot use the GPU: check the NVIDIA driver, that the engine\'s torch build matches it, and that the GPU is visible to the run.',
  assertion: 'sd-scripts refused the settings. Change the option named in the message.',
  crash: 'sd-scripts stopped with an error. The log above shows where; if the settings look right, report it with the log.',
};

const ASSERTION_HINTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/bucket_reso_steps is \d+\. it must be divisible by (\d+)/, 'Set bucket_reso_steps to a multiple of $1; 64 works for every model family.'],
  [/full_bf16 requires mixed precision='bf16'|full_fp16 requires mixed precision='fp16'/, 'Set mixed_precision to match full_bf16 / full_fp16, or turn the full-precision option off.'],
  [/when caching latents, either color_aug or random_crop cannot be used/, 'Turn off color_aug and random_crop, or stop caching latents.'],
  [/min_bucket_reso must be equal or less than resolution/, 'Lower min_bucket_reso to at most the resolution\'s smaller side.'],
  [/max_bucket_reso must be equal or greater than resolution/, 'Raise max_bucket_reso to at least the resolution\'s larger side.'],
  [/when caching [Tt]ext [Ee]ncoder output/, 'Turn off shuffle_caption, caption dropout and token warmup, or stop caching text-encoder outputs.'],
];

/** The English half of a bilingual message (`English / 日本語`). */
function english(message: string): string {
  const cjk = /[\u3000-\u9fff\uff00-\uffef]/;
  for (let at = message.indexOf(' / '); at > 0; at = message.indexOf(' / ', at + 3)) {
    const before = message.slice(0, at);
    if (cjk.test(before)) break;
    if (cjk.test(message.slice(at + 3))) return before.trim();
  }
  return message.trim();
}

export interface KohyaParserState {
  phase: KohyaPhase;
  modelSaved: boolean;
  noData: boolean;
  lastStep?: number;
  totalSteps?: number;
  epoch?: number;
  epochs?: number;
  errors: KohyaErrorEvent[];
}

export class KohyaOutputParser {
  private readonly outputName: string | undefined;
  private phase: KohyaPhase = 'startup';
  private modelSaved = false;
  private noData = false;
  private inTraceback = false;
  private pendingConfigError: 'dataset-config-invalid' | 'config-type-invalid' | undefined;
  private readonly emitted = new Set<string>();
  private readonly errors: KohyaErrorEvent[] = [];
  private summary: Extract<KohyaEvent, { kind: 'summary' }> = { kind: 'summary' };
  private lastFrame = '';
  private lastStep: number | undefined;
  private epoch: number | undefined;
  private epochs: number | undefined;

  constructor(options: KohyaParserOptions = {}) {
    this.outputName = options.outputName;
  }

  get state(): KohyaParserState {
    return {
      phase: this.phase,
      modelSaved: this.modelSaved,
      noData: this.noData,
      ...(this.lastStep === undefined ? {} : { lastStep: this.lastStep }),
      ...(this.summary.totalSteps === undefined ? {} : { totalSteps: this.summary.totalSteps }),
      ...(this.epoch === undefined ? {} : { epoch: this.epoch }),
      ...(this.epochs === undefined ? {} : { epochs: this.epochs }),
      errors: [...this.errors],
    };
  }

  /** Events for one line (as the splitter gives it, without its terminator). */
  parse(line: KohyaLine | string): KohyaEvent[] {
    const raw = typeof line === 'string' ? line : line.text;
    const out: KohyaEvent[] = [];
    this.parseText(raw, out, 0);
    return out;
  }

  /** The run's verdict once the process is gone (DESIGN §4: `model saved.` plus the output file). */
  finish(exit: KohyaExit): { events: KohyaEvent[]; outcome: KohyaOutcome } {
    const events: KohyaEvent[] = [];
    if (this.pendingConfigError !== undefined) {
      this.error(events, this.pendingConfigError, this.pendingConfigError === 'dataset-config-invalid' ? 'sd-scripts rejected the dataset config.' : 'sd-scripts rejected a dataset option in the training config.', true);
      this.pendingConfigError = undefined;
    }
    const killed = exit.signal === 'SIGKILL' || exit.code === 137 || exit.code === -9;
    const fatal = this.errors.find((error) => error.fatal);
    let outcome: KohyaOutcome;
    if (exit.code === 0 && this.modelSaved && fatal === undefined && exit.outputExists !== false) {
      outcome = { ok: true, code: 'succeeded', message: 'Training finished and the model was saved.' };
    } else if (fatal !== undefined) {
      outcome = { ok: false, code: fatal.code, message: fatal.message, hint: fatal.hint };
    } else if (killed) {
      outcome = { ok: false, code: 'killed', message: 'The training process was killed (SIGKILL).', hint: HINTS.killed ?? '' };
    } else if (exit.code === 0 && this.modelSaved) {
      outcome = { ok: false, code: 'output-missing', message: 'sd-scripts said "model saved." but the output file is missing.', hint: 'Check free disk space in the run folder and the output name; report it if space was free.' };
    } else if (exit.code === 0) {
      outcome = {
        ok: false,
        code: 'no-model-saved',
        message: 'sd-scripts exited without saving a model (no "model saved." line).',
        hint: 'The log shows where it stopped; a run that exits cleanly without training usually has no usable data or a settings problem.',
      };
    } else if (exit.signal) {
      outcome = { ok: false, code: 'signal', message: `The training process ended on ${exit.signal}.`, hint: 'A stopped run keeps only its last save; resume from it if state was saved.' };
    } else {
      outcome = { ok: false, code: `exit-${exit.code ?? 'unknown'}`, message: `sd-scripts exited with status ${exit.code ?? 'unknown'}.`, hint: HINTS.crash ?? '' };
    }
    return { events, outcome };
  }

  private parseText(raw: string, out: KohyaEvent[], depth: number): void {
    if (raw.length === 0) return;
    const { message, level } = normalise(raw);
    if (message.length === 0) return;

    const bar = PROGRESS.exec(message);
    if (bar !== null) {
      this.progress(bar, message, out);
      // A log line glued to a bar frame (`…?it/s]2024-08-16 10:58:26 INFO …`, `…]Traceback …`).
      const rest = message.slice(bar[0].length);
      if (rest.trim().length > 0 && depth < 4) this.parseText(rest, out, depth + 1);
      return;
    }

    if (this.inTraceback) {
      if (/^\s/.test(message) || message === '...' || /^During handling|^The above exception/.test(message) || RE.traceback.test(message)) {
        if (RE.oom.test(message)) this.error(out, 'cuda-oom', english(message), true);
        return;
      }
      this.inTraceback = false;
    }
    if (RE.traceback.test(message)) {
      this.inTraceback = true;
      return;
    }

    let m: RegExpExecArray | null;
    if ((m = RE.epoch.exec(message)) !== null) {
      this.setPhase('training', out);
      this.epoch = Number(m[1]);
      this.epochs = Number(m[2]);
      out.push({ kind: 'epoch', epoch: this.epoch, total: this.epochs });
      return;
    }
    if ((m = RE.checkpoint.exec(message)) !== null) {
      const file = (m[1] ?? '').trim();
      const stem = path.basename(file).replace(/\.(safetensors|ckpt|pt)$/, '');
      out.push({ kind: 'checkpoint', path: file, final: this.outputName !== undefined ? stem === this.outputName : !/-(\d{6}|step\d{8})$/.test(stem) });
      return;
    }
    if ((m = RE.removed.exec(message)) !== null) {
      out.push({ kind: 'checkpoint-removed', path: (m[1] ?? '').trim() });
      return;
    }
    if ((m = RE.stateAt.exec(message)) !== null) {
      out.push({ kind: 'state-saving', at: m[1] === 'epoch' ? 'epoch' : 'step', number: Number(m[2]) });
      return;
    }
    if (RE.stateLast.test(message)) {
      out.push({ kind: 'state-saving', at: 'last' });
      return;
    }
    if (RE.modelSaved.test(message)) {
      this.modelSaved = true;
      out.push({ kind: 'model-saved' });
      return;
    }
    if ((m = RE.sample.exec(message)) !== null) {
      out.push({ kind: 'sample', step: Number(m[1]) });
      return;
    }
    if (RE.running.test(message)) {
      this.setPhase('training', out);
      return;
    }
    if (RE.caching.test(message)) {
      if (this.phase === 'startup') this.setPhase('caching', out);
      return;
    }
    if (this.summaryLine(message, out)) return;

    if (RE.noData.test(message)) {
      this.noData = true;
      this.error(out, 'no-data', 'sd-scripts found no training images ("No data found").', true);
      return;
    }
    if (RE.invalidUserConfig.test(message)) {
      this.pendingConfigError = 'dataset-config-invalid';
      return;
    }
    if (RE.invalidCmdline.test(message)) {
      this.pendingConfigError = 'config-type-invalid';
      return;
    }
    if ((m = RE.voluptuous.exec(message)) !== null) {
      const code = this.pendingConfigError ?? 'dataset-config-invalid';
      this.pendingConfigError = undefined;
      this.error(out, code, `sd-scripts rejected the ${code === 'dataset-config-invalid' ? 'dataset config' : 'training config'}: ${m[1] ?? ''}`, true);
      return;
    }
    if (RE.oom.test(message)) {
      this.error(out, 'cuda-oom', `The GPU ran out of memory: ${english(message.replace(/^.*?(CUDA out of memory)/, '$1'))}`, true);
      return;
    }
    if ((m = RE.missingModule.exec(message)) !== null) {
      const name = m[1] ?? '';
      const extra = name.startsWith('lycoris') ? ' (LoHa/LoKr/DoRA need the lycoris_lora package pinned by the engine install)' : '';
      this.error(out, 'missing-module', `The engine is missing the Python module "${name}"${extra}.`, true);
      return;
    }
    if ((m = RE.configMissing.exec(message)) !== null) {
      this.error(out, 'config-missing', `sd-scripts did not find its config file ${m[1] ?? ''}.`, true);
      return;
    }
    if ((m = RE.argparse.exec(message)) !== null) {
      this.error(out, 'bad-arguments', `sd-scripts refused its arguments: ${m[1] ?? ''}`, true);
      return;
    }
    if ((m = RE.scriptMissing.exec(message)) !== null) {
      this.error(out, 'script-missing', `The trainer script ${m[1] ?? ''} does not exist.`, true);
      return;
    }
    if (RE.sigkill.test(message)) {
      this.error(out, 'killed', 'A training process was killed by the system (SIGKILL), usually for lack of RAM.', true);
      return;
    }
    if ((m = RE.calledProcess.exec(message)) !== null) {
      this.error(out, 'worker-failed', `A training worker exited with status ${m[1] ?? '?'}.`, true);
      return;
    }
    if ((m = RE.resumeState.exec(message)) !== null) {
      this.error(out, 'resume-invalid', `Resume did not find a saved state in ${m[1] ?? ''}.`, true);
      return;
    }
    if (RE.noCuda.test(message)) {
      this.error(out, 'cuda-unavailable', `PyTorch cannot use the GPU: ${english(message)}`, true);
      return;
    }
    if (RE.offline.test(message)) {
      this.error(out, 'engine-cache-missing', `A file the engine loads at start is not in its cache: ${english(message)}`, true);
      return;
    }
    if ((m = RE.exception.exec(message)) !== null) {
      const [, name = '', text = ''] = m;
      if (name.endsWith('AssertionError')) {
        const hint = ASSERTION_HINTS.find(([pattern]) => pattern.test(text));
        this.error(out, 'assertion', `sd-scripts refused the settings: ${english(text)}`, true, hint === undefined ? undefined : resolveHint(hint, text));
        return;
      }
      this.error(out, 'crash', `sd-scripts stopped with ${name.split('.').pop() ?? name}: ${english(text)}`.trim(), true);
      return;
    }
    if ((m = RE.pythonWarning.exec(message)) !== null) {
      this.warning(out, 'python-warning', `${m[1] ?? 'Warning'}: ${m[2] ?? ''}`);
      return;
    }
    for (const [pattern, code] of KNOWN_WARNINGS) {
      if (pattern.test(message)) {
        this.warning(out, code, english(message));
        return;
      }
    }
    if (level === 'WARNING') this.warning(out, 'engine-warning', english(message));
    else if (level === 'ERROR' || level === 'CRITICAL') this.error(out, 'engine-error', english(message), false);
  }

  private progress(bar: RegExpExecArray, frame: string, out: KohyaEvent[]): void {
    if (frame === this.lastFrame) return;
    this.lastFrame = frame;
    const g = bar.groups ?? {};
    const desc = g.desc?.trim();
    const kind: KohyaProgressEvent['bar'] =
      desc === 'steps' ? 'training' : desc === 'validation steps' || desc === 'epoch validation steps' ? 'validation' : desc === undefined && this.phase === 'caching' ? 'caching' : 'other';
    const postfix: Record<string, string> = {};
    for (const pair of (g.postfix ?? '').matchAll(POSTFIX_PAIR)) postfix[(pair[1] ?? '').trim()] = (pair[2] ?? '').trim();
    const rate = finite(g.rate);
    const event: KohyaProgressEvent = {
      kind: 'progress',
      bar: kind,
      step: Number(g.n),
      total: Number(g.total),
      percent: Number(g.pct),
      postfix,
    };
    const elapsed = seconds(g.elapsed);
    if (elapsed !== undefined) event.elapsedS = elapsed;
    const remaining = seconds(g.remain);
    if (remaining !== undefined) event.remainingS = remaining;
    if (rate !== undefined && rate > 0) {
      event.itPerSec = g.unit === 'it/s' ? rate : 1 / rate;
      event.secPerIt = g.unit === 's/it' ? rate : 1 / rate;
    }
    const lossText = postfix.avr_loss ?? postfix.loss;
    const loss = finite(lossText);
    if (loss !== undefined) event.loss = loss;
    if (kind === 'training') {
      this.setPhase('training', out);
      this.lastStep = event.step;
      if (lossText !== undefined && /^[-+]?(nan|inf)$/i.test(lossText.trim())) {
        this.error(out, 'nan-loss', `The training loss is ${lossText.trim()} at step ${event.step}: training diverged.`, false);
      }
    }
    out.push(event);
  }

  private summaryLine(message: string, out: KohyaEvent[]): boolean {
    let m: RegExpExecArray | null;
    if ((m = RE.trainImages.exec(message)) !== null) this.summary.trainImages = Number(m[1]);
    else if ((m = RE.regImages.exec(message)) !== null) this.summary.regImages = Number(m[1]);
    else if ((m = RE.batches.exec(message)) !== null) this.summary.batchesPerEpoch = Number(m[1]);
    else if ((m = RE.epochs.exec(message)) !== null) {
      this.summary.epochs = Number(m[1]);
      this.epochs = this.summary.epochs;
    } else if ((m = RE.totalSteps.exec(message)) !== null) {
      this.summary.totalSteps = Number(m[1]);
      out.push({ ...this.summary });
    } else return false;
    return true;
  }

  private setPhase(phase: KohyaPhase, out: KohyaEvent[]): void {
    if (this.phase === phase) return;
    this.phase = phase;
    out.push({ kind: 'phase', phase });
  }

  private error(out: KohyaEvent[], code: string, message: string, fatal: boolean, hint?: string): void {
    if (this.emitted.has(`error:${code}`)) return;
    this.emitted.add(`error:${code}`);
    const event: KohyaErrorEvent = { kind: 'error', code, message: redactString(message), hint: hint ?? HINTS[code] ?? HINTS.crash ?? '', fatal };
    this.errors.push(event);
    out.push(event);
  }

  private warning(out: KohyaEvent[], code: string, message: string): void {
    const key = `warning:${code}:${message}`;
    if (this.emitted.has(key)) return;
    this.emitted.add(key);
    out.push({ kind: 'warning', code, message: redactString(message) });
  }
}

function resolveHint(hint: readonly [RegExp, string], text: string): string {
  const match = hint[0].exec(text);
  return match === null ? hint[1] : hint[1].replace(/\$(\d)/g, (_all, index: string) => match[Number(index)] ?? '');
}

/** Split a whole captured output (tests, replays of a log file) and parse every line. */
export function parseKohyaOutput(text: string, options: KohyaParserOptions = {}): { events: KohyaEvent[]; parser: KohyaOutputParser } {
  const parser = new KohyaOutputParser(options);
  const splitter = new LineSplitter();
  const events: KohyaEvent[] = [];
  for (const line of [...splitter.push(text), ...splitter.end()]) events.push(...parser.parse(line.text));
  return { events, parser };
}
