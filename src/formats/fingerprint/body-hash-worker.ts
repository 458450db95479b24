/**
 * Worker thread for hashModelFile: hashes the safetensors body (kohya `sshs_model_hash`) while the main
 * thread hashes the whole file, so a big file costs one read and about the wall time of one SHA-256.
 * The chunks live in SharedArrayBuffers the main thread fills; nothing is copied.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

export type BodyHashRequest = { slot: number; start: number; end: number } | { finish: true };
export type BodyHashReply = { done: number } | { digest: string };

const port = parentPort;
const slots = (workerData as { slots: SharedArrayBuffer[] }).slots;
const hash = createHash('sha256');

port?.on('message', (request: BodyHashRequest) => {
  if ('finish' in request) {
    port.postMessage({ digest: hash.digest('hex') } satisfies BodyHashReply);
    return;
  }
  const slot = slots[request.slot];
  // A bad slot is a bug in the caller; failing the worker fails the hash rather than returning a wrong one.
  if (slot === undefined) throw new Error(`no chunk slot ${request.slot}`);
  hash.update(new Uint8Array(slot, request.start, request.end - request.start));
  port.postMessage({ done: request.slot } satisfies BodyHashReply);
});
