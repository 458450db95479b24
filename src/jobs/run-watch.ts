/**
 * The supervisor's watch over one run: every tick it reads what the engine printed since the last one (from
 * the persisted cursor), hands the events on to be recorded, follows the shim's status (starting → running,
 * a watchdog's stop) and notices the end — the shim's recorded exit once it has flushed, or a shim that is gone
 * without one. One watch per run at a time, in the one process that holds the workspace lock.
 */
import type { EngineEvent } from '../training/engines/engine.ts';
import type { JobRunner } from './job-runner.ts';
import { coalesceProgress, RunLogReader, type LogBatch } from './run-log-reader.ts';
import type { ShimExit } from './job-outcome.ts';
import type { LogCursor, ProcessRef, ShimStatus } from './shim/protocol.ts';

/** How the run ended, as the watch saw it. */
export type RunEnd = { kind: 'exited'; exit: ShimExit; status: ShimStatus } | { kind: 'vanished' };

export interface RunWatchHooks {
  /** Record parsed events (may be empty: the cursor moved) and show the new log lines. */
  record(batch: { events: EngineEvent[]; lines: string[]; cursor: LogCursor }): Promise<void>;
  /** The shim reports the engine running, or stopping (a watchdog), or the first status. */
  status(status: ShimStatus): Promise<void>;
  /** The log is read to its end; decide and record the outcome. */
  end(end: RunEnd, reader: RunLogReader): Promise<void>;
  error(error: unknown): void;
}

export class RunWatch {
  readonly #runner: JobRunner;
  readonly #runDir: string;
  readonly #shim: ProcessRef;
  readonly #reader: RunLogReader;
  readonly #hooks: RunWatchHooks;
  readonly #pollMs: number;
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();
  #lastState: ShimStatus['state'] | null = null;

  constructor(params: { runner: JobRunner; runDir: string; shim: ProcessRef; reader: RunLogReader; hooks: RunWatchHooks; pollMs: number }) {
    this.#runner = params.runner;
    this.#runDir = params.runDir;
    this.#shim = params.shim;
    this.#reader = params.reader;
    this.#hooks = params.hooks;
    this.#pollMs = params.pollMs;
  }

  start(): void {
    this.#schedule(0);
  }

  /** Stop watching (the run goes on under its shim); resolves when no tick is in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** Wake now instead of at the next tick (a stop was just requested). */
  poke(): void {
    if (this.#stopped || this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#tick().then(
        (done) => {
          if (!done) this.#schedule(this.#pollMs);
        },
        (error: unknown) => {
          this.#hooks.error(error);
          this.#schedule(this.#pollMs * 10);
        },
      );
    }, ms);
  }

  async #drain(): Promise<void> {
    for (let batch: LogBatch | null = await this.#reader.read(); batch !== null; batch = await this.#reader.read()) {
      await this.#hooks.record({ events: coalesceProgress(batch.events), lines: batch.lines, cursor: batch.cursor });
      if (this.#stopped) return;
    }
  }

  /** One look at the run; true once it has ended and been recorded. */
  async #tick(): Promise<boolean> {
    await this.#drain();
    if (this.#stopped) return true;
    let status = await this.#runner.readShimStatus(this.#runDir);
    if (status !== null && status.state !== this.#lastState) {
      this.#lastState = status.state;
      await this.#hooks.status(status);
    }
    const alive = this.#runner.isShimAlive(this.#shim);
    if (status?.state !== 'exited' && alive) return false;
    // The shim flushed and recorded the end, or died: read what it wrote last, then decide.
    if (!alive) status = await this.#runner.readShimStatus(this.#runDir);
    await this.#drain();
    const tail = this.#reader.end();
    await this.#hooks.record({ events: coalesceProgress(tail.events), lines: tail.lines, cursor: tail.cursor });
    const exit = status?.exit ?? null;
    await this.#hooks.end(exit === null || status === null ? { kind: 'vanished' } : { kind: 'exited', exit, status }, this.#reader);
    this.#stopped = true;
    return true;
  }
}
