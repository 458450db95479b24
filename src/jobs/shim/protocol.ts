/**
 * The contract between the server and the run shim (DESIGN.md §5; web-and-process-security.md PROC-R01–R06).
 * Everything is a file under `runs/<id>/` (never under `work/`, which the engine may write):
 *
 *   shim.json      ShimSpec, 0600, written by the server before it starts the shim; never changed after.
 *   status.json    ShimStatus, written by the shim only (temp file + rename) at every state change.
 *   logs/NNNNNN.log  the engine's stdout and stderr, interleaved line by line as they arrive, secrets redacted,
 *                  in numbered segments of at most `logs.segmentBytes` bytes (000001.log first). A segment
 *                  ends on a line boundary and is never written again once the next one exists.
 *   parsed.json    LogCursor, written by the server only: how far it has parsed. The shim may delete a segment
 *                  older than `logs.keepSegments` only when the cursor is past it.
 *   snapshots/     copies the shim made of the files SnapshotDirectives name (`NNNNNN-<name>`, one per save,
 *                  complete files only): outside `work/`, so the engine cannot change a copy once it is made.
 *   shim.log       the shim's own stderr (its crash report, if it has one); never engine output.
 *
 * The server starts the shim detached (`process.execPath src/jobs/shim/main.ts <runDir>`), so a run outlives
 * the server. Stop: the server sends SIGTERM to the shim (pid + start time checked); the shim writes
 * `state: 'stopping'`, sends SIGINT to the engine process itself, SIGTERM after `stop.graceS`, and after another
 * `stop.graceS` kills the sandbox (bwrap → its PID namespace dies; cgroup → cgroup.kill; unsandboxed → the
 * process group). The watchdog does the same with `exit.reason = 'watchdog'`. When the engine ends by itself,
 * whatever it left running is killed the same way before the shim records the exit.
 */
import path from 'node:path';
import type { PhaseDirective, SnapshotDirective } from '../../training/engines/engine.ts';
import type { SandboxMode } from '../job-api-types.ts';

export type { SandboxMode };

export const SHIM_SPEC_FILE = 'shim.json';
export const SHIM_STATUS_FILE = 'status.json';
export const SHIM_LOG_DIR = 'logs';
export const PARSED_CURSOR_FILE = 'parsed.json';
export const SHIM_SNAPSHOT_DIR = 'snapshots';
export const SHIM_STDERR_FILE = 'shim.log';

export interface ShimSpec {
  version: 1;
  jobId: string;
  /** Absolute `runs/<id>`. */
  runDir: string;
  /** Absolute `runs/<id>/work`. */
  workDir: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  sandbox: {
    mode: SandboxMode;
    /** Bound read-only, each at its own path, one by one. */
    readOnly: string[];
    /** Bound read-only at another place (FluxFlow's engine cache at `work/_cache`). */
    readOnlyAt?: Array<{ source: string; target: string }>;
    /** Bound writable: `workDir` only, or folders inside it. */
    writable: string[];
    /** GPU device nodes to bind (`/dev/nvidia0`, `/dev/nvidiactl`, …); empty in CPU mode. */
    devices: string[];
    /** Absolute bwrap the server probed (sandbox.ts `probeSandbox`); found by the shim when absent. */
    bwrap?: string;
    /** Size of the sandbox's `/dev/shm` tmpfs (bytes); default 8 GiB (PyTorch data loaders share memory there). */
    shmBytes?: number;
  };
  phases: PhaseDirective[];
  snapshots: SnapshotDirective[];
  stop: { graceS: number };
  logs: { segmentBytes: number; keepSegments: number };
  /**
   * The workspace's secret store (`secrets.json`). The shim reads it only to redact those values from the
   * engine's output; no secret is ever copied into this spec or the engine's environment.
   */
  secretsFile?: string;
}

export interface ProcessRef {
  pid: number;
  /** /proc/<pid>/stat start ticks (core/process-identity.ts). */
  startTicks: string;
}

/** `shim-error`: the shim itself failed (its crash report is in shim.log); the sandbox was killed first. */
export type ShimExitReason = 'exited' | 'stopped' | 'watchdog' | 'spawn-failed' | 'shim-error';

/** One copy the shim made of a file a SnapshotDirective names. */
export interface ShimSnapshot {
  /** The engine's file (absolute, inside `work/`). */
  source: string;
  /** The copy (absolute, `runs/<id>/snapshots/NNNNNN-<name>`). */
  copy: string;
  size: number;
  /** When the copy was made (ISO). */
  at: string;
}

/** The resource limits the engine was started under (engine-limits.ts). */
export interface EngineLimits {
  prlimit: string;
  /** RLIMIT_CORE, soft and hard. */
  core: 0;
  /** RLIMIT_NOFILE, soft and hard. */
  nofile: number;
}

export interface ShimStatus {
  version: 1;
  shim: ProcessRef;
  /** The engine process itself (the child of bwrap's PID 1 under bwrap); null before spawn or on spawn failure. */
  engine: ProcessRef | null;
  /** What the shim spawned: bwrap under `bwrap`, else the engine itself; null before spawn or on spawn failure. */
  sandboxProcess: ProcessRef | null;
  sandbox: SandboxMode;
  /** The run's cgroup v2 folder under `cgroup` (removed when the run ends). */
  cgroup: string | null;
  state: 'starting' | 'running' | 'stopping' | 'exited';
  /** The watchdog phase the shim is in. */
  phase: string;
  startedAt: string;
  /**
   * Set once the sandbox has exited and its output is read (state still `running`/`stopping` while the shim
   * closes the log and takes the last snapshots, then `exited`), so a shim that dies while finishing still
   * leaves it behind. Null with a dead shim: the shim was killed before it could record anything.
   * Under bwrap a signal that ended the engine shows as `code` 128 + N (bwrap reports it so).
   */
  exit: null | {
    code: number | null;
    signal: string | null;
    reason: ShimExitReason;
    /** For `watchdog`: which phase hung and for how long; for `spawn-failed` and `shim-error`: why. */
    detail?: string;
    at: string;
  };
  /** Copies the shim made, oldest first. */
  snapshots: ShimSnapshot[];
  /**
   * The engine's resource limits, set once it is spawned; null when prlimit is not installed (the engine runs
   * with the shim's limits). Absent before the spawn.
   */
  limits?: EngineLimits | null;
}

export interface LogCursor {
  segment: number;
  offset: number;
}

/** Where reading starts: the first byte of the first segment. */
export const LOG_START: Readonly<LogCursor> = { segment: 1, offset: 0 };

/** `logs/000001.log` for segment 1. */
export function segmentPath(runDir: string, segment: number): string {
  return path.join(runDir, SHIM_LOG_DIR, `${String(segment).padStart(6, '0')}.log`);
}

const SEGMENT_NAME = /^(\d{6,})\.log$/;

/** The segment number of a file name in `logs/`, or null for anything else. */
export function segmentNumber(name: string): number | null {
  const match = SEGMENT_NAME.exec(name);
  return match === null ? null : Number(match[1]);
}
