import { readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { LorasmithError } from '../../core/errors.ts';

/**
 * Random access to a file's bytes. Model files run to many GiB, so containers read what they need (the zip
 * central directory, one pickle, one storage) instead of loading the file.
 */
export interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes from `offset`; throws if the range is outside the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional batch form of `read`: the same bytes for each range, in order, with the same range checks.
   * Sources implement it when many small reads cost less together (a file: positional reads without a
   * round trip through the thread pool per range).
   */
  readMany?(ranges: ReadonlyArray<ByteRange>): Promise<Uint8Array[]>;
}

export interface ByteRange {
  offset: number;
  length: number;
}

/** Read many ranges through `readMany` when the source has it, else one `read` per range. */
export async function readRanges(source: ByteSource, ranges: ReadonlyArray<ByteRange>): Promise<Uint8Array[]> {
  if (source.readMany !== undefined) return source.readMany(ranges);
  const out: Uint8Array[] = [];
  for (const range of ranges) out.push(await source.read(range.offset, range.length));
  return out;
}

/** Synchronous reads (or bytes) between yields to the event loop, so a huge batch never stalls it for long. */
const READS_PER_YIELD = 256;
const BYTES_PER_YIELD = 4 * 1024 * 1024;
/** Batches above this many bytes in total go through the asynchronous path. */
const MAX_SYNC_BATCH_BYTES = 64 * 1024 * 1024;
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
}

function outOfRange(offset: number, length: number, size: number): LorasmithError {
  return new LorasmithError({
    code: 'formats.read_range',
    message: `read of ${length} bytes at ${offset} is outside the ${size}-byte input`,
  });
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (offset, length) => {
      if (offset < 0 || length < 0 || offset + length > bytes.length) throw outOfRange(offset, length, bytes.length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

export async function openFileSource(path: string): Promise<FileByteSource> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const read = async (offset: number, length: number): Promise<Uint8Array> => {
      if (offset < 0 || length < 0 || offset + length > size) throw outOfRange(offset, length, size);
      const buffer = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
        if (bytesRead === 0) throw outOfRange(offset, length, size);
        done += bytesRead;
      }
      return buffer;
    };
    return {
      size,
      read,
      // Each asynchronous read is a thread-pool round trip (tens of µs, far more on a loaded machine); a zip's
      // local headers are thousands of tiny reads. Small batches use positional reads directly, yielding often.
      readMany: async (ranges) => {
        let total = 0;
        for (const { offset, length } of ranges) {
          if (offset < 0 || length < 0 || offset + length > size) throw outOfRange(offset, length, size);
          total += length;
        }
        const out: Uint8Array[] = [];
        if (total > MAX_SYNC_BATCH_BYTES) {
          for (const range of ranges) out.push(await read(range.offset, range.length));
          return out;
        }
        const backing = new Uint8Array(total);
        let cursor = 0;
        let readsSinceYield = 0;
        let bytesSinceYield = 0;
        for (const { offset, length } of ranges) {
          if (readsSinceYield >= READS_PER_YIELD || bytesSinceYield >= BYTES_PER_YIELD) {
            await yieldToLoop();
            readsSinceYield = 0;
            bytesSinceYield = 0;
          }
          readsSinceYield += 1;
          bytesSinceYield += length;
          const buffer = backing.subarray(cursor, cursor + length);
          cursor += length;
          let done = 0;
          while (done < length) {
            const bytesRead = readSync(handle.fd, buffer, done, length - done, offset + done);
            if (bytesRead === 0) throw outOfRange(offset, length, size);
            done += bytesRead;
          }
          out.push(buffer);
        }
        return out;
      },
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
