import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, crc32 } from 'node:zlib';
import type { ByteSource } from './byte-source.ts';
import { zipError } from './zip-records.ts';
import type { ZipEntry } from './zip-records.ts';

const CHUNK = 8 * 1024 * 1024;

async function* chunks(source: ByteSource, offset: number, length: number): AsyncGenerator<Uint8Array> {
  for (let done = 0; done < length; done += CHUNK) yield await source.read(offset + done, Math.min(CHUNK, length - done));
}

/** CRC-32 (`zlib.crc32`) of a byte range, read in chunks so a multi-GiB record never sits in memory. */
export async function crc32OfRange(params: { source: ByteSource; offset: number; length: number }): Promise<number> {
  let crc = 0;
  for await (const chunk of chunks(params.source, params.offset, params.length)) crc = crc32(chunk, crc);
  return crc;
}

/**
 * A checked record's CRC: a central-directory CRC of 0 that the data descriptor also gives as 0 means "no CRC"
 * (torch's `set_crc32_options(False)`, PKL-R05), reported as `absent`; otherwise the CRC must match.
 */
export async function checkEntryCrc(params: { source: ByteSource; entry: ZipEntry }): Promise<'ok' | 'absent'> {
  const { entry } = params;
  if (entry.method !== 0) throw zipError('zip.method', `entry "${entry.name}" is compressed; only stored entries are checked here`);
  const crcAbsent = entry.crc32 === 0 && entry.descriptor?.crc32 === 0 && entry.local.crc32 === 0;
  if (crcAbsent) return 'absent';
  const actual = await crc32OfRange({ source: params.source, offset: entry.dataOffset, length: entry.compressedSize });
  if (actual !== entry.crc32) {
    throw zipError('zip.crc_mismatch', `entry "${entry.name}" fails its CRC-32 check`, entry.dataOffset);
  }
  return 'ok';
}

/** The bytes of a stored (method 0) entry, refusing sizes over `maxBytes` before reading. */
export async function readStoredEntry(params: { source: ByteSource; entry: ZipEntry; maxBytes: number }): Promise<Uint8Array> {
  const { entry } = params;
  if (entry.method !== 0) throw zipError('zip.method', `entry "${entry.name}" is not stored`);
  if (entry.compressedSize > params.maxBytes) throw zipError('zip.limit_entry', `entry "${entry.name}" is ${entry.compressedSize} bytes, over the ${params.maxBytes}-byte limit`);
  return params.source.read(entry.dataOffset, entry.compressedSize);
}

/**
 * Decompress a stored or deflated entry in a stream: never more than its declared size (aborts mid-stream),
 * a deflate ratio of at most `maxRatio` (ARC-R03), CRC-32 checked, and only the first `keepBytes` retained.
 */
export async function inflateEntry(params: {
  source: ByteSource;
  entry: ZipEntry;
  keepBytes: number;
  maxBytes: number;
  maxRatio: number;
}): Promise<{ head: Uint8Array; total: number }> {
  const { entry, source } = params;
  const label = `entry "${entry.name}"`;
  if (entry.uncompressedSize > params.maxBytes) throw zipError('zip.limit_entry', `${label} declares ${entry.uncompressedSize} bytes, over the limit`);
  if (entry.method === 0 && entry.compressedSize !== entry.uncompressedSize) throw zipError('zip.header_mismatch', `${label}: stored sizes differ`);
  if (entry.method === 8 && entry.uncompressedSize > Math.max(1, entry.compressedSize) * params.maxRatio) {
    throw zipError('zip.limit_ratio', `${label} expands more than ${params.maxRatio}:1`);
  }
  if (entry.method !== 0 && entry.method !== 8) throw zipError('zip.method', `${label} uses compression method ${entry.method}`);

  const kept: Uint8Array[] = [];
  let keptBytes = 0;
  let total = 0;
  let crc = 0;
  const consume = (chunk: Uint8Array): void => {
    total += chunk.length;
    if (total > entry.uncompressedSize) throw zipError('zip.size_mismatch', `${label} inflates past its declared size`);
    crc = crc32(chunk, crc);
    if (keptBytes < params.keepBytes) {
      const part = chunk.subarray(0, params.keepBytes - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
  };
  const input = chunks(source, entry.dataOffset, entry.compressedSize);
  try {
    if (entry.method === 0) {
      for await (const chunk of input) consume(chunk);
    } else {
      await pipeline(Readable.from(input), createInflateRaw(), async (output: AsyncIterable<Buffer>) => {
        for await (const chunk of output) consume(chunk);
      });
    }
  } catch (error) {
    if (error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('zip.')) throw error;
    throw zipError('zip.inflate', `${label} does not inflate`);
  }
  if (total !== entry.uncompressedSize) throw zipError('zip.size_mismatch', `${label} inflates to ${total} bytes, not the declared ${entry.uncompressedSize}`);
  const crcAbsent = entry.crc32 === 0 && entry.descriptor?.crc32 === 0;
  if (!crcAbsent && crc !== entry.crc32) throw zipError('zip.crc_mismatch', `${label} fails its CRC-32 check`);
  return { head: Buffer.concat(kept), total };
}
