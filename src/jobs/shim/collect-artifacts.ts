/**
 * The files a run left in a folder of its `work/` (PROC-R05): regular files whose real path stays inside
 * `work/`, found without following any link. Symlinks (to files or folders), FIFOs, sockets and devices are
 * skipped and reported, so the job can say what it refused. To copy an artefact, open it again with
 * `openContainedFile` (this listing does not keep the files open).
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError, errnoCode } from '../../core/errors.ts';
import { isStrictlyInside, openContainedFile, type RefusalReason } from './contained-file.ts';

export interface Artifact {
  /** Absolute, inside `work/` (the path as listed; no link on the way). */
  path: string;
  /** Relative to the folder collected, with `/`. */
  relative: string;
  size: number;
  mtimeMs: number;
}

export interface SkippedEntry {
  path: string;
  relative: string;
  reason: Exclude<RefusalReason, 'gone'> | 'too-deep' | 'too-many';
}

export interface CollectResult {
  files: Artifact[];
  skipped: SkippedEntry[];
}

export interface CollectLimits {
  /** Folder levels below `dir` (default 8). */
  maxDepth?: number;
  /** Files listed at most (default 10 000); the rest is reported once as `too-many`. */
  maxFiles?: number;
}

function refused(dir: string, why: string): LorasmithError {
  return new LorasmithError({
    code: 'artifacts-refused',
    message: `The run folder ${dir} was not collected: ${why}.`,
    hint: 'Artefacts are collected only from real folders inside the run’s work/ folder; something replaced this one.',
  });
}

export async function collectArtifacts(workDir: string, dir: string, limits: CollectLimits = {}): Promise<CollectResult> {
  const maxDepth = limits.maxDepth ?? 8;
  const maxFiles = limits.maxFiles ?? 10_000;
  const realWork = await realpath(workDir);
  const start = path.resolve(dir);
  let realStart: string;
  try {
    realStart = await realpath(start);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { files: [], skipped: [] };
    throw error;
  }
  // The folder itself must be reached without a link: its real path is its own path, under work/'s real path.
  const lexical = path.join(realWork, path.relative(path.resolve(workDir), start));
  if (realStart !== realWork && (!isStrictlyInside(realWork, realStart) || realStart !== lexical)) throw refused(start, 'it is not a folder inside work/ (a link, or outside)');

  const result: CollectResult = { files: [], skipped: [] };
  const queue: Array<{ rel: string; depth: number }> = [{ rel: '', depth: 0 }];
  while (queue.length > 0) {
    const { rel, depth } = queue.shift() as { rel: string; depth: number };
    let entries;
    try {
      entries = await readdir(path.join(realStart, rel), { withFileTypes: true });
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') continue;
      throw error;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relative = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const full = path.join(realStart, relative);
      const skip = (reason: SkippedEntry['reason']): void => {
        result.skipped.push({ path: full, relative, reason });
      };
      // Dirent types come from lstat: a symlink is neither a folder nor a file here.
      if (entry.isSymbolicLink()) {
        skip((await isLinkToDir(full)) ? 'symlinked-dir' : 'symlink');
      } else if (entry.isDirectory()) {
        if (depth + 1 > maxDepth) skip('too-deep');
        else queue.push({ rel: relative, depth: depth + 1 });
      } else if (!entry.isFile()) {
        skip('not-regular');
      } else if (result.files.length >= maxFiles) {
        if (!result.skipped.some((item) => item.reason === 'too-many')) skip('too-many');
      } else {
        const opened = await openContainedFile(realWork, full);
        if ('refused' in opened) {
          if (opened.refused !== 'gone') skip(opened.refused);
          continue;
        }
        await opened.handle.close();
        result.files.push({ path: full, relative, size: opened.stats.size, mtimeMs: opened.stats.mtimeMs });
      }
    }
  }
  return result;
}

async function isLinkToDir(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isDirectory();
  } catch {
    return false;
  }
}
