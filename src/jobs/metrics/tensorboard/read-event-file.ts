/**
 * Reads one TensorBoard event file onward from a byte offset, within a byte budget, into metric points.
 * The offset only ever moves past whole, valid, decoded records, so a record the engine is still writing
 * is read on a later call, and damage leaves the offset at the damaged record with the error alongside.
 */
import { isLorasmithError, type LorasmithError } from '../../../core/errors.ts';
import type { MetricPoint } from '../../../training/engines/engine.ts';
import { decodeEvent } from './event-proto.ts';
import { TENSORBOARD_CORRUPT, TFRECORD_HEADER_BYTES, scanTfRecords } from './tfrecord.ts';

/** Random access to a file's bytes (a FileHandle in production, memory in tests). */
export interface ByteSource {
  /** The file's size when it was opened; bytes appended later are read on the next call. */
  size: number;
  /** Up to `length` bytes at `position`; fewer only when the file shrank. */
  read(position: number, length: number): Promise<Uint8Array>;
}

export interface ReadEventFileParams {
  source: ByteSource;
  offset: number;
  /** The file as messages name it (relative to the logging folder). */
  where: string;
  /** Bytes to read at most, except that one record is always read whole (up to `maxRecordBytes`). */
  budgetBytes: number;
  maxRecordBytes: number;
  /** Bytes read at once while scanning. */
  chunkBytes?: number;
}

export interface EventFileRead {
  points: MetricPoint[];
  /** Just past the last record taken; where the next call starts. */
  offset: number;
  bytesRead: number;
  /** Whether the budget ran out with whole records possibly left to read. */
  more: boolean;
  /** The file is damaged at `offset`: reading it further would only meet the same damage. */
  corrupt?: LorasmithError;
}

const DEFAULT_CHUNK_BYTES = 256 * 1024;

export async function readEventFile(params: ReadEventFileParams): Promise<EventFileRead> {
  const { source } = params;
  const chunk = params.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const points: MetricPoint[] = [];
  let offset = params.offset;
  let bytesRead = 0;
  let needed = 0;
  for (;;) {
    const left = source.size - offset;
    // A frame that the file does not hold whole yet: the engine is still writing it.
    if (left <= 0 || needed > left) return { points, offset, bytesRead, more: false };
    const budget = params.budgetBytes - bytesRead;
    if (budget <= 0 && needed === 0) return { points, offset, bytesRead, more: true };
    const want = Math.min(left, Math.max(Math.min(budget, chunk), needed, TFRECORD_HEADER_BYTES));
    const bytes = await source.read(offset, want);
    bytesRead += bytes.length;
    const scan = scanTfRecords({ bytes, offset, where: params.where, maxRecordBytes: params.maxRecordBytes });
    for (const record of scan.records) {
      try {
        const event = decodeEvent(record.data, params.where, record.offset);
        for (const scalar of event.scalars) {
          // JSON (events.jsonl, SSE) has no NaN or Infinity; a diverged loss shows in the parsed progress.
          if (!Number.isFinite(scalar.value)) continue;
          points.push(event.wallTime > 0 ? { tag: scalar.tag, step: event.step, value: scalar.value, wallTime: event.wallTime } : { tag: scalar.tag, step: event.step, value: scalar.value });
        }
      } catch (error) {
        if (isLorasmithError(error) && error.code === TENSORBOARD_CORRUPT) return { points, offset: record.offset, bytesRead, more: false, corrupt: error };
        throw error;
      }
    }
    offset += scan.consumed;
    if (scan.corrupt !== undefined) return { points, offset, bytesRead, more: false, corrupt: scan.corrupt };
    // The file shrank under us: stop at what was read; the next call sees the new size.
    if (bytes.length < want) return { points, offset, bytesRead, more: false };
    needed = scan.needed;
  }
}
