/**
 * Opening a file the engine may have planted (PROC-R05 "collecting artefacts"): only a regular file whose real
 * path stays inside `root` (the run's `work/`). `O_NOFOLLOW` refuses a symlink as the last name, `O_NONBLOCK`
 * keeps a FIFO from blocking the open, and the opened descriptor's own path (`/proc/self/fd/N`) is checked
 * against `root`, so a folder above the file swapped for a link between the check and the open is caught too.
 */
import { constants, type Stats } from 'node:fs';
import { open, readlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../../core/errors.ts';

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Why a file was not taken. */
export type RefusalReason = 'symlink' | 'symlinked-dir' | 'not-regular' | 'outside' | 'gone';

export type ContainedOpen = { handle: FileHandle; stats: Stats; real: string } | { refused: RefusalReason };

/** Whether `candidate` is strictly below `root` (both absolute, normalised). */
export function isStrictlyInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/**
 * Open `file` for reading if it is a regular file inside `root` (a realpath). The caller closes the handle.
 * Never follows a link; a refusal says why.
 */
export async function openContainedFile(root: string, file: string): Promise<ContainedOpen> {
  if (!isStrictlyInside(root, path.resolve(file))) return { refused: 'outside' };
  let handle: FileHandle;
  try {
    handle = await open(file, OPEN_FLAGS);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { refused: 'gone' };
    if (code === 'ELOOP') return { refused: 'symlink' };
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      await handle.close();
      return { refused: 'not-regular' };
    }
    const real = await readlink(`/proc/self/fd/${handle.fd}`);
    if (!isStrictlyInside(root, real)) {
      await handle.close();
      return { refused: 'outside' };
    }
    return { handle, stats, real };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
