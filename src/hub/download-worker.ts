/**
 * Worker thread of a big download (download-sink.ts): writes each slot the main thread filled (and
 * hashed) to the partial file, so the page-cache writes keep off the thread that decrypts TLS and parses
 * HTTP.
 *
 * A slot is written in 32 KiB pieces, synchronously (a few µs each on this thread, no thread-pool round
 * trip): big writes cost far more system time in the page cache here (Linux 6.18, ext4, a VM; 2 GiB with
 * dd: 0.7–1.1 s in 16–32 KiB blocks, 2.5–5.3 s in 2 MiB blocks; larger writes get larger page-cache
 * folios, costlier to allocate).
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

export interface DownloadWorkerData {
  slots: SharedArrayBuffer[];
}
/** Write a slot's first `length` bytes at `position` of `fd`. */
export interface DownloadWorkerRequest {
  slot: number;
  length: number;
  fd: number;
  position: number;
}
export type DownloadWorkerReply = { done: number } | { failed: number; error: { code: string | undefined; message: string } };

const WRITE_PIECE = 32 * 1024;

const port = parentPort;
const { slots } = workerData as DownloadWorkerData;
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
  const slot = slots[request.slot];
  // A bad slot is a bug in the caller; failing the worker fails the download rather than writing wrong bytes.
  if (slot === undefined) throw new Error(`no download slot ${request.slot}`);
  try {
    writeAll(request.fd, new Uint8Array(slot, 0, request.length), request.position);
  } catch (error) {
    failed = true;
    const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    port.postMessage({ failed: request.slot, error: { code, message: error instanceof Error ? error.message : String(error) } } satisfies DownloadWorkerReply);
    return;
  }
  port.postMessage({ done: request.slot } satisfies DownloadWorkerReply);
});
