/**
 * Snapshots of the files `prepare` named (SnapshotDirective): engines write their outputs in place, and
 * FluxFlow overwrites its checkpoint at every save, so the shim copies each file once it has stopped changing
 * for `settleS` — into `runs/<id>/snapshots/` (temp file, fsync, rename), outside `work/`, where the engine
 * cannot reach a copy. A file is opened like an artefact (contained-file.ts): a link or a FIFO planted under
 * a watched name is never read. A file that changed while it was copied is copied again once it settles.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, realpath, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../../core/errors.ts';
import type { SnapshotDirective } from '../../training/engines/engine.ts';
import { isStrictlyInside, openContainedFile } from './contained-file.ts';
import { SHIM_SNAPSHOT_DIR, type ShimSnapshot } from './protocol.ts';

export interface SnapshotterOptions {
  runDir: string;
  workDir: string;
  directives: readonly SnapshotDirective[];
  onSnapshot: (snapshot: ShimSnapshot) => void;
  now?: () => number;
}

interface Seen {
  signature: string;
  since: number;
  copied: string | null;
}

const COPY_CHUNK = 1024 * 1024;

export class Snapshotter {
  readonly #options: SnapshotterOptions;
  readonly #patterns: RegExp[];
  readonly #seen = new Map<string, Seen>();
  readonly #now: () => number;
  #sequence = 0;
  #realWork: string | null = null;

  constructor(options: SnapshotterOptions) {
    this.#options = options;
    this.#patterns = options.directives.map((directive) => new RegExp(directive.pattern));
    this.#now = options.now ?? Date.now;
  }

  /** How often to scan: half the shortest settle time, between 0.1 s and 1 s. */
  get intervalMs(): number {
    const shortest = Math.min(...this.#options.directives.map((directive) => directive.settleS * 500));
    return Math.min(1000, Math.max(100, Number.isFinite(shortest) ? shortest : 1000));
  }

  /** One pass over the watched folders. `final`: the engine has exited, so every file has settled. */
  async scan(final = false): Promise<void> {
    this.#realWork ??= await realpath(this.#options.workDir);
    for (const [index, directive] of this.#options.directives.entries()) {
      const dir = await this.#realFolder(directive.dir);
      if (dir === null) continue;
      let names: string[];
      try {
        names = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name);
      } catch (error) {
        if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') continue;
        throw error;
      }
      const pattern = this.#patterns[index] as RegExp;
      for (const name of names.sort()) {
        if (pattern.test(name)) await this.#consider(path.join(dir, name), directive.settleS * 1000, final);
      }
    }
  }

  /** The folder's own path if it is a real folder inside work/ (no link on the way), else null. */
  async #realFolder(dir: string): Promise<string | null> {
    const work = this.#realWork as string;
    const lexical = path.join(work, path.relative(path.resolve(this.#options.workDir), dir));
    try {
      const real = await realpath(lexical);
      return real === lexical && (real === work || isStrictlyInside(work, real)) ? real : null;
    } catch {
      return null;
    }
  }

  async #consider(file: string, settleMs: number, final: boolean): Promise<void> {
    const opened = await openContainedFile(this.#realWork as string, file);
    if ('refused' in opened) return;
    const { handle, stats } = opened;
    try {
      const signature = `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
      const now = this.#now();
      const seen = this.#seen.get(file);
      if (seen === undefined || seen.signature !== signature) {
        this.#seen.set(file, { signature, since: now, copied: seen?.copied ?? null });
        if (!final) return;
      }
      const entry = this.#seen.get(file) as Seen;
      if (entry.copied === signature || (!final && now - entry.since < settleMs)) return;
      const copy = await this.#copy(handle, path.basename(file), signature);
      if (copy === null) {
        entry.since = this.#now();
        return;
      }
      entry.copied = signature;
      this.#options.onSnapshot({ source: file, copy, size: stats.size, at: new Date(this.#now()).toISOString() });
    } finally {
      await handle.close();
    }
  }

  /** Copy through the open handle; null when the source changed meanwhile (the copy is dropped). */
  async #copy(source: FileHandle, name: string, signature: string): Promise<string | null> {
    const dir = path.join(this.#options.runDir, SHIM_SNAPSHOT_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = path.join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
    const target = await open(temp, 'wx', 0o600);
    let ok = false;
    try {
      const buffer = Buffer.alloc(COPY_CHUNK);
      for (let position = 0; ; ) {
        const { bytesRead } = await source.read(buffer, 0, COPY_CHUNK, position);
        if (bytesRead === 0) break;
        await target.write(buffer, 0, bytesRead);
        position += bytesRead;
      }
      await target.sync();
      const after = await source.stat();
      ok = `${after.ino}:${after.size}:${after.mtimeMs}` === signature;
    } finally {
      await target.close();
      if (!ok) await rm(temp, { force: true });
    }
    if (!ok) return null;
    this.#sequence += 1;
    const copy = path.join(dir, `${String(this.#sequence).padStart(6, '0')}-${name}`);
    await rename(temp, copy);
    return copy;
  }
}
