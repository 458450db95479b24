/**
 * Metric points from every TensorBoard event file under a run's logging folder, onward from a cursor.
 * kohya writes `<logging_dir>/<log_prefix><YYYYmmddHHMMSS>/network_train/events.out.tfevents.*`
 * (`loss/current`, `loss/average`, `lr/<group>` per step, `loss/epoch_average` with the epoch as step), and
 * a resumed run adds a folder next to the first; every file is read, in path order.
 *
 * The cursor maps each file (relative path) to the byte offset after its last whole record. A file found
 * damaged is reported once, in the call that met the damage, and then recorded as stopped: `-1 - offset`.
 *
 * The folder belongs to the engine, which runs sandboxed but is not trusted: the walk never follows a
 * symlink, takes regular files only, and checks after opening that the file is really inside the folder.
 * Work per call is bounded (bytes read, files, folders, depth); `more` says when to call again soon.
 */
import { constants, type Stats } from 'node:fs';
import { open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError, errnoCode, isLorasmithError } from '../../../core/errors.ts';
import type { MetricBatch, MetricPoint, MetricsCursor } from '../../../training/engines/engine.ts';
import { readEventFile } from './read-event-file.ts';

export interface TensorboardReadLimits {
  /** Bytes read per call across all files (one record is always read whole). Default 4 MiB. */
  budgetBytes?: number;
  /** Larger records count as damage. Default 16 MiB (kohya's are tens of bytes). */
  maxRecordBytes?: number;
  /** Event files considered per call, in path order. Default 256. */
  maxFiles?: number;
  /** Folder levels below the logging folder. Default 4 (kohya uses 2, hparams a third). */
  maxDepth?: number;
  /** Folders listed per call. Default 256. */
  maxFolders?: number;
}

/** Something the reader could not read: a damaged or foreign file. Reported once per damage. */
export interface TensorboardProblem {
  /** Relative to the logging folder. */
  file: string;
  offset: number;
  code: string;
  message: string;
  hint: string;
}

export interface TensorboardBatch extends MetricBatch {
  problems: TensorboardProblem[];
  /** True when a limit cut this call short: there is more to read now. */
  more: boolean;
}

const EVENT_FILE = /^events\.out\.tfevents\./;
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Cursor value of a file that reading stopped on, at `offset`. */
function stoppedAt(offset: number): number {
  return -1 - offset;
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

function problem(file: string, offset: number, error: LorasmithError | { code: string; message: string; hint: string }): TensorboardProblem {
  return { file, offset, code: error.code, message: error.message, hint: error.hint ?? '' };
}

interface Listing {
  files: string[];
  truncated: boolean;
}

/** Event files under `root` (a realpath), relative, sorted; real folders and regular files only. */
async function listEventFiles(root: string, limits: Required<TensorboardReadLimits>): Promise<Listing> {
  const files: string[] = [];
  const queue: Array<{ rel: string; depth: number }> = [{ rel: '', depth: 0 }];
  let folders = 0;
  let truncated = false;
  while (queue.length > 0) {
    const { rel, depth } = queue.shift() as { rel: string; depth: number };
    if (folders++ >= limits.maxFolders) {
      truncated = true;
      break;
    }
    let entries;
    try {
      entries = await readdir(path.join(root, rel), { withFileTypes: true });
    } catch (error) {
      // Removed or replaced since it was listed: the next call sees what is there then.
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') continue;
      throw error;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      // Dirent types come from lstat: a symlink is neither a directory nor a file here.
      if (entry.isDirectory() && depth < limits.maxDepth) queue.push({ rel: child, depth: depth + 1 });
      else if (entry.isFile() && EVENT_FILE.test(entry.name)) files.push(child);
    }
  }
  files.sort();
  if (files.length > limits.maxFiles) return { files: files.slice(0, limits.maxFiles), truncated: true };
  return { files, truncated };
}

/**
 * Opens `rel` under `root` for reading if it is a regular file whose real path is inside `root`; a string
 * says why not (a problem to report), undefined that it has gone.
 */
async function openInside(root: string, rel: string): Promise<{ handle: FileHandle; stats: Stats } | string | undefined> {
  const file = path.join(root, rel);
  let handle: FileHandle;
  try {
    handle = await open(file, OPEN_FLAGS);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') return 'it is a symbolic link';
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return close(handle, 'it is not a regular file');
    // O_NOFOLLOW guards the last name only: a folder above it swapped for a link is caught here.
    const real = await realpath(file);
    const there = await stat(real);
    if (!isInside(root, real) || there.ino !== stats.ino || there.dev !== stats.dev) return close(handle, 'it leads outside the logging folder');
    return { handle, stats };
  } catch (error) {
    await handle.close();
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

async function close(handle: FileHandle, reason: string): Promise<string> {
  await handle.close();
  return reason;
}

function foreign(file: string, offset: number, reason: string): TensorboardProblem {
  return problem(file, offset, {
    code: 'tensorboard-file-refused',
    message: `The TensorBoard event file ${file} was not read: ${reason}.`,
    hint: 'Something other than the engine changed the run’s logging folder. Remove that entry; the run’s own files are still read.',
  });
}

/**
 * Never rejects over what the files hold (that is a `problem`); rejects with `tensorboard-read-failed` only
 * when the folder itself cannot be read (permissions, I/O error).
 */
export async function readTensorboardMetrics(logDir: string, since: MetricsCursor, limits: TensorboardReadLimits = {}): Promise<TensorboardBatch> {
  try {
    return await readAll(logDir, since, limits);
  } catch (error) {
    if (isLorasmithError(error)) throw error;
    throw new LorasmithError({
      code: 'tensorboard-read-failed',
      message: `The run’s TensorBoard folder ${logDir} could not be read (${errnoCode(error) ?? (error instanceof Error ? error.message : String(error))}).`,
      hint: 'Check that the workspace is readable by the lorasmith server and that its disk is healthy.',
      cause: error,
    });
  }
}

async function readAll(logDir: string, since: MetricsCursor, limits: TensorboardReadLimits): Promise<TensorboardBatch> {
  const all: Required<TensorboardReadLimits> = {
    budgetBytes: limits.budgetBytes ?? 4 * 1024 * 1024,
    maxRecordBytes: limits.maxRecordBytes ?? 16 * 1024 * 1024,
    maxFiles: limits.maxFiles ?? 256,
    maxDepth: limits.maxDepth ?? 4,
    maxFolders: limits.maxFolders ?? 256,
  };
  const cursor: MetricsCursor = { ...since };
  const points: MetricPoint[] = [];
  const problems: TensorboardProblem[] = [];
  let root: string;
  try {
    root = await realpath(logDir);
  } catch (error) {
    // The engine has not created its logging folder yet.
    if (errnoCode(error) === 'ENOENT') return { points, cursor, problems, more: false };
    throw error;
  }
  const listing = await listEventFiles(root, all);
  let more = listing.truncated;
  let budget = all.budgetBytes;
  for (const rel of listing.files) {
    const offset = cursor[rel] ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) continue;
    if (budget <= 0) {
      more = true;
      break;
    }
    const opened = await openInside(root, rel);
    if (opened === undefined) continue;
    if (typeof opened === 'string') {
      problems.push(foreign(rel, offset, opened));
      cursor[rel] = stoppedAt(offset);
      continue;
    }
    const { handle, stats } = opened;
    try {
      if (stats.size < offset) {
        problems.push(foreign(rel, offset, `it is shorter (${stats.size} bytes) than the ${offset} bytes already read, so it was replaced`));
        cursor[rel] = stoppedAt(offset);
        continue;
      }
      const read = await readEventFile({
        source: {
          size: stats.size,
          read: async (position, length) => {
            const buffer = Buffer.alloc(length);
            const { bytesRead } = await handle.read(buffer, 0, length, position);
            return buffer.subarray(0, bytesRead);
          },
        },
        offset,
        where: rel,
        budgetBytes: budget,
        maxRecordBytes: all.maxRecordBytes,
      });
      budget -= read.bytesRead;
      for (const point of read.points) points.push(point);
      more ||= read.more;
      if (read.corrupt !== undefined) {
        problems.push(problem(rel, read.offset, read.corrupt));
        cursor[rel] = stoppedAt(read.offset);
      } else {
        cursor[rel] = read.offset;
      }
    } finally {
      await handle.close();
    }
  }
  return { points, cursor, problems, more };
}
