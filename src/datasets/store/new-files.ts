/**
 * Creating files and folders in a tree that untrusted input names (ARC-R05): a file is always new
 * (O_EXCL, O_NOFOLLOW: never through a link, never over anything), and after each mkdir the folder's
 * realpath must still be inside the root, so a link planted between checks cannot redirect a write.
 */
import { constants as fsConstants } from 'node:fs';
import { lstat, mkdir, open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError, errnoCode } from '../../core/errors.ts';

const NEW_FILE = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;

export async function writeNewFile(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, NEW_FILE, 0o600);
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

function escaped(dir: string): LorasmithError {
  return new LorasmithError({
    code: 'path-refused',
    message: `The folder ${JSON.stringify(dir)} leads outside the dataset through a symlink.`,
    hint: 'Something changed the dataset folder while lorasmith wrote to it; remove the link and try again.',
    exitCode: 1,
    status: 409,
  });
}

/**
 * mkdir -p of `relative` below `root` (0700), one segment at a time: each segment is created or must be a
 * real folder (not a link), and its realpath must stay inside `realpath(root)`. Returns the folder's path.
 */
export async function makeDirInside(params: { root: string; segments: readonly string[] }): Promise<string> {
  const realRoot = await realpath(params.root);
  let dir = realRoot;
  for (const segment of params.segments) {
    dir = path.join(dir, segment);
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      if (!(await lstat(dir)).isDirectory()) throw escaped(dir);
    }
    const real = await realpath(dir);
    if (real !== dir || path.relative(realRoot, real).startsWith('..')) throw escaped(dir);
  }
  return dir;
}
