/**
 * TFRecord framing, as TensorBoard event files use it:
 *   u64le length · u32le masked_crc32c(length bytes) · data · u32le masked_crc32c(data).
 * Both CRCs are checked. A frame cut short by the end of the bytes is "not yet" (the engine is still
 * appending it), never an error; a frame whose bytes are all there but do not check out is damage.
 * A declared length is trusted only after its CRC matched and only up to `maxRecordBytes`, and the caller
 * reads a frame only once the file holds all of it, so a huge length never turns into a huge allocation.
 */
import { LorasmithError } from '../../../core/errors.ts';
import { maskedCrc32c } from './crc32c.ts';

export const TFRECORD_HEADER_BYTES = 12;
export const TFRECORD_FOOTER_BYTES = 4;
export const TENSORBOARD_CORRUPT = 'tensorboard-corrupt';

/** The reader's one error: `where` is the event file (relative to the logging folder), `offset` the frame. */
export function corruptEventFile(where: string, offset: number, what: string): LorasmithError {
  return new LorasmithError({
    code: TENSORBOARD_CORRUPT,
    message: `The TensorBoard event file ${where} is damaged at byte ${offset}: ${what}. Its charts stop there.`,
    hint: 'The file was cut or overwritten (a full disk, or a crash while writing). Training itself is not affected; progress and loss from the log go on. Delete the file to silence this.',
    exitCode: 1,
    status: 422,
    details: { file: where, offset },
  });
}

export interface TfRecord {
  /** Byte offset of the frame in the file. */
  offset: number;
  /** A view into the scanned bytes: no copy. */
  data: Uint8Array;
}

export interface TfRecordScan {
  records: TfRecord[];
  /** Bytes taken by whole, valid frames from the start of the scanned bytes. */
  consumed: number;
  /**
   * Bytes the next frame needs from its start: 0 when the bytes ended exactly after a frame, 12 while its
   * header is incomplete, its whole size once the header is known. Read that many and scan again.
   */
  needed: number;
  /** Damage at `offset + consumed`: nothing after it can be trusted. */
  corrupt?: LorasmithError;
}

export interface ScanTfRecordsParams {
  bytes: Uint8Array;
  /** File offset of `bytes[0]`, for frame offsets and messages. */
  offset: number;
  where: string;
  maxRecordBytes: number;
}

export function scanTfRecords(params: ScanTfRecordsParams): TfRecordScan {
  const { bytes } = params;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: TfRecord[] = [];
  let at = 0;
  for (;;) {
    const left = bytes.length - at;
    if (left === 0) return { records, consumed: at, needed: 0 };
    if (left < TFRECORD_HEADER_BYTES) return { records, consumed: at, needed: TFRECORD_HEADER_BYTES };
    const fail = (what: string): TfRecordScan => ({ records, consumed: at, needed: 0, corrupt: corruptEventFile(params.where, params.offset + at, what) });
    if (view.getUint32(at + 8, true) !== maskedCrc32c(bytes.subarray(at, at + 8))) return fail('the record length does not match its checksum');
    const high = view.getUint32(at + 4, true);
    const low = view.getUint32(at, true);
    if (high !== 0 || low > params.maxRecordBytes) {
      return fail(`a record of ${high * 2 ** 32 + low} bytes is declared, more than the ${params.maxRecordBytes} bytes an event may have`);
    }
    const frame = TFRECORD_HEADER_BYTES + low + TFRECORD_FOOTER_BYTES;
    if (left < frame) return { records, consumed: at, needed: frame };
    const data = bytes.subarray(at + TFRECORD_HEADER_BYTES, at + TFRECORD_HEADER_BYTES + low);
    if (view.getUint32(at + TFRECORD_HEADER_BYTES + low, true) !== maskedCrc32c(data)) return fail('the record data does not match its checksum');
    records.push({ offset: params.offset + at, data });
    at += frame;
  }
}
