import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { errnoCode, LorasmithError } from '../../core/errors.ts';
import type { BodyHashReply, BodyHashRequest } from './body-hash-worker.ts';

/**
 * Hashes of one model file. All hex is lower-case; Civitai prints its hashes upper-case, so compare
 * case-insensitively. Definitions: hub-downloads.md §3.1 "Hash definitions", kohya-sd-scripts.md §6.
 */
export interface ModelFileHashes {
  size: number;
  /** Full-file SHA-256: the only one fit for integrity checks. */
  sha256: string;
  /** Civitai AutoV2: the first 10 hex of the full-file SHA-256 (identification only). */
  autoV2: string;
  /** Civitai AutoV1 / A1111 legacy `model_hash`: SHA-256 of 0x10000 bytes at 0x100000, first 8 hex; null under 2 MiB. */
  autoV1: string | null;
  /**
   * kohya `sshs_model_hash`: SHA-256 of the safetensors body (everything after the 8 + N header bytes); null
   * when the file does not start like a safetensors file. `sshs_legacy_hash` is not recomputable from the
   * saved file (§6), so it is not here: read it from the metadata as an opaque value.
   */
  sshsModelHash: string | null;
  /** Civitai AutoV3: the first 12 hex of the body hash (the A1111 "addnet" hash). */
  autoV3: string | null;
}

export interface HashModelFileParams {
  path: string;
  /** Called after each chunk with the bytes hashed so far and the size at the start. */
  onProgress?: (bytesDone: number, total: number) => void;
  signal?: AbortSignal;
  /** Read size; big reads keep the hash, not the system calls, the bottleneck. */
  chunkBytes?: number;
  /** A body at least this long is hashed on a worker thread, in parallel with the full-file hash. */
  parallelBodyFrom?: number;
}

const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
const DEFAULT_PARALLEL_BODY_FROM = 64 * 1024 * 1024;
/** Three chunks in flight: one being read, one hashed here, one hashed by the worker. */
const SLOTS = 3;
const AUTOV1_OFFSET = 0x100000;
const AUTOV1_LENGTH = 0x10000;
const AUTOV1_MIN_SIZE = 2 * 1024 * 1024;

/**
 * Where the safetensors body starts (8 + N), or null when the first bytes are not a plausible header:
 * N must fit in the file and the header must open a JSON object. Validation proper is the reader's job.
 */
export function safetensorsBodyStart(head: Uint8Array, size: number): number | null {
  if (head.length < 9 || head[8] !== 0x7b) return null;
  const headerLength = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(size - 8)) return null;
  return 8 + Number(headerLength);
}

interface BodyHasher {
  /** Hash bytes [start, end) of a slot; resolves when the slot may be refilled. */
  feed(slot: number, start: number, end: number): Promise<void>;
  digest(): Promise<string>;
  close(): Promise<void>;
}

function inlineBodyHasher(slots: readonly Uint8Array[]): BodyHasher {
  const hash = createHash('sha256');
  return {
    feed(slot, start, end) {
      hash.update(slotView(slots, slot).subarray(start, end));
      return Promise.resolve();
    },
    digest: () => Promise.resolve(hash.digest('hex')),
    close: () => Promise.resolve(),
  };
}

function workerBodyHasher(shared: readonly SharedArrayBuffer[]): BodyHasher {
  const worker = new Worker(new URL('./body-hash-worker.ts', import.meta.url), { workerData: { slots: shared } });
  const waiting = new Map<number, () => void>();
  let finished: ((digest: string) => void) | undefined;
  let failure: unknown;
  const failed = new Promise<never>((_, reject) => {
    worker.once('error', (error) => {
      failure = error;
      reject(error);
    });
  });
  failed.catch(() => undefined); // observed through the races below
  worker.on('message', (reply: BodyHashReply) => {
    if ('digest' in reply) finished?.(reply.digest);
    else waiting.get(reply.done)?.();
  });
  const post = (request: BodyHashRequest): void => worker.postMessage(request);
  return {
    feed(slot, start, end) {
      if (failure !== undefined) return Promise.reject(failure);
      const done = new Promise<void>((resolve) => waiting.set(slot, resolve));
      post({ slot, start, end });
      return Promise.race([done, failed]);
    },
    digest() {
      const digest = new Promise<string>((resolve) => {
        finished = resolve;
      });
      post({ finish: true });
      return Promise.race([digest, failed]);
    },
    close: async () => {
      await worker.terminate();
    },
  };
}

function slotView(slots: readonly Uint8Array[], slot: number): Uint8Array {
  const view = slots[slot];
  if (view === undefined) throw new Error(`no chunk slot ${slot}`);
  return view;
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new LorasmithError({ code: 'cancelled', message: 'Hashing was cancelled.', cause: signal.reason });
  }
}

function ioError(file: string, error: unknown): LorasmithError {
  const code = errnoCode(error);
  return new LorasmithError({
    code: code === 'ENOENT' ? 'not-found' : 'io',
    message: `Could not read ${path.basename(file)} to hash it${code === undefined ? '' : ` (${code})`}.`,
    hint: 'Check that the file exists and is readable, then try again.',
    cause: error,
  });
}

/**
 * SHA-256, AutoV2, AutoV1, kohya `sshs_model_hash` and AutoV3 of a file in one read. The next chunk is
 * read while this one is hashed; for a big safetensors body a worker hashes the body at the same time.
 */
export async function hashModelFile(params: HashModelFileParams): Promise<ModelFileHashes> {
  const chunkBytes = params.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const parallelBodyFrom = params.parallelBodyFrom ?? DEFAULT_PARALLEL_BODY_FROM;
  const { signal, onProgress } = params;
  throwIfCancelled(signal);

  let handle: FileHandle;
  let size: number;
  try {
    handle = await open(params.path, 'r');
    size = (await handle.stat()).size;
  } catch (error) {
    throw ioError(params.path, error);
  }

  const shared = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(chunkBytes));
  const slots = shared.map((buffer) => new Uint8Array(buffer));
  const busy: Array<Promise<void>> = slots.map(() => Promise.resolve());
  const full = createHash('sha256');
  const autoV1 = createHash('sha256');
  let body: BodyHasher | null = null;
  let bodyStart = 0;
  let offset = 0;
  let slot = 0;
  let reading = handle.read(slotView(slots, 0), 0, chunkBytes, 0);
  try {
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await reading);
      } catch (error) {
        throw ioError(params.path, error);
      }
      if (bytesRead === 0) break;
      const view = slotView(slots, slot).subarray(0, bytesRead);
      if (offset === 0) {
        const start = safetensorsBodyStart(view, size);
        if (start !== null) {
          bodyStart = start;
          body = size - start >= parallelBodyFrom ? workerBodyHasher(shared) : inlineBodyHasher(slots);
        }
      }

      const next = (slot + 1) % SLOTS;
      await busy[next];
      throwIfCancelled(signal);
      reading = handle.read(slotView(slots, next), 0, chunkBytes, offset + bytesRead);

      full.update(view);
      const windowStart = Math.max(AUTOV1_OFFSET, offset);
      const windowEnd = Math.min(AUTOV1_OFFSET + AUTOV1_LENGTH, offset + bytesRead);
      if (windowStart < windowEnd) autoV1.update(view.subarray(windowStart - offset, windowEnd - offset));
      if (body !== null && offset + bytesRead > bodyStart) {
        const fed = body.feed(slot, Math.max(0, bodyStart - offset), bytesRead);
        // Awaited only when the slot comes round again; mark it handled so a worker failure in between
        // is not an unhandled rejection (which would end the process) but the error of that await.
        fed.catch(() => undefined);
        busy[slot] = fed;
      }
      offset += bytesRead;
      onProgress?.(offset, size);
      slot = next;
    }

    const sha256 = full.digest('hex');
    await Promise.all(busy);
    const sshsModelHash = body === null ? null : await body.digest();
    return {
      size: offset,
      sha256,
      autoV2: sha256.slice(0, 10),
      autoV1: offset >= AUTOV1_MIN_SIZE ? autoV1.digest('hex').slice(0, 8) : null,
      sshsModelHash,
      autoV3: sshsModelHash === null ? null : sshsModelHash.slice(0, 12),
    };
  } finally {
    // The read in flight writes into a slot; let it land before the handle closes.
    await reading.catch(() => undefined);
    await Promise.allSettled(busy);
    await body?.close();
    await handle.close();
  }
}
