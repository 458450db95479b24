/**
 * What the jobs module needs from the run shim (src/jobs/shim/, protocol.ts): start one, read what it records,
 * ask it to stop, read the engine's log segments from a cursor, and collect files from a run's `work/` with
 * realpath containment. The studio passes the shim's client; tests may pass another runner that keeps the
 * same file protocol.
 */
import type { LorasmithError } from '../core/errors.ts';
import type { CollectResult } from './shim/collect-artifacts.ts';
import type { LogCursor, ProcessRef, SandboxMode, ShimSpec, ShimStatus } from './shim/protocol.ts';

export type SandboxChoice = { mode: SandboxMode; bwrap?: string } | { refused: LorasmithError };

export interface JobRunner {
  /** The sandbox a run would get here now, or why it may not run (root without bubblewrap, not allowed). */
  chooseSandbox(params: { allowUnsandboxed: boolean }): Promise<SandboxChoice>;
  /** Write `shim.json` and start the shim detached; resolves once it runs. */
  startShim(params: { runDir: string; spec: ShimSpec }): Promise<ProcessRef>;
  /** `status.json`, or null while the shim has not written it. */
  readShimStatus(runDir: string): Promise<ShimStatus | null>;
  /** pid and start time both match a live process. */
  isShimAlive(ref: ProcessRef): boolean;
  /** Ask the shim of this run to stop its engine (SIGINT, SIGTERM, then the sandbox). */
  requestStop(runDir: string, ref: ProcessRef): Promise<void>;
  /** Up to `maxBytes` of log text from `cursor`; `text` is '' when there is nothing new. */
  readLogChunk(runDir: string, cursor: LogCursor, maxBytes: number): Promise<{ text: string; cursor: LogCursor }>;
  /** Tell the shim how far the server has parsed (segments before it may be rotated away). */
  writeParsedCursor(runDir: string, cursor: LogCursor): Promise<void>;
  /** The shim is gone without a recorded exit: kill the engine it left (cgroup, process group); true if it did. */
  killOrphanedEngine?(status: ShimStatus): boolean;
  /** Regular files under `dir` (absolute, inside `workDir`), contained in `workDir`; links and the rest skipped. */
  collectArtifacts(workDir: string, dir: string): Promise<CollectResult>;
}
