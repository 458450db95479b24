import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { LorasmithError } from '../../core/errors.ts';
import { readFailed, readFully } from '../read-head.ts';
import { resolveSafetensorsLimits } from './types.ts';
import type { SafetensorsRejection } from './types.ts';

/** The header bytes of a safetensors file, read without touching its data buffer. */
export interface SafetensorsHeaderBytes {
  /** The N header bytes (a view, not a copy, when read from a buffer). */
  headerBytes: Uint8Array;
  fileSize: number;
}

export type SafetensorsHeaderRead = ({ ok: true } & SafetensorsHeaderBytes) | { ok: false; reason: SafetensorsRejection };

export interface ReadHeaderOptions {
  /** Product header cap (ST-R01); default 25,000,000, never above 100,000,000. */
  maxHeaderBytes?: number;
}

/**
 * ST-R01 on the 8-byte prefix: the length is an unsigned 64-bit value, compared as a BigInt with both caps
 * and the file size before anything of size N is allocated (ST-A01, ST-A03).
 */
export function checkHeaderLength(params: {
  headerLength: bigint;
  fileSize: bigint;
  maxHeaderBytes?: number;
}): SafetensorsRejection | undefined {
  const { headerLength, fileSize } = params;
  // resolveSafetensorsLimits clamps the product cap to the reference's 100,000,000, so one compare covers both.
  const cap = resolveSafetensorsLimits(params.maxHeaderBytes === undefined ? {} : { maxHeaderBytes: params.maxHeaderBytes }).maxHeaderBytes;
  if (fileSize < 8n) {
    return { code: 'st.file_too_small', message: `the file is ${fileSize} bytes long, shorter than the 8-byte header length` };
  }
  if (headerLength > BigInt(cap)) {
    return {
      code: 'st.header_too_large',
      message: `the header length ${headerLength} is above the limit of ${cap} bytes`,
      offset: 0,
    };
  }
  if (8n + headerLength > fileSize) {
    return {
      code: 'st.header_length',
      message: `the header length ${headerLength} runs past the end of the ${fileSize}-byte file`,
      offset: 0,
    };
  }
  return undefined;
}

export function readSafetensorsHeaderFromBuffer(params: { bytes: Uint8Array } & ReadHeaderOptions): SafetensorsHeaderRead {
  const { bytes } = params;
  const fileSize = BigInt(bytes.length);
  const headerLength = bytes.length >= 8 ? new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true) : 0n;
  const reason = checkHeaderLength({ headerLength, fileSize, maxHeaderBytes: params.maxHeaderBytes });
  if (reason !== undefined) return { ok: false, reason };
  return { ok: true, headerBytes: bytes.subarray(8, 8 + Number(headerLength)), fileSize: bytes.length };
}

/**
 * Read the length prefix and the header with positional reads. The data buffer is never read: scanning a
 * 20 GB checkpoint costs two small reads.
 */
export async function readSafetensorsHeader(params: { path: string } & ReadHeaderOptions): Promise<SafetensorsHeaderRead> {
  const { path } = params;
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) {
      throw new LorasmithError({
        code: 'formats.not_a_file',
        message: `${path} is not a regular file`,
        hint: 'Point to the .safetensors file itself, not a folder or device.',
      });
    }
    const prefix = new Uint8Array(8);
    const prefixRead = stat.size >= 8n ? await readFully(handle, prefix, 0) : 0;
    const headerLength = prefixRead === 8 ? new DataView(prefix.buffer).getBigUint64(0, true) : 0n;
    const reason = checkHeaderLength({ headerLength, fileSize: stat.size, maxHeaderBytes: params.maxHeaderBytes });
    if (reason !== undefined) return { ok: false, reason };
    const headerBytes = new Uint8Array(Number(headerLength));
    const got = await readFully(handle, headerBytes, 8);
    if (got !== headerBytes.length) {
      return {
        ok: false,
        reason: { code: 'st.header_length', message: 'the file ended inside the header (was it changed while being read?)', offset: 8 + got },
      };
    }
    return { ok: true, headerBytes, fileSize: Number(stat.size) };
  } catch (error) {
    if (error instanceof LorasmithError) throw error;
    throw readFailed(path, error);
  } finally {
    await handle?.close();
  }
}
