/**
 * Where a download's bytes go as they stream: the digests (SHA-256, and the git-blob SHA-1
 * `blob <size>\0…` when asked) and the partial file, without a hash call and an awaited write per 16 KiB
 * TLS record, and for a big download on a worker thread.
 *
 * Why: the main thread already spends a core decrypting TLS and parsing HTTP, SHA-256 costs about as much
 * again, and one awaited write per record (131,072 for 2 GiB) stalls the socket each time. Here the main
 * thread only copies each record into one of a few 2 MiB slots; a full slot is hashed and written — on the
 * worker (download-worker.ts), or inline for small downloads, where a worker's start-up would cost more
 * than it saves — and refilled once that is done. Slots are written strictly in order, one at a time, so
 * the file is always a prefix of what was pushed, and after `flush()` it holds every pushed byte: a kept
 * partial ends exactly where the transfer stopped, which resume relies on.
 *
 * Bytes pushed before `attach` (the partial's prefix on a resume) are only hashed. Every `syncEveryBytes`
 * written, an fdatasync runs in the background: otherwise the kernel keeps a multi-GiB download dirty and
 * the final `sync()` before the rename writes all of it back after the last byte arrived.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { DownloadWorkerData, DownloadWorkerReply, DownloadWorkerRequest } from './download-worker.ts';

export interface DownloadDigests {
  sha256: string;
  /** Set when a git-blob size was given. */
  gitSha1: string | undefined;
}

export interface DownloadSinkParams {
  /** The exact file size, to compute the git-blob SHA-1 as well. */
  gitBlobSize?: number;
  /** Hash and write on a worker thread (big downloads) instead of on this one. */
  worker: boolean;
  /** Bytes written between background fdatasyncs; default 128 MiB. */
  syncEveryBytes?: number;
}

/**
 * 16 MiB in all: one slot filling, one being hashed and written, the rest slack for the worker's stalls
 * (a page-cache write can take tens of ms on a busy machine), during which the socket would be paused.
 * Measured per 2 GiB on the loaded 2-core machine: four slots 90–180 waits, eight 30–50.
 */
const SLOTS = 8;
const SLOT_BYTES = 2 * 1024 * 1024;
const DEFAULT_SYNC_EVERY_BYTES = 128 * 1024 * 1024;

interface Slot {
  bytes: Uint8Array;
  used: number;
  /** Sealed and not yet hashed (and written): it may not be refilled. */
  busy: boolean;
  /** Its bytes go to the file (pushed after `attach`). */
  written: boolean;
}

interface SlotWrite {
  handle: FileHandle;
  position: number;
}

/** Hashes sealed slots in order, writes those with a `write`, and reports each one done, or a failure. */
interface SlotProcessor {
  process(slot: number, length: number, write: SlotWrite | undefined): void;
  digest(): Promise<DownloadDigests>;
  close(): Promise<void>;
}

interface ProcessorEvents {
  done: (slot: number) => void;
  failed: (error: unknown) => void;
}

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export class DownloadSink {
  readonly #slots: Slot[];
  readonly #processor: SlotProcessor;
  readonly #syncEvery: number;
  #current = 0;
  #file: SlotWrite | undefined;
  #syncing = false;
  #unsynced = 0;
  #failure: { error: unknown } | undefined;
  /** The processor failed: it hashes and writes nothing more, so busy slots stay busy. */
  #stopped = false;
  #closed = false;
  #slotFree: (Pending<void> & { slot: number }) | undefined;
  #settled: Array<Pending<void>> = [];

  constructor(params: DownloadSinkParams) {
    const buffers = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(SLOT_BYTES));
    this.#slots = buffers.map((buffer) => ({ bytes: new Uint8Array(buffer), used: 0, busy: false, written: false }));
    this.#syncEvery = params.syncEveryBytes ?? DEFAULT_SYNC_EVERY_BYTES;
    const events: ProcessorEvents = {
      done: (slot) => this.#done(slot),
      failed: (error) => {
        this.#stopped = true;
        this.#fail(error);
      },
    };
    this.#processor = params.worker
      ? workerProcessor(buffers, params.gitBlobSize, events)
      : inlineProcessor(
          this.#slots.map((slot) => slot.bytes),
          params.gitBlobSize,
          events,
        );
  }

  /**
   * Take the next bytes. Returns a promise to await before the next call when every slot is busy (the
   * chunk must stay unchanged until it settles), else undefined; throws once hashing or writing failed.
   */
  push(chunk: Uint8Array): Promise<void> | undefined {
    if (this.#failure !== undefined) throw this.#failure.error;
    return this.#copy(chunk, 0);
  }

  /** From now on, write what is pushed to `handle` from `position` on (bytes pushed so far are only hashed). */
  attach(handle: FileHandle, position: number): void {
    this.#seal();
    this.#file = { handle, position };
  }

  /**
   * Hash and write everything pushed so far. Rejects with the first failure, but only once nothing writes
   * or syncs any more, so the file can be closed or removed right after either way.
   */
  flush(): Promise<void> {
    this.#seal();
    if (!this.#busy()) return this.#failure === undefined ? Promise.resolve() : Promise.reject(this.#failure.error);
    return new Promise<void>((resolve, reject) => this.#settled.push({ resolve, reject }));
  }

  /** The digests of everything pushed; call once, after the last push. */
  async digest(): Promise<DownloadDigests> {
    await this.flush();
    return await this.#processor.digest();
  }

  /** Release the worker; safe to call more than once, and after a failure. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#processor.close();
  }

  #copy(chunk: Uint8Array, from: number): Promise<void> | undefined {
    let offset = from;
    while (offset < chunk.length) {
      const slot = this.#slot(this.#current);
      if (slot.busy) return this.#copyWhenFree(chunk, offset);
      const count = Math.min(slot.bytes.length - slot.used, chunk.length - offset);
      slot.bytes.set(offset === 0 && count === chunk.length ? chunk : chunk.subarray(offset, offset + count), slot.used);
      slot.used += count;
      offset += count;
      if (slot.used === slot.bytes.length) this.#seal();
    }
    return undefined;
  }

  async #copyWhenFree(chunk: Uint8Array, offset: number): Promise<void> {
    const slot = this.#current;
    await new Promise<void>((resolve, reject) => {
      this.#slotFree = { slot, resolve, reject };
    });
    const more = this.#copy(chunk, offset);
    if (more !== undefined) await more;
  }

  /** Hand the filling slot over to be hashed (and written, once attached) and move on to the next one. */
  #seal(): void {
    const index = this.#current;
    const slot = this.#slot(index);
    if (slot.used === 0 || slot.busy || this.#failure !== undefined) return;
    this.#current = (index + 1) % this.#slots.length;
    slot.busy = true;
    slot.written = this.#file !== undefined;
    let write: SlotWrite | undefined;
    if (this.#file !== undefined) {
      write = { handle: this.#file.handle, position: this.#file.position };
      this.#file.position += slot.used;
    }
    this.#processor.process(index, slot.used, write);
  }

  #done(index: number): void {
    const slot = this.#slot(index);
    slot.busy = false;
    if (slot.written) {
      this.#unsynced += slot.used;
      this.#maybeSync();
    }
    slot.used = 0;
    const waiter = this.#slotFree;
    if (waiter?.slot === index) {
      this.#slotFree = undefined;
      waiter.resolve();
    }
    this.#checkSettled();
  }

  #maybeSync(): void {
    const handle = this.#file?.handle;
    if (handle === undefined || this.#syncing || this.#unsynced < this.#syncEvery || this.#failure !== undefined) return;
    this.#unsynced = 0;
    this.#syncing = true;
    handle.datasync().then(
      () => {
        this.#syncing = false;
        this.#maybeSync();
        this.#checkSettled();
      },
      (error: unknown) => {
        this.#syncing = false;
        this.#fail(error);
      },
    );
  }

  /** Whether a write or a sync may still be running. */
  #busy(): boolean {
    if (this.#syncing) return true;
    return !this.#stopped && this.#slots.some((slot) => slot.busy);
  }

  #checkSettled(): void {
    if (this.#busy()) return;
    const waiters = this.#settled;
    this.#settled = [];
    for (const waiter of waiters) {
      if (this.#failure === undefined) waiter.resolve();
      else waiter.reject(this.#failure.error);
    }
  }

  #fail(error: unknown): void {
    if (this.#failure === undefined && !this.#closed) {
      this.#failure = { error };
      const waiter = this.#slotFree;
      this.#slotFree = undefined;
      waiter?.reject(error);
    }
    this.#checkSettled();
  }

  #slot(index: number): Slot {
    const slot = this.#slots[index];
    if (slot === undefined) throw new Error(`no download slot ${index}`);
    return slot;
  }
}

function inlineProcessor(slots: readonly Uint8Array[], gitBlobSize: number | undefined, events: ProcessorEvents): SlotProcessor {
  const sha256 = createHash('sha256');
  const sha1 = gitBlobSize === undefined ? undefined : createHash('sha1').update(`blob ${gitBlobSize}\0`);
  const queue: Array<{ slot: number; bytes: Uint8Array; write: SlotWrite }> = [];
  let writing = false;
  let failed = false;
  const writeNext = (): void => {
    const next = queue[0];
    if (writing || failed || next === undefined) return;
    queue.shift();
    writing = true;
    writeFully(next.write.handle, next.bytes, next.write.position).then(
      () => {
        writing = false;
        events.done(next.slot);
        writeNext();
      },
      (error: unknown) => {
        writing = false;
        failed = true;
        events.failed(error);
      },
    );
  };
  return {
    process(slot, length, write) {
      const bytes = slots[slot]?.subarray(0, length);
      if (bytes === undefined) throw new Error(`no download slot ${slot}`);
      sha256.update(bytes);
      sha1?.update(bytes);
      if (write === undefined) {
        events.done(slot);
        return;
      }
      queue.push({ slot, bytes, write });
      writeNext();
    },
    digest: () => Promise.resolve({ sha256: sha256.digest('hex'), gitSha1: sha1?.digest('hex') }),
    close: () => Promise.resolve(),
  };
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('A write to the download file made no progress.');
    done += bytesWritten;
  }
}

function workerProcessor(slots: SharedArrayBuffer[], gitBlobSize: number | undefined, events: ProcessorEvents): SlotProcessor {
  const workerData: DownloadWorkerData = { slots, gitBlobSize };
  const worker = new Worker(new URL('./download-worker.ts', import.meta.url), { workerData });
  let finished: Pending<DownloadDigests> | undefined;
  let failure: { error: unknown } | undefined;
  let closing = false;
  const fail = (error: unknown): void => {
    if (closing || failure !== undefined) return;
    failure = { error };
    const waiter = finished;
    finished = undefined;
    waiter?.reject(error);
    events.failed(error);
  };
  worker.on('message', (reply: DownloadWorkerReply) => {
    if ('done' in reply) events.done(reply.done);
    else if ('failed' in reply) fail(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    else {
      const waiter = finished;
      finished = undefined;
      waiter?.resolve(reply);
    }
  });
  worker.once('error', fail);
  worker.once('exit', (code) => fail(new Error(`The download worker stopped early (exit code ${code}).`)));
  const post = (request: DownloadWorkerRequest): void => worker.postMessage(request);
  return {
    process(slot, length, write) {
      post(write === undefined ? { slot, length } : { slot, length, write: { fd: write.handle.fd, position: write.position } });
    },
    async digest() {
      if (failure !== undefined) throw failure.error;
      const result = new Promise<DownloadDigests>((resolve, reject) => {
        finished = { resolve, reject };
      });
      post({ finish: true });
      return await result;
    },
    async close() {
      closing = true;
      // Once terminated the worker no longer touches the file descriptor, which the caller then closes.
      await worker.terminate();
    },
  };
}
