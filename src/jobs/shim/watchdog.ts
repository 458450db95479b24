/**
 * The per-phase hang watchdog (DESIGN.md §5): the engine's output lines move it through the phases `prepare`
 * named (the first is entered at spawn); a phase with `idleTimeoutS` hangs after that long without any line,
 * and a phase with a `stepPattern` hangs when no new step came for max(`stepFloorS`, `stepFactor` × the last
 * step time). Pure: the caller feeds lines and asks with its own clock (milliseconds).
 */
import type { PhaseDirective } from '../../training/engines/engine.ts';

export interface WatchdogVerdict {
  phase: string;
  /** What hung and for how long, for the job's record. */
  detail: string;
}

interface CompiledPhase {
  directive: PhaseDirective;
  enter: RegExp[];
  step: RegExp | null;
}

function compile(directive: PhaseDirective): CompiledPhase {
  const flags = directive.ignoreCase ? 'i' : '';
  return {
    directive,
    enter: directive.enter.map((source) => new RegExp(source, flags)),
    step: directive.stepPattern === undefined ? null : new RegExp(directive.stepPattern, flags),
  };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export class PhaseWatchdog {
  readonly #phases: CompiledPhase[];
  #current: CompiledPhase;
  #lastLineAt: number;
  /** When the last new step was seen (the phase's entry before the first). */
  #lastStepAt: number;
  #lastStepNumber: number | null = null;
  /** Milliseconds per step, measured between the last two step lines. */
  #stepMs: number | null = null;

  /** Throws a SyntaxError for a pattern that is not a valid regular expression. */
  constructor(phases: readonly PhaseDirective[], now: number) {
    if (phases.length === 0) throw new RangeError('the watchdog needs at least one phase');
    this.#phases = phases.map(compile);
    this.#current = this.#phases[0] as CompiledPhase;
    this.#lastLineAt = now;
    this.#lastStepAt = now;
  }

  get phase(): string {
    return this.#current.directive.phase;
  }

  /** Feed one output line; returns true when it moved the watchdog to another phase. */
  onLine(text: string, now: number): boolean {
    this.#lastLineAt = now;
    let changed = false;
    if (!this.#current.enter.some((pattern) => pattern.test(text))) {
      const next = this.#phases.find((phase) => phase !== this.#current && phase.enter.some((pattern) => pattern.test(text)));
      if (next !== undefined) {
        this.#current = next;
        this.#lastStepAt = now;
        this.#lastStepNumber = null;
        this.#stepMs = null;
        changed = true;
      }
    }
    const step = this.#current.step?.exec(text);
    if (step) this.#onStep(step[1] === undefined ? null : Number(step[1]), now);
    return changed;
  }

  #onStep(number: number | null, now: number): void {
    if (number === null || !Number.isFinite(number)) {
      this.#stepMs = now - this.#lastStepAt;
      this.#lastStepAt = now;
      return;
    }
    // tqdm may redraw the same step; only a higher count is progress, and a jump of k steps shares the time.
    if (this.#lastStepNumber !== null && number <= this.#lastStepNumber) return;
    if (this.#lastStepNumber !== null) this.#stepMs = (now - this.#lastStepAt) / (number - this.#lastStepNumber);
    this.#lastStepNumber = number;
    this.#lastStepAt = now;
  }

  /** The limit on the time without a new step in this phase, or null when the phase has none. */
  stepLimitMs(): number | null {
    const { directive, step } = this.#current;
    if (step === null) return null;
    const floor = (directive.stepFloorS ?? 0) * 1000;
    const scaled = directive.stepFactor !== undefined && this.#stepMs !== null ? directive.stepFactor * this.#stepMs : 0;
    const limit = Math.max(floor, scaled);
    return limit > 0 ? limit : null;
  }

  /** A verdict when the current phase has hung at `now`, else null. */
  check(now: number): WatchdogVerdict | null {
    const { directive } = this.#current;
    const phase = directive.phase;
    if (directive.idleTimeoutS !== undefined && now - this.#lastLineAt > directive.idleTimeoutS * 1000) {
      return { phase, detail: `no output for ${seconds(now - this.#lastLineAt)} in phase "${phase}" (limit ${directive.idleTimeoutS} s)` };
    }
    const limit = this.stepLimitMs();
    if (limit !== null && now - this.#lastStepAt > limit) {
      const last = this.#stepMs === null ? 'no step measured yet' : `last step ${seconds(this.#stepMs)}`;
      return {
        phase,
        detail: `no new step for ${seconds(now - this.#lastStepAt)} in phase "${phase}" (limit ${seconds(limit)}: max(${directive.stepFloorS ?? 0} s, ${directive.stepFactor ?? 0} × ${last}))`,
      };
    }
    return null;
  }
}
