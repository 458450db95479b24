/**
 * Stream one checked entry's data (ARC-R03, ARC-R04): yauzl reads the byte range the strict reader
 * located and inflates it; this counts the inflated bytes and aborts mid-stream once they pass the declared
 * size, then checks the exact size and the CRC-32 (`zlib.crc32`). The data goes to a new file, opened so
 * that it cannot follow a link or replace anything, or nowhere when only the check is wanted.
 */
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import type { ZipFile } from 'yauzl';
import { LorasmithError, isLorasmithError } from '../../core/errors.ts';
import type { ZipEntry } from '../torch/zip-records.ts';
import { archiveError } from './archive-error.ts';

const NEW_FILE = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;

export interface StreamEntryParams {
  zipfile: ZipFile;
  entry: ZipEntry;
  /** A path that must not exist yet; undefined reads the entry only to verify it. */
  destination: string | undefined;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
}

/**
 * Failures of the data itself (inflate errors, yauzl's own complaints) become `archive.inflate`; failures
 * of this machine (disk full, permissions) keep their system error, since the archive is not to blame.
 */
function mapStreamError(error: unknown, entry: ZipEntry, signal: AbortSignal | undefined): unknown {
  if (isLorasmithError(error)) return error;
  if (signal?.aborted === true) return new LorasmithError({ code: 'cancelled', message: 'The import was cancelled.', cause: signal.reason });
  if (typeof error === 'object' && error !== null && 'syscall' in error) return error;
  return archiveError({ code: 'inflate', entry: entry.name, reason: 'its compressed data is corrupt' });
}

/** yauzl 3.4.0's `openReadStreamLowLevelPromise` calls `openReadStream` by mistake, so the callback form is wrapped here. */
function openRange(zipfile: ZipFile, entry: ZipEntry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zipfile.openReadStreamLowLevel(entry.dataOffset, entry.compressedSize, 0, entry.compressedSize, entry.method === 8, entry.uncompressedSize, (error, stream) => {
      if (error === null) resolve(stream);
      else reject(error);
    });
  });
}

export async function streamEntry(params: StreamEntryParams): Promise<void> {
  const { entry, signal } = params;
  let total = 0;
  let crc = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      if (total > entry.uncompressedSize) {
        callback(archiveError({ code: 'size_mismatch', entry: entry.name, reason: `it inflates past its declared ${entry.uncompressedSize} bytes` }));
        return;
      }
      crc = crc32(chunk, crc);
      params.onBytes?.(chunk.length);
      callback(null, chunk);
    },
  });
  const handle = params.destination === undefined ? undefined : await open(params.destination, NEW_FILE, 0o600);
  const sink = handle?.createWriteStream() ?? new Writable({ write: (_chunk, _encoding, callback) => callback() });
  try {
    const input = await openRange(params.zipfile, entry);
    await pipeline(input, check, sink, signal === undefined ? {} : { signal });
  } catch (error) {
    throw mapStreamError(error, entry, signal);
  } finally {
    await handle?.close().catch(() => undefined);
  }
  if (total !== entry.uncompressedSize) throw archiveError({ code: 'size_mismatch', entry: entry.name, reason: `it inflates to ${total} bytes, not the declared ${entry.uncompressedSize}` });
  if (crc !== entry.crc32) throw archiveError({ code: 'crc_mismatch', entry: entry.name, reason: 'its data fails the CRC-32 check (the archive is damaged or was altered)' });
}
