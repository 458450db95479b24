/**
 * Worker thread of a big download (download-sink.ts): hashes each slot the main thread filled (SHA-256,
 * and the git-blob SHA-1 when asked) and writes it to the partial file, so TLS decryption and HTTP
 * parsing keep the main thread's core while hashing and writing use the other.
 *
 * A slot is written in 32 KiB pieces, synchronously (a few µs each on this thread, no thread-pool round
 * trip): big writes cost far more system time in the page cache here (Linux 6.18, ext4, a VM; 2 GiB with
 * dd: 0.7–1.1 s in 16–32 KiB blocks, 2.5–5.3 s in 2 MiB blocks; larger writes get larger page-cache
 * folios, costlier to allocate).
 */
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

export interface DownloadWorkerData {
  slots: SharedArrayBuffer[];
  /** Set for a git-blob SHA-1: the `blob <size>\0` header is hashed first. */
  gitBlobSize: number | undefined;
}
/** Hash a slot's first `length` bytes, and write them at `position` of `fd` when `write` is given. */
export type DownloadWorkerRequest = { slot: number; length: number; write?: { fd: number; position: number } } | { finish: true };
export type DownloadWorkerReply =
  | { done: number }
  | { failed: number; error: { code: string | undefined; message: string } }
  | { sha256: string; gitSha1: string | undefined };

const WRITE_PIECE = 32 * 1024;

const port = parentPort;
const { slots, gitBlobSize } = workerData as DownloadWorkerData;
const sha256 = createHash('sha256');
const sha1 = gitBlobSize === undefined ? undefined : createHash('sha1').update(`blob ${gitBlobSize}\0`);
let failed = false;

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    const written = writeSync(fd, bytes, done, Math.min(WRITE_PIECE, bytes.length - done), position + done);
    if (written <= 0) throw new Error('A write to the download file made no progress.');
    done += written;
  }
}

port?.on('message', (request: DownloadWorkerRequest) => {
  // After a failed write nothing more is written: the file stays a prefix of what was sent.
  if (failed) return;
  if ('finish' in request) {
    port.postMessage({ sha256: sha256.digest('hex'), gitSha1: sha1?.digest('hex') } satisfies DownloadWorkerReply);
    return;
  }
  const slot = slots[request.slot];
  // A bad slot is a bug in the caller; failing the worker fails the download rather than passing a wrong digest.
  if (slot === undefined) throw new Error(`no download slot ${request.slot}`);
  const bytes = new Uint8Array(slot, 0, request.length);
  sha256.update(bytes);
  sha1?.update(bytes);
  if (request.write !== undefined) {
    try {
      writeAll(request.write.fd, bytes, request.write.position);
    } catch (error) {
      failed = true;
      const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
      port.postMessage({ failed: request.slot, error: { code, message: error instanceof Error ? error.message : String(error) } } satisfies DownloadWorkerReply);
      return;
    }
  }
  port.postMessage({ done: request.slot } satisfies DownloadWorkerReply);
});
