import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { LorasmithError } from '../core/errors.ts';

/** The first `length` bytes of a file (fewer if it is shorter). */
export async function readHead(path: string, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Positional read until `target` is full or the file ends; returns the bytes read. */
export async function readFully(handle: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** The error every format reader gives when the file system fails it (not when the content is bad). */
export function readFailed(path: string, cause: unknown, what: 'file' | 'folder' = 'file'): LorasmithError {
  return new LorasmithError({
    code: 'formats.read_failed',
    message: `could not read ${what === 'folder' ? 'the folder ' : ''}${path}`,
    hint: `Check that the ${what} exists and is readable by the lorasmith user.`,
    cause,
  });
}
