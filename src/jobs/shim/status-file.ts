/**
 * `runs/<id>/status.json`: written by the shim only, whole (temp file, fsync, rename) at every change, in
 * order; read by the server at any time, so it sees the previous state or the next, never half of one.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { LorasmithError, errnoCode } from '../../core/errors.ts';
import { SHIM_STATUS_FILE, type ShimStatus } from './protocol.ts';

export function statusPath(runDir: string): string {
  return path.join(runDir, SHIM_STATUS_FILE);
}

function isStatus(value: unknown): value is ShimStatus {
  if (typeof value !== 'object' || value === null) return false;
  const status = value as Partial<ShimStatus>;
  return status.version === 1 && typeof status.shim?.pid === 'number' && typeof status.shim.startTicks === 'string' && typeof status.state === 'string' && Array.isArray(status.snapshots);
}

/** The shim's last status, or null when it has written none yet. */
export async function readShimStatus(runDir: string): Promise<ShimStatus | null> {
  let text: string;
  try {
    text = await readFile(statusPath(runDir), 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!isStatus(value)) {
    throw new LorasmithError({
      code: 'shim-status-corrupt',
      message: `The run status file ${statusPath(runDir)} is not a run shim status.`,
      hint: 'Only the run shim writes this file; something else changed it. The run’s logs are still in its logs/ folder.',
    });
  }
  return value;
}

/** The shim's side: one status in memory, written after every change, writes kept in order. */
export class StatusWriter {
  readonly #file: string;
  #status: ShimStatus;
  #queue: Promise<void> = Promise.resolve();
  #failure: string | null = null;

  constructor(runDir: string, initial: ShimStatus) {
    this.#file = statusPath(runDir);
    this.#status = initial;
  }

  get current(): Readonly<ShimStatus> {
    return this.#status;
  }

  /** The last write error, if the last write failed (the next change tries again with the whole status). */
  get failure(): string | null {
    return this.#failure;
  }

  /** Apply a change and queue a write of the whole status; `flush` waits for it. */
  update(change: Partial<ShimStatus>): void {
    this.#status = { ...this.#status, ...change };
    const snapshot = `${JSON.stringify(this.#status, null, 2)}\n`;
    this.#queue = this.#queue.then(async () => {
      try {
        await writeFileAtomic(this.#file, snapshot, 0o600);
        this.#failure = null;
      } catch (error) {
        this.#failure = error instanceof Error ? error.message : String(error);
        process.stderr.write(`lorasmith shim: could not write ${this.#file}: ${this.#failure}\n`);
      }
    });
  }

  flush(): Promise<void> {
    return this.#queue;
  }
}
