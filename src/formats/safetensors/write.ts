import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError } from '../../core/errors.ts';
import { encodeSafetensorsHeader } from './encode-header.ts';
import type { SafetensorsTensorSpec } from './encode-header.ts';
import { quoteForMessage } from './strict-json.ts';
import type { SafetensorsValidateOptions } from './types.ts';
import { validateSafetensorsFile } from './validate.ts';

export interface SafetensorsTensorInput extends SafetensorsTensorSpec {
  /** The raw little-endian bytes, whole or streamed (e.g. copied from another file chunk by chunk). */
  data: Uint8Array | AsyncIterable<Uint8Array>;
}

export interface WriteSafetensorsParams extends SafetensorsValidateOptions {
  path: string;
  tensors: readonly SafetensorsTensorInput[];
  metadata?: Readonly<Record<string, string>>;
  /** Mode of the new file; private by default. */
  mode?: number;
}

export interface WriteSafetensorsResult {
  path: string;
  fileSize: number;
  tensorCount: number;
}

/**
 * Write a safetensors file atomically: a temporary file in the target's folder, fsync, validation of what
 * was written, rename, fsync of the folder. Nothing at `path` is replaced before success, and a failure at
 * any point (bad input, a short stream, a full disk, a kill) leaves no partial output under `path`.
 */
export async function writeSafetensors(params: WriteSafetensorsParams): Promise<WriteSafetensorsResult> {
  const { prefix, layout, fileSize } = encodeSafetensorsHeader(params);
  const directory = path.dirname(params.path);
  const temp = path.join(directory, `.${path.basename(params.path)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx', params.mode ?? 0o600);
    await writeAll(handle, prefix, 0);
    for (const entry of layout) {
      await writeTensor(handle, entry.tensor, prefix.length + entry.begin, entry.end - entry.begin);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    const check = await validateSafetensorsFile({ ...params, path: temp });
    if (!check.ok) {
      throw new LorasmithError({
        code: 'safetensors.write_invalid',
        message: `the written file failed validation: ${check.reason.message}`,
        hint: 'This is a bug or a disk problem; nothing was replaced. Retry, and report it if it persists.',
      });
    }
    await rename(temp, params.path);
    await syncDirectory(directory);
    return { path: params.path, fileSize, tensorCount: layout.length };
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true });
    if (error instanceof LorasmithError) throw error;
    throw new LorasmithError({
      code: 'formats.write_failed',
      message: `could not write ${params.path}`,
      hint: 'Check free disk space and that the folder is writable; nothing was replaced.',
      cause: error,
    });
  }
}

async function writeTensor(handle: FileHandle, tensor: SafetensorsTensorInput, position: number, expected: number): Promise<void> {
  const label = `tensor ${quoteForMessage(tensor.name)}`;
  const mismatch = (got: string): LorasmithError =>
    new LorasmithError({
      code: 'safetensors.write_invalid',
      message: `${label} has ${got} bytes of data, but ${tensor.dtype} × [${tensor.shape.join(', ')}] needs ${expected}`,
      hint: 'Pass exactly the raw bytes of the tensor (little-endian, C order).',
    });
  if (tensor.data instanceof Uint8Array) {
    if (tensor.data.length !== expected) throw mismatch(String(tensor.data.length));
    await writeAll(handle, tensor.data, position);
    return;
  }
  let written = 0;
  for await (const chunk of tensor.data) {
    if (written + chunk.length > expected) throw mismatch(`more than ${expected}`);
    await writeAll(handle, chunk, position + written);
    written += chunk.length;
  }
  if (written !== expected) throw mismatch(String(written));
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** Make the rename durable: fsync the folder entry, as the temp file's own fsync does not cover it. */
async function syncDirectory(directory: string): Promise<void> {
  const dir = await open(directory, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
