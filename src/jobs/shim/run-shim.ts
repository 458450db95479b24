/**
 * The run shim's work, from shim.json to the recorded exit (DESIGN.md §5; protocol.ts has the file contract):
 * start the engine in its sandbox, own its pipes (lines redacted into log segments), keep status.json true
 * at every change, run the per-phase watchdog, snapshot the files `prepare` named, carry out stop on SIGTERM,
 * and record how the engine ended — also when the shim itself fails: the sandbox is killed first and the
 * failure recorded, so the exit is never left unknown.
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode } from '../../core/errors.ts';
import { currentProcessIdentity } from '../../core/process-identity.ts';
import { redactString } from '../../core/redact.ts';
import { LineSplitter, type SplitLine } from '../../training/engines/kohya/line-splitter.ts';
import { spawnEngine, type EngineExit, type EngineHandle } from './engine-process.ts';
import { SHIM_SPEC_FILE, type SandboxMode, type ShimExitReason, type ShimSpec, type ShimStatus } from './protocol.ts';
import { SegmentLog, maxLineLength } from './segment-log.ts';
import { Snapshotter } from './snapshots.ts';
import { engineEnvironment, findSecretInLaunch, parseShimSpec } from './spec.ts';
import { StatusWriter, statusPath } from './status-file.ts';
import { PhaseWatchdog } from './watchdog.ts';

const WATCHDOG_TICK_MS = 250;
/** How long pipes may stay open after the engine exited (a leftover child holding them) before they are cut. */
const PIPE_DRAIN_MS = 2000;
/** After the last kill, how long to wait for the sandbox process to be reaped. */
const KILL_WAIT_MS = 5000;
const STDERR_TAIL = 5;

type Stop = { reason: Extract<ShimExitReason, 'stopped' | 'watchdog'>; detail?: string };

function message(error: unknown): string {
  return redactString(error instanceof Error ? error.message : String(error));
}

function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  const controller = new AbortController();
  return Promise.race([promise, sleep(ms, 'timeout' as const, { signal: controller.signal }).catch(() => 'timeout' as const)]).finally(() => controller.abort());
}

/** The sandbox mode shim.json asks for, read leniently, so even a refused spec gets a status that names it. */
function declaredMode(raw: string): SandboxMode {
  try {
    const mode = (JSON.parse(raw) as { sandbox?: { mode?: unknown } }).sandbox?.mode;
    return mode === 'bwrap' || mode === 'cgroup' || mode === 'unsandboxed' ? mode : 'bwrap';
  } catch {
    return 'bwrap';
  }
}

/**
 * Claim the run by creating status.json with its first content in one step (a complete temp file, then a
 * hard link, which fails if the name exists): a second shim for the same run never starts, and a reader never
 * sees an empty status.
 */
function claimRun(runDir: string, initial: ShimStatus): boolean {
  const temp = path.join(runDir, `.status.claim.${process.pid}.tmp`);
  writeFileSync(temp, `${JSON.stringify(initial, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, statusPath(runDir));
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temp);
  }
}

export async function runShim(runDir: string): Promise<number> {
  runDir = path.resolve(runDir);
  let raw = '';
  let specError: string | null = null;
  try {
    raw = readFileSync(path.join(runDir, SHIM_SPEC_FILE), 'utf8');
  } catch (error) {
    specError = `shim.json could not be read (${errnoCode(error) ?? message(error)})`;
  }
  let spec: ShimSpec | null = null;
  if (specError === null) {
    try {
      spec = parseShimSpec(raw, runDir);
    } catch (error) {
      specError = message(error);
    }
  }
  const initial: ShimStatus = {
    version: 1,
    shim: currentProcessIdentity(),
    engine: null,
    sandboxProcess: null,
    sandbox: spec?.sandbox.mode ?? declaredMode(raw),
    cgroup: null,
    state: 'starting',
    phase: spec?.phases[0]?.phase ?? '',
    startedAt: new Date().toISOString(),
    exit: null,
    snapshots: [],
  };
  if (!claimRun(runDir, initial)) {
    process.stderr.write(`lorasmith shim: ${statusPath(runDir)} exists: this run already has (or had) a shim.\n`);
    return 2;
  }
  const status = new StatusWriter(runDir, initial);
  if (spec === null) return refuse(status, specError ?? 'shim.json is missing');
  return new Supervisor(spec, status).run();
}

async function refuse(status: StatusWriter, detail: string): Promise<number> {
  status.update({ state: 'exited', exit: { code: null, signal: null, reason: 'spawn-failed', detail, at: new Date().toISOString() } });
  await status.flush();
  return 1;
}

class Supervisor {
  readonly #spec: ShimSpec;
  readonly #status: StatusWriter;
  #handle: EngineHandle | null = null;
  #stop: Stop | null = null;
  #ended = false;
  /** Aborted when the engine exits: wakes the snapshot loop from its sleep at once. */
  readonly #engineExited = new AbortController();
  #log: SegmentLog | null = null;
  #watchdog: PhaseWatchdog | null = null;
  readonly #stderrTail: string[] = [];
  /**
   * What starts the engine complained (`bwrap: execvp …`, `prlimit: failed to execute …`) before any engine
   * output: the engine never ran.
   */
  #launcherComplaint: string | null = null;
  #sawOutput = false;
  #crashed = false;

  constructor(spec: ShimSpec, status: StatusWriter) {
    this.#spec = spec;
    this.#status = status;
  }

  async run(): Promise<number> {
    const spec = this.#spec;
    process.on('SIGTERM', () => this.#requestStop({ reason: 'stopped' }));
    process.on('SIGINT', () => this.#requestStop({ reason: 'stopped' }));
    // The shim is detached; a hang-up is never a request to stop.
    process.on('SIGHUP', () => undefined);
    process.on('uncaughtException', (error) => void this.#crash(error));
    process.on('unhandledRejection', (error) => void this.#crash(error));

    const env = engineEnvironment(spec);
    try {
      const secret = await findSecretInLaunch(spec);
      if (secret !== null) return refuse(this.#status, secret);
    } catch (error) {
      return refuse(this.#status, `the secret store could not be read to redact the engine's output: ${message(error)}`);
    }
    if (this.#stop !== null) {
      // Stopped before the engine started: there is nothing to stop, and nothing is started.
      this.#status.update({ state: 'exited', exit: { code: null, signal: null, reason: 'stopped', detail: 'stopped before the engine started', at: new Date().toISOString() } });
      await this.#status.flush();
      return 0;
    }
    try {
      this.#watchdog = new PhaseWatchdog(spec.phases, Date.now());
      this.#log = new SegmentLog({ runDir: spec.runDir, segmentBytes: spec.logs.segmentBytes, keepSegments: spec.logs.keepSegments });
      this.#handle = spawnEngine(spec, env);
    } catch (error) {
      return refuse(this.#status, `the engine could not be started: ${message(error)}`);
    }
    const handle = this.#handle;
    this.#status.update({ sandboxProcess: handle.sandboxProcess, cgroup: handle.cgroup, limits: handle.limits });
    const pipes = [this.#pump(handle.stdout, false), this.#pump(handle.stderr, true)];
    const snapshots = new Snapshotter({
      runDir: spec.runDir,
      workDir: spec.workDir,
      directives: spec.snapshots,
      onSnapshot: (snapshot) => this.#status.update({ snapshots: [...this.#status.current.snapshots, snapshot] }),
    });
    const snapshotLoop = this.#snapshotLoop(snapshots);
    const watchdogTimer = setInterval(() => this.#checkWatchdog(), WATCHDOG_TICK_MS);

    const engine = await handle.engine;
    if (!this.#ended) this.#status.update({ engine, state: this.#stop === null ? 'running' : 'stopping' });

    const exit = await handle.exited;
    // The moment the engine ended, not when its pipes were drained and the end written down.
    const exitedAt = new Date().toISOString();
    this.#ended = true;
    this.#engineExited.abort();
    clearInterval(watchdogTimer);
    await handle.cleanup();
    if ((await raceTimeout(Promise.all(pipes), PIPE_DRAIN_MS)) === 'timeout') {
      handle.stdout.destroy();
      handle.stderr.destroy();
      await Promise.all(pipes);
    }
    // Recorded once the pipes are read (a sandbox that failed to start says why on stderr), and before the
    // last snapshots, so a shim that fails while finishing still leaves the exit behind.
    this.#status.update({ exit: this.#exitRecord(exit, exitedAt) });
    this.#log?.close();
    await snapshotLoop;
    try {
      await snapshots.scan(true);
    } catch (error) {
      process.stderr.write(`lorasmith shim: the last snapshot pass failed: ${message(error)}\n`);
    }
    this.#status.update({ state: 'exited' });
    await this.#status.flush();
    return 0;
  }

  #exitRecord(exit: EngineExit, at: string): NonNullable<ShimStatus['exit']> {
    const code = exit.code;
    const signal = exit.signal;
    if (!exit.started) return { code, signal, reason: 'spawn-failed', detail: exit.error ?? (this.#stderrTail.join('\n') || 'the sandbox could not be set up'), at };
    if (this.#launcherComplaint !== null && code !== 0 && this.#stop === null) return { code, signal, reason: 'spawn-failed', detail: this.#launcherComplaint, at };
    if (this.#stop !== null) return { code, signal, reason: this.#stop.reason, ...(this.#stop.detail === undefined ? {} : { detail: this.#stop.detail }), at };
    return { code, signal, reason: 'exited', at };
  }

  /** Read one pipe to its end: lines are redacted into the log and fed to the watchdog. */
  async #pump(stream: Readable, isStderr: boolean): Promise<void> {
    const splitter = new LineSplitter({ maxLength: maxLineLength(this.#spec.logs.segmentBytes), keepEmptyFrames: true });
    const take = (lines: SplitLine[]): void => {
      for (const line of lines) this.#onLine(line, isStderr);
    };
    try {
      for await (const chunk of stream) take(splitter.push(chunk as Buffer));
    } catch {
      // The pipe was cut after the engine exited (a leftover child held it): what was read is kept.
    }
    take(splitter.end());
  }

  #onLine(line: SplitLine, isStderr: boolean): void {
    const text = redactString(line.text);
    this.#log?.write(text + line.end);
    if (isStderr) {
      if (!this.#sawOutput && this.#isLauncherLine(text)) this.#launcherComplaint = text;
      this.#stderrTail.push(text);
      if (this.#stderrTail.length > STDERR_TAIL) this.#stderrTail.shift();
    }
    if (text.trim() !== '' && !this.#isLauncherLine(text)) this.#sawOutput = true;
    if (this.#watchdog?.onLine(line.text, Date.now())) this.#status.update({ phase: this.#watchdog.phase });
  }

  #isLauncherLine(text: string): boolean {
    const handle = this.#handle;
    return (handle?.mode === 'bwrap' && text.startsWith('bwrap: ')) || ((handle?.limits ?? null) !== null && text.startsWith('prlimit: '));
  }

  #checkWatchdog(): void {
    if (this.#stop !== null || this.#ended || this.#watchdog === null) return;
    const verdict = this.#watchdog.check(Date.now());
    if (verdict !== null) this.#requestStop({ reason: 'watchdog', detail: verdict.detail });
  }

  async #snapshotLoop(snapshots: Snapshotter): Promise<void> {
    while (!this.#ended) {
      try {
        await snapshots.scan();
      } catch (error) {
        process.stderr.write(`lorasmith shim: a snapshot pass failed: ${message(error)}\n`);
      }
      // Cut short when the engine exits: the shim records the end only after this loop, and a full interval
      // (up to 1 s) here was most of the gap before the next queued run (bench/jobs-queue-gap.bench.ts).
      if (!this.#ended) await sleep(snapshots.intervalMs, undefined, { signal: this.#engineExited.signal }).catch(() => undefined);
    }
  }

  #requestStop(stop: Stop): void {
    if (this.#stop !== null || this.#ended) return;
    this.#stop = stop;
    this.#status.update({ state: 'stopping' });
    if (this.#handle !== null) void this.#stopSequence(this.#handle);
  }

  /** PROC-R06: SIGINT to the engine itself, SIGTERM after the grace period, then the whole sandbox. */
  async #stopSequence(handle: EngineHandle): Promise<void> {
    const graceMs = this.#spec.stop.graceS * 1000;
    const done = handle.exited.then(() => 'exited' as const);
    // `stopping` is on disk before the engine hears of it.
    await this.#status.flush();
    // Under bwrap the engine is known a moment after spawn; a stop that early waits for it (within the grace).
    await raceTimeout(handle.engine, graceMs);
    if (handle.signalEngine('SIGINT') && (await raceTimeout(done, graceMs)) === 'exited') return;
    if (handle.signalEngine('SIGTERM') && (await raceTimeout(done, graceMs)) === 'exited') return;
    handle.killAll();
    await raceTimeout(done, KILL_WAIT_MS);
  }

  /**
   * The shim itself failed: kill the sandbox, then record that. An exit already recorded (the failure came
   * while finishing up) is kept: it is the engine's, and the truth about the run.
   */
  async #crash(error: unknown): Promise<void> {
    if (this.#crashed) return;
    this.#crashed = true;
    process.stderr.write(`lorasmith shim: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    let exit: EngineExit | 'timeout' | null = null;
    try {
      this.#handle?.killAll();
      if (this.#handle !== null) exit = await raceTimeout(this.#handle.exited, KILL_WAIT_MS);
    } finally {
      const known = exit !== null && exit !== 'timeout' ? exit : null;
      const recorded = this.#status.current.exit;
      this.#status.update({
        state: 'exited',
        exit: recorded ?? { code: known?.code ?? null, signal: known?.signal ?? null, reason: 'shim-error', detail: `the run shim failed: ${message(error)}`, at: new Date().toISOString() },
      });
      await this.#status.flush();
      process.exit(1);
    }
  }
}
