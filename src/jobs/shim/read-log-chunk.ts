/**
 * Reading the shim's log segments from a cursor (server side). Segments end on line boundaries and a
 * segment is complete once the next one exists, so a read runs on into the next segment only after the
 * current one is exhausted — re-checked after the next one is seen, since the shim finishes a segment
 * before it creates the next. The text returned never ends inside a UTF-8 character: the cursor stops before
 * an incomplete one, and the next read starts with it.
 */
import { readdir, open } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../../core/errors.ts';
import { SHIM_LOG_DIR, segmentNumber, segmentPath, type LogCursor } from './protocol.ts';

export interface LogChunk {
  text: string;
  /** Where the next read starts. */
  cursor: LogCursor;
}

async function segmentSize(runDir: string, segment: number): Promise<number | null> {
  try {
    const handle = await open(segmentPath(runDir, segment), 'r');
    try {
      return (await handle.stat()).size;
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/** The lowest segment number above `segment` that exists, if any (a cursor on a removed segment moves on). */
async function nextExisting(runDir: string, segment: number): Promise<number | null> {
  let names: string[];
  try {
    names = await readdir(path.join(runDir, SHIM_LOG_DIR));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
  let best: number | null = null;
  for (const name of names) {
    const n = segmentNumber(name);
    if (n !== null && n > segment && (best === null || n < best)) best = n;
  }
  return best;
}

/** Bytes at the end of `bytes` that start a UTF-8 character not yet complete. */
function incompleteTail(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue;
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

export async function readLogChunk(runDir: string, cursor: LogCursor, maxBytes: number): Promise<LogChunk> {
  let budget = Math.max(4, Math.floor(maxBytes));
  let { segment, offset } = cursor;
  const pieces: Buffer[] = [];
  for (;;) {
    const size = await segmentSize(runDir, segment);
    if (size === null) {
      const next = await nextExisting(runDir, segment);
      if (next === null) break;
      segment = next;
      offset = 0;
      continue;
    }
    if (offset < size && budget > 0) {
      const handle = await open(segmentPath(runDir, segment), 'r');
      try {
        const length = Math.min(size - offset, budget);
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, offset);
        pieces.push(buffer.subarray(0, bytesRead));
        offset += bytesRead;
        budget -= bytesRead;
        if (bytesRead === 0) break;
      } finally {
        await handle.close();
      }
      continue;
    }
    if (budget <= 0 || offset < size) break;
    // This segment is read to its end: go on only if the shim has started the next one, and only after
    // checking again that nothing was added to this one before that.
    if ((await segmentSize(runDir, segment + 1)) === null) break;
    const final = await segmentSize(runDir, segment);
    if (final !== null && offset < final) continue;
    segment += 1;
    offset = 0;
  }
  const bytes = Buffer.concat(pieces);
  const cut = incompleteTail(bytes);
  return { text: bytes.subarray(0, bytes.length - cut).toString('utf8'), cursor: { segment, offset: offset - cut } };
}
