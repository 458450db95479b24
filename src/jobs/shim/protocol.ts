/**
 * The contract between the server and the run shim (DESIGN.md §5; web-and-process-security.md PROC-R01–R06).
 * Everything is a file under `runs/<id>/` (never under `work/`, which the engine may write):
 *
 *   shim.json      ShimSpec, 0600, written by the server before it starts the shim; never changed after.
 *   status.json    ShimStatus, written by the shim only (temp file + rename) at every state change.
 *   logs/NNNNNN.log  the engine's stdout and stderr, interleaved as they arrive, secrets redacted, in numbered
 *                  segments of at most `logs.segmentBytes` bytes (000001.log first).
 *   parsed.json    LogCursor, written by the server only: how far it has parsed. The shim may delete a segment
 *                  older than `logs.keepSegments` only when the cursor is past it.
 *
 * The server starts the shim detached (`process.execPath src/jobs/shim/main.ts <runDir>`), so a run outlives
 * the server. Stop: the server sends SIGTERM to the shim (pid + start time checked); the shim writes
 * `state: 'stopping'`, sends SIGINT to the engine process itself, SIGTERM after `stop.graceS`, and after another
 * `stop.graceS` kills the sandbox (bwrap → its PID namespace dies; cgroup → cgroup.kill; unsandboxed → the
 * process group). The watchdog does the same with `exit.reason = 'watchdog'`.
 */
import type { PhaseDirective, SnapshotDirective } from '../../training/engines/engine.ts';

export const SHIM_SPEC_FILE = 'shim.json';
export const SHIM_STATUS_FILE = 'status.json';
export const SHIM_LOG_DIR = 'logs';
export const PARSED_CURSOR_FILE = 'parsed.json';

/** `bwrap`: bubblewrap; `cgroup`: a cgroup v2 folder written directly; `unsandboxed`: process group only. */
export type SandboxMode = 'bwrap' | 'cgroup' | 'unsandboxed';

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
    readOnly: string[];
    writable: string[];
    /** GPU device nodes to bind (`/dev/nvidia0`, `/dev/nvidiactl`, …); empty in CPU mode. */
    devices: string[];
  };
  phases: PhaseDirective[];
  snapshots: SnapshotDirective[];
  stop: { graceS: number };
  logs: { segmentBytes: number; keepSegments: number };
}

export interface ProcessRef {
  pid: number;
  /** /proc/<pid>/stat start ticks (core/process-identity.ts). */
  startTicks: string;
}

export type ShimExitReason = 'exited' | 'stopped' | 'watchdog' | 'spawn-failed';

export interface ShimStatus {
  version: 1;
  shim: ProcessRef;
  /** The engine process itself (the child of bwrap's PID 1 under bwrap); null before spawn or on spawn failure. */
  engine: ProcessRef | null;
  sandbox: SandboxMode;
  state: 'starting' | 'running' | 'stopping' | 'exited';
  /** The watchdog phase the shim is in. */
  phase: string;
  startedAt: string;
  exit: null | {
    code: number | null;
    signal: string | null;
    reason: ShimExitReason;
    /** For `watchdog`: which phase hung and for how long; for `spawn-failed`: why. */
    detail?: string;
    at: string;
  };
  /** Files the shim snapshotted (paths inside `work/`), newest last. */
  snapshots: string[];
}

export interface LogCursor {
  segment: number;
  offset: number;
}
