/**
 * FluxFlow's console output in pipeline mode → engine events (fluxflow.md §1.3, §1.7, §6).
 *
 * FluxFlow prints no overall progress or ETA in pipeline mode, only `[elapsed] Step <name> (k/K) | Epoch e/n |
 * Batch i/N | <losses> | 0.52s/batch` every `log_interval` batches (Epoch 1-based, Batch 0-based). Progress is
 * computed here: batches done across all steps of the pipeline against the planned batches (each step's epochs
 * × its batches per epoch, capped by `max_steps`; steps not started yet are estimated from the batches per
 * epoch seen so far), and the ETA from the measured time per batch. Saves are invisible on stdout (Python
 * logging is never configured), so a checkpoint event is emitted at each epoch end — where FluxFlow always
 * saves — and the final one at `PIPELINE TRAINING COMPLETE`.
 *
 * The verdict: success is exit 0, the completion banner and the output file. Exit 2 is argparse refusing the
 * command line, i.e. the run never started; any other failure names the last Python exception (pipeline mode
 * catches nothing: one bad batch ends the run with exit 1).
 */
import type { EngineEvent, EngineExit, EngineOutcome, EngineOutputParser } from '../engine.ts';

export interface FluxflowParserStep {
  name: string;
  nEpochs: number;
  maxSteps?: number;
}

export interface FluxflowParserOptions {
  steps: readonly FluxflowParserStep[];
  /** The final checkpoint's path, reported with the checkpoint events. */
  outputFile: string;
}

const RE = {
  progress: /^\[(\d+):(\d{2}):(\d{2})\.(\d{3})\] Step (.+) \((\d+)\/(\d+)\) \| Epoch (\d+)\/(\d+) \| Batch (\d+)\/(\d+)((?: \| [^|]+)*)$/,
  stepStart: /^PIPELINE STEP (\d+)\/(\d+): (.+)$/,
  epochHeader: /^Step (.+) \((\d+)\/(\d+)\), Epoch (\d+)\/(\d+)/,
  epochDone: /^Epoch (\d+) completed in /,
  transition: /^Transition criteria met: (.*)$/,
  complete: /^(?:PIPELINE TRAINING COMPLETE|Pipeline training complete!)/,
  plan: /^PIPELINE EXECUTION PLAN/,
  scanning: /^Scanning image dimensions/,
  fallbackMetric: /^FALLBACK_METRIC: /,
  argparse: /^(?:usage: )?fluxflow-train: error: (.*)$/,
  traceback: /^Traceback \(most recent call last\):$/,
  exception: /^((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Interrupt|Warning)): ?(.*)$/,
  oom: /CUDA out of memory|OutOfMemoryError/,
  missingModule: /^(?:\w+\.)*ModuleNotFoundError: No module named '([^']+)'/,
  offline: /We couldn't connect to 'https:\/\/huggingface\.co'|LocalEntryNotFoundError|outgoing traffic has been disabled|Can't load tokenizer for|Temporary failure in name resolution|Failed to establish a new connection/,
  noCuda: /Torch not compiled with CUDA enabled|No CUDA GPUs are available|CUDA driver version is insufficient|no kernel image is available/,
  captions: /^ValueError: (?:captions_file is required|not enough values to unpack|too many values to unpack)/,
};

const HINTS: Readonly<Record<string, string>> = {
  'cuda-oom': 'The GPU ran out of memory. Lower training.batchSize or data.imgSize, turn on training.useFp16 and model.useGradientCheckpointing, turn off useEma, or use smaller model dims.',
  'failed-to-start': 'fluxflow-train refused its command line, so the run never started. The installed FluxFlow may not match lorasmith: run lorasmith engine detect.',
  'engine-cache-missing': 'Runs have no network, and a file the trainer loads at start (the DistilBERT tokenizer or weights) is not in the engine cache. Run lorasmith engine install fluxflow.',
  'missing-module': 'A Python package FluxFlow needs is not installed in its environment. Reinstall the engine (lorasmith engine install fluxflow).',
  'cuda-unavailable': 'PyTorch cannot use the GPU: check the NVIDIA driver and that the engine\'s torch build matches it.',
  'captions-invalid': 'FluxFlow could not read the captions file. This is a bug in lorasmith\'s captions writer; report it with the run config.',
  crash: 'FluxFlow stopped with an error (pipeline mode ends the run on any failed batch). The log shows the traceback; resume from the last save once the cause is fixed.',
  killed: 'The process was killed by the system, usually for lack of RAM. Lower training.workers or training.batchSize, or close other programs.',
};

interface StepProgress {
  /** Batches per epoch, as printed (`Batch i/N`), capped by max_steps. */
  perEpoch?: number;
  /** Batches done in this step, at the last line seen. */
  done: number;
  finished: boolean;
}

/** `HHHH:MM:SS.mmm` → seconds. */
function elapsedSeconds(match: RegExpExecArray): number {
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) + Number(match[4]) / 1000;
}

function segments(rest: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of rest.split(' | ')) {
    const pair = /^([A-Za-z]+): (\S+)$/.exec(part.trim());
    if (pair !== null) out.set(pair[1] ?? '', pair[2] ?? '');
    const speed = /^([\d.]+)s\/batch$/.exec(part.trim());
    if (speed !== null) out.set('s/batch', speed[1] ?? '');
  }
  return out;
}

function finite(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** How much the newest time-per-batch measurement moves the estimate. */
const SMOOTHING = 0.3;

export class FluxflowOutputParser implements EngineOutputParser {
  private readonly steps: readonly FluxflowParserStep[];
  private readonly outputFile: string;
  private readonly progress: StepProgress[];
  private current = 0;
  private phase = 'startup';
  private completed = false;
  private refusedArgs: string | undefined;
  private inTraceback = false;
  private lastException: string | undefined;
  private readonly errors: Array<Extract<EngineEvent, { kind: 'error' }>> = [];
  private fallbackWarned = false;
  private secPerBatch: number | undefined;
  private last: { step: number; done: number; elapsed: number } | undefined;

  constructor(options: FluxflowParserOptions) {
    this.steps = options.steps;
    this.outputFile = options.outputFile;
    this.progress = options.steps.map(() => ({ done: 0, finished: false }));
  }

  parse(line: string): EngineEvent[] {
    const text = line.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\r/g, '').trimEnd();
    const out: EngineEvent[] = [];
    if (text.trim() === '') return out;

    if (this.inTraceback) {
      if (/^\s/.test(text) || /^During handling|^The above exception/.test(text)) return out;
      this.inTraceback = false;
    }
    let m: RegExpExecArray | null;
    if ((m = RE.progress.exec(text)) !== null) {
      this.onProgress(m, out);
      return out;
    }
    if ((m = RE.stepStart.exec(text)) !== null) {
      this.startStep(Number(m[1]) - 1);
      this.enter('training', out);
      return out;
    }
    if ((m = RE.epochHeader.exec(text)) !== null) {
      this.startStep(Number(m[2]) - 1);
      this.enter('training', out);
      out.push({ kind: 'epoch', epoch: this.epochsBefore(this.current) + Number(m[4]), total: this.totalEpochs() });
      return out;
    }
    if ((m = RE.epochDone.exec(text)) !== null) {
      const step = this.progress[this.current];
      const perEpoch = step?.perEpoch;
      if (step !== undefined && perEpoch !== undefined) step.done = Math.max(step.done, Number(m[1]) * perEpoch);
      out.push({ kind: 'checkpoint', path: this.outputFile, final: false });
      return out;
    }
    if (RE.transition.test(text)) {
      // The step ends early: what it did is all it will do.
      const step = this.progress[this.current];
      if (step !== undefined) step.finished = true;
      return out;
    }
    if (RE.complete.test(text)) {
      if (!this.completed) out.push({ kind: 'checkpoint', path: this.outputFile, final: true });
      this.completed = true;
      return out;
    }
    if (RE.scanning.test(text)) {
      if (this.phase === 'startup') this.enter('scanning', out);
      return out;
    }
    if (RE.plan.test(text)) return out;
    if (RE.fallbackMetric.test(text)) {
      if (!this.fallbackWarned) out.push({ kind: 'warning', code: 'metrics-write-failed', message: 'FluxFlow could not write its metrics file; records go to the log as FALLBACK_METRIC lines.' });
      this.fallbackWarned = true;
      return out;
    }
    if ((m = RE.argparse.exec(text)) !== null) {
      this.refusedArgs = m[1] ?? '';
      this.error(out, 'failed-to-start', `fluxflow-train refused its command line: ${this.refusedArgs}`);
      return out;
    }
    if (RE.traceback.test(text)) {
      this.inTraceback = true;
      return out;
    }
    if ((m = RE.exception.exec(text)) !== null) this.lastException = text;
    this.signature(text, out);
    return out;
  }

  finish(exit: EngineExit): { events: EngineEvent[]; outcome: EngineOutcome } {
    const events: EngineEvent[] = [];
    const killed = exit.signal === 'SIGKILL' || exit.code === 137;
    const fatal = this.errors[0];
    let outcome: EngineOutcome;
    if (exit.code === 0 && this.completed && exit.outputExists && fatal === undefined) {
      outcome = { ok: true, code: 'succeeded', message: 'The pipeline finished and the checkpoint was saved.' };
    } else if (exit.code === 2 || this.refusedArgs !== undefined) {
      outcome = { ok: false, code: 'failed-to-start', message: `fluxflow-train refused its command line${this.refusedArgs === undefined ? '' : `: ${this.refusedArgs}`}.`, hint: HINTS['failed-to-start'] ?? '' };
    } else if (fatal !== undefined) {
      outcome = { ok: false, code: fatal.code, message: fatal.message, hint: fatal.hint };
    } else if (killed) {
      outcome = { ok: false, code: 'killed', message: 'The training process was killed (SIGKILL).', hint: HINTS.killed ?? '' };
    } else if (exit.signal) {
      outcome = { ok: false, code: 'signal', message: `The training process ended on ${exit.signal}.`, hint: 'FluxFlow does not save on a signal: only the last save is kept. Resume from it.' };
    } else if (exit.code === 0 && this.completed) {
      outcome = { ok: false, code: 'output-missing', message: `FluxFlow said the pipeline was complete, but ${this.outputFile} is missing.`, hint: 'Check free disk space in the run folder; report it if space was free.' };
    } else if (exit.code === 0) {
      outcome = {
        ok: false,
        code: 'not-completed',
        message: 'FluxFlow exited without finishing the pipeline (no "PIPELINE TRAINING COMPLETE").',
        hint: 'The log shows where it stopped; resume from the last save if there was one.',
      };
    } else {
      const last = this.lastException === undefined ? '' : `: ${this.lastException}`;
      outcome = { ok: false, code: 'crash', message: `FluxFlow exited with status ${exit.code ?? 'unknown'}${last}.`, hint: HINTS.crash ?? '' };
      events.push({ kind: 'error', code: 'crash', message: outcome.message, hint: outcome.hint ?? '', fatal: true });
    }
    return { events, outcome };
  }

  private enter(phase: string, out: EngineEvent[]): void {
    if (this.phase === phase) return;
    this.phase = phase;
    out.push({ kind: 'phase', phase });
  }

  private startStep(index: number): void {
    if (index < 0 || index >= this.steps.length || index === this.current) return;
    // A step seen running is done with what it did; one never seen (a resume started later) counts as planned.
    for (let earlier = 0; earlier < index; earlier += 1) {
      const step = this.progress[earlier];
      if (step?.perEpoch !== undefined) step.finished = true;
    }
    this.current = index;
  }

  private epochsBefore(index: number): number {
    return this.steps.slice(0, index).reduce((sum, step) => sum + step.nEpochs, 0);
  }

  private totalEpochs(): number {
    return this.epochsBefore(this.steps.length);
  }

  /** Batches per epoch of a step: seen, or estimated from the last step seen, within its max_steps. */
  private perEpoch(index: number): number | undefined {
    const seen = this.progress[index]?.perEpoch;
    if (seen !== undefined) return seen;
    const guess = this.progress.slice(0, index + 1).findLast((step) => step.perEpoch !== undefined)?.perEpoch ?? this.progress.find((step) => step.perEpoch !== undefined)?.perEpoch;
    const cap = this.steps[index]?.maxSteps;
    return guess === undefined ? undefined : cap === undefined ? guess : Math.min(guess, cap);
  }

  /** Batches of a step in the plan: done when it finished early, else epochs × batches per epoch. */
  private planned(index: number): number | undefined {
    const step = this.progress[index];
    if (step?.finished) return step.done;
    const perEpoch = this.perEpoch(index);
    return perEpoch === undefined ? undefined : (this.steps[index]?.nEpochs ?? 0) * perEpoch;
  }

  private onProgress(m: RegExpExecArray, out: EngineEvent[]): void {
    const index = Number(m[6]) - 1;
    this.startStep(index);
    this.enter('training', out);
    const step = this.progress[index];
    if (step === undefined) return;
    const epoch = Number(m[8]);
    const batch = Number(m[10]);
    const cap = this.steps[index]?.maxSteps;
    step.perEpoch = cap === undefined ? Number(m[11]) : Math.min(Number(m[11]), cap);
    step.done = (epoch - 1) * step.perEpoch + batch + 1;

    let done = 0;
    let total = 0;
    for (let k = 0; k < this.steps.length; k += 1) {
      const planned = this.planned(k) ?? 0;
      total += k === index ? Math.max(planned, step.done) : planned;
      if (k < index) done += planned;
    }
    done += step.done;

    const values = segments(m[12] ?? '');
    const elapsed = elapsedSeconds(m);
    const printed = finite(values.get('s/batch'));
    let sample = printed;
    if (this.last !== undefined && this.last.step === index && done > this.last.done && elapsed > this.last.elapsed) sample = (elapsed - this.last.elapsed) / (done - this.last.done);
    if (sample !== undefined && sample > 0) this.secPerBatch = this.secPerBatch === undefined ? sample : this.secPerBatch + SMOOTHING * (sample - this.secPerBatch);
    this.last = { step: index, done, elapsed };

    const loss = finite(values.get('Flow')) ?? finite(values.get('VAE'));
    const event: Extract<EngineEvent, { kind: 'progress' }> = { kind: 'progress', step: done, total: Math.max(total, done), epoch: this.epochsBefore(index) + epoch };
    if (this.secPerBatch !== undefined) {
      event.itPerSec = 1 / this.secPerBatch;
      event.remainingS = Math.max(0, Math.round((event.total - done) * this.secPerBatch));
    }
    if (loss !== undefined) event.loss = loss;
    out.push(event);
  }

  private signature(text: string, out: EngineEvent[]): void {
    let m: RegExpExecArray | null;
    if (RE.oom.test(text)) this.error(out, 'cuda-oom', `The GPU ran out of memory: ${text.replace(/^.*?(CUDA out of memory)/, '$1')}`);
    else if ((m = RE.missingModule.exec(text)) !== null) this.error(out, 'missing-module', `FluxFlow's environment is missing the Python module "${m[1] ?? ''}".`);
    else if (RE.noCuda.test(text)) this.error(out, 'cuda-unavailable', `PyTorch cannot use the GPU: ${text}`);
    else if (RE.offline.test(text)) this.error(out, 'engine-cache-missing', `FluxFlow tried to reach the network, which runs never have: ${text}`);
    else if (RE.captions.test(text)) this.error(out, 'captions-invalid', `FluxFlow refused its captions file: ${text}`);
  }

  private error(out: EngineEvent[], code: string, message: string): void {
    if (this.errors.some((error) => error.code === code)) return;
    const event = { kind: 'error' as const, code, message, hint: HINTS[code] ?? HINTS.crash ?? '', fatal: true };
    this.errors.push(event);
    out.push(event);
  }
}
