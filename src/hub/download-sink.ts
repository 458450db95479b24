/**
 * Where a download's bytes go as they stream: the digests (SHA-256, and the git-blob SHA-1
 * `blob <size>\0…` when asked) and the partial file, without an awaited write per 16 KiB TLS record, and
 * for a big download with the writing on a worker thread.
 *
 * Why this split: each record is hashed on the thread that received it, right after TLS decrypted it.
 * Hashing the 2 MiB slots on the worker instead took 1.14× as long in all (2 GiB from the loopback double
 * on the 2-core machine, 8 alternating pairs): the worker shares its core with the server, which then
 * carried server, hash and writes (≈ 5.5 s of CPU) while this thread idled half the time; with the hash
 * here each core carries ≈ 4.5 s. Writing stays off this thread: one awaited write per record (131,072
 * for 2 GiB) would stall the socket each time. So the records are copied into a few 2 MiB slots; a full
 * slot is written — on the worker (download-worker.ts), or through the thread pool for small downloads,
 * where a worker's start-up would cost more than it saves — and refilled once written. Slots are written
 * strictly in order, one at a time, so the file is always a prefix of what was pushed, and after
 * `flush()` it holds every pushed byte: a kept partial ends exactly where the transfer stopped, which
 * resume relies on.
 *
 * Bytes pushed before `attach` (the partial's prefix on a resume) are only hashed. Every `syncEveryBytes`
 * written, an fdatasync runs in the background: otherwise the kernel keeps a multi-GiB download dirty and
 * the final `sync()` before the rename writes all of it back after the last byte arrived.
 */
import { createHash, type Hash } from 'node:crypto';
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
  /** Write on a worker thread (big downloads) instead of through this thread's thread pool. */
  worker: boolean;
  /** Bytes written between background fdatasyncs; default 128 MiB. */
  syncEveryBytes?: number;
}

/**
 * 16 MiB in all: one slot filling, one being written, the rest slack for the writer's stalls (a
 * page-cache write can take tens of ms on a busy machine), during which the socket would be paused.
 * Measured per 2 GiB on the loaded 2-core machine: four slots 90–180 waits, eight 30–50.
 */
const SLOTS = 8;
const SLOT_BYTES = 2 * 1024 * 1024;
const DEFAULT_SYNC_EVERY_BYTES = 128 * 1024 * 1024;

interface Slot {
  bytes: Uint8Array;
  used: number;
  /** Sealed and not yet written: it may not be refilled. */
  busy: boolean;
}

interface SlotWrite {
  handle: FileHandle;
  position: number;
}

/** Writes sealed slots in order and reports each one done, or a failure. */
interface SlotWriter {
  write(slot: number, length: number, write: SlotWrite): void;
  close(): Promise<void>;
}

interface WriterEvents {
  done: (slot: number) => void;
  failed: (error: unknown) => void;
}

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export class DownloadSink {
  readonly #sha256: Hash = createHash('sha256');
  readonly #sha1: Hash | undefined;
  readonly #slots: Slot[];
  readonly #writer: SlotWriter;
  readonly #syncEvery: number;
  #current = 0;
  #file: SlotWrite | undefined;
  #syncing = false;
  #unsynced = 0;
  #failure: { error: unknown } | undefined;
  /** The writer failed: it writes nothing more, so busy slots stay busy. */
  #stopped = false;
  #closed = false;
  #slotFree: (Pending<void> & { slot: number }) | undefined;
  #settled: Array<Pending<void>> = [];

  constructor(params: DownloadSinkParams) {
    this.#sha1 = params.gitBlobSize === undefined ? undefined : createHash('sha1').update(`blob ${params.gitBlobSize}\0`);
    const buffers = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(SLOT_BYTES));
    this.#slots = buffers.map((buffer) => ({ bytes: new Uint8Array(buffer), used: 0, busy: false }));
    this.#syncEvery = params.syncEveryBytes ?? DEFAULT_SYNC_EVERY_BYTES;
    const events: WriterEvents = {
      done: (slot) => this.#done(slot),
      failed: (error) => {
        this.#stopped = true;
        this.#fail(error);
      },
    };
    this.#writer = params.worker
      ? workerWriter(buffers, events)
      : inlineWriter(
          this.#slots.map((slot) => slot.bytes),
          events,
        );
  }

  /**
   * Take the next bytes. Returns a promise to await before the next call when every slot is busy (the
   * chunk must stay unchanged until it settles), else undefined; throws once writing failed.
   */
  push(chunk: Uint8Array): Promise<void> | undefined {
    if (this.#failure !== undefined) throw this.#failure.error;
    this.#sha256.update(chunk);
    this.#sha1?.update(chunk);
    return this.#file === undefined ? undefined : this.#copy(chunk, 0);
  }

  /** From now on, write what is pushed to `handle` from `position` on (bytes pushed so far are only hashed). */
  attach(handle: FileHandle, position: number): void {
    this.#file = { handle, position };
  }

  /**
   * Write everything pushed so far. Rejects with the first failure, but only once nothing writes or
   * syncs any more, so the file can be closed or removed right after either way.
   */
  flush(): Promise<void> {
    this.#seal();
    if (!this.#busy()) return this.#failure === undefined ? Promise.resolve() : Promise.reject(this.#failure.error);
    return new Promise<void>((resolve, reject) => this.#settled.push({ resolve, reject }));
  }

  /** The digests of everything pushed; call once, after the last push (it flushes first). */
  async digest(): Promise<DownloadDigests> {
    await this.flush();
    return { sha256: this.#sha256.digest('hex'), gitSha1: this.#sha1?.digest('hex') };
  }

  /** Release the worker; safe to call more than once, and after a failure. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.close();
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

  /** Hand the filling slot over to be written and move on to the next one. */
  #seal(): void {
    const index = this.#current;
    const slot = this.#slot(index);
    const file = this.#file;
    if (file === undefined || slot.used === 0 || slot.busy || this.#failure !== undefined) return;
    this.#current = (index + 1) % this.#slots.length;
    slot.busy = true;
    const write = { handle: file.handle, position: file.position };
    file.position += slot.used;
    this.#writer.write(index, slot.used, write);
  }

  #done(index: number): void {
    const slot = this.#slot(index);
    slot.busy = false;
    this.#unsynced += slot.used;
    this.#maybeSync();
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

function inlineWriter(slots: readonly Uint8Array[], events: WriterEvents): SlotWriter {
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
    write(slot, length, write) {
      const bytes = slots[slot]?.subarray(0, length);
      if (bytes === undefined) throw new Error(`no download slot ${slot}`);
      queue.push({ slot, bytes, write });
      writeNext();
    },
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

function workerWriter(slots: SharedArrayBuffer[], events: WriterEvents): SlotWriter {
  const workerData: DownloadWorkerData = { slots };
  const worker = new Worker(new URL('./download-worker.ts', import.meta.url), { workerData });
  let failed = false;
  let closing = false;
  const fail = (error: unknown): void => {
    if (closing || failed) return;
    failed = true;
    events.failed(error);
  };
  worker.on('message', (reply: DownloadWorkerReply) => {
    if ('done' in reply) events.done(reply.done);
    else fail(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
  });
  worker.once('error', fail);
  worker.once('exit', (code) => fail(new Error(`The download worker stopped early (exit code ${code}).`)));
  return {
    write(slot, length, write) {
      worker.postMessage({ slot, length, fd: write.handle.fd, position: write.position } satisfies DownloadWorkerRequest);
    },
    async close() {
      closing = true;
      // Once terminated the worker no longer touches the file descriptor, which the caller then closes.
      await worker.terminate();
    },
  };
}
