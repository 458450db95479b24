import { open } from 'node:fs/promises';
import { readFailed, readFully } from '../read-head.ts';
import { DEFAULT_GGUF_LIMITS, validateGgufHeader } from './validate.ts';
import type { GgufLimits, GgufValidation } from './validate.ts';

const FIRST_READ_BYTES = 1024 * 1024;

/**
 * Validate a GGUF file's header without reading its tensor data: read a prefix (1 MiB first, doubling
 * while the header needs more, up to `maxHeaderBytes`) and validate it against the real file size.
 */
export async function validateGgufFile(params: { path: string; limits?: Partial<GgufLimits> }): Promise<GgufValidation> {
  const limits = { ...DEFAULT_GGUF_LIMITS, ...params.limits };
  try {
    const handle = await open(params.path, 'r');
    try {
      const { size } = await handle.stat();
      let want = Math.min(size, FIRST_READ_BYTES, limits.maxHeaderBytes);
      for (;;) {
        const prefix = new Uint8Array(want);
        const done = await readFully(handle, prefix, 0);
        const result = validateGgufHeader({ bytes: prefix.subarray(0, done), fileSize: size, limits });
        const needsMore = !result.ok && result.reason.code === 'gguf.header_too_large';
        if (!needsMore || want >= Math.min(size, limits.maxHeaderBytes) || done < want) return result;
        want = Math.min(want * 2, size, limits.maxHeaderBytes);
      }
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw readFailed(params.path, error);
  }
}
