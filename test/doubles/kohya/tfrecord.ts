/**
 * KOHYA ENGINE DOUBLE — TensorBoard event files, written without TensorFlow: TFRecord framing with masked
 * CRC-32C, and a minimal protobuf encoder for `tensorflow.Event` with scalar `Summary` values (the shape
 * torch.utils.tensorboard's `add_scalar` writes for accelerate's TensorBoardTracker). A reader is here too,
 * so tests can check the framing the double wrote.
 *
 * Record: u64le length · u32le masked_crc32c(length bytes) · data · u32le masked_crc32c(data).
 * Event fields: wall_time = 1 (double), step = 2 (int64), file_version = 3 (string), summary = 5.
 * Summary.value = 1 (repeated); Summary.Value: tag = 1 (string), simple_value = 2 (float).
 */
import { appendFileSync, openSync, closeSync } from 'node:fs';

/**
 * CRC-32C (Castagnoli), as TFRecord uses. `crc32c("123456789") === 0xe3069283`. Bit by bit, not the product's
 * table (src/jobs/metrics/tensorboard/crc32c.ts): the metrics tests check the product against this double, so
 * it stays a separate computation rather than an import or a copy.
 */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's mask: rotate right by 15 and add a constant (mod 2^32). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

export function frameRecord(data: Uint8Array): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(data.length));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(maskedCrc32c(length));
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(maskedCrc32c(data));
  return Buffer.concat([length, head, Buffer.from(data), tail]);
}

// ---- protobuf -------------------------------------------------------------------------------------

function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function key(field: number, wire: number): number[] {
  return varint(BigInt((field << 3) | wire));
}

function lengthDelimited(field: number, bytes: Uint8Array): number[] {
  return [...key(field, 2), ...varint(BigInt(bytes.length)), ...bytes];
}

export interface ScalarValue {
  tag: string;
  value: number;
}

export function encodeEvent(event: { wallTime: number; step?: number; fileVersion?: string; scalars?: readonly ScalarValue[] }): Uint8Array {
  const out: number[] = [];
  const wall = Buffer.alloc(8);
  wall.writeDoubleLE(event.wallTime);
  out.push(...key(1, 1), ...wall);
  if (event.step !== undefined && event.step !== 0) out.push(...key(2, 0), ...varint(BigInt(event.step)));
  if (event.fileVersion !== undefined) out.push(...lengthDelimited(3, Buffer.from(event.fileVersion, 'utf8')));
  if (event.scalars !== undefined && event.scalars.length > 0) {
    const summary: number[] = [];
    for (const scalar of event.scalars) {
      const simple = Buffer.alloc(4);
      simple.writeFloatLE(scalar.value);
      const value = [...lengthDelimited(1, Buffer.from(scalar.tag, 'utf8')), ...key(2, 5), ...simple];
      summary.push(...lengthDelimited(1, Uint8Array.from(value)));
    }
    out.push(...lengthDelimited(5, Uint8Array.from(summary)));
  }
  return Uint8Array.from(out);
}

/** Appends framed events to one `events.out.tfevents.*` file, record by record (TensorBoard tails it). */
export class EventFileWriter {
  readonly path: string;

  constructor(file: string, wallTime: number) {
    this.path = file;
    closeSync(openSync(file, 'wx'));
    this.append({ wallTime, fileVersion: 'brain.Event:2' });
  }

  append(event: Parameters<typeof encodeEvent>[0]): void {
    appendFileSync(this.path, frameRecord(encodeEvent(event)));
  }

  scalars(step: number, scalars: readonly ScalarValue[], wallTime = Date.now() / 1000): void {
    this.append({ wallTime, step, scalars });
  }
}

// ---- reading (tests) ---------------------------------------------------------------------------------

export interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars: ScalarValue[];
}

export interface ReadRecordsResult {
  records: Uint8Array[];
  /** Problems with the framing: a bad length CRC, a bad data CRC, or a truncated record. */
  problems: string[];
}

export function readRecords(bytes: Uint8Array): ReadRecordsResult {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  const problems: string[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 12 > buf.length) {
      problems.push(`truncated header at ${at}`);
      break;
    }
    const lengthBytes = buf.subarray(at, at + 8);
    const length = Number(buf.readBigUInt64LE(at));
    if (buf.readUInt32LE(at + 8) !== maskedCrc32c(lengthBytes)) problems.push(`bad length crc at ${at}`);
    const start = at + 12;
    if (start + length + 4 > buf.length) {
      problems.push(`truncated record at ${at}`);
      break;
    }
    const data = buf.subarray(start, start + length);
    if (buf.readUInt32LE(start + length) !== maskedCrc32c(data)) problems.push(`bad data crc at ${at}`);
    records.push(new Uint8Array(data));
    at = start + length + 4;
  }
  return { records, problems };
}

function readVarint(buf: Buffer, at: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const byte = buf[at++];
    if (byte === undefined) throw new Error('truncated varint');
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, at];
    shift += 7n;
  }
}

function fields(bytes: Uint8Array): Array<{ field: number; wire: number; value: bigint | Buffer }> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Array<{ field: number; wire: number; value: bigint | Buffer }> = [];
  let at = 0;
  while (at < buf.length) {
    const [tag, next] = readVarint(buf, at);
    at = next;
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [value, after] = readVarint(buf, at);
      out.push({ field, wire, value });
      at = after;
    } else if (wire === 1) {
      out.push({ field, wire, value: buf.subarray(at, at + 8) });
      at += 8;
    } else if (wire === 5) {
      out.push({ field, wire, value: buf.subarray(at, at + 4) });
      at += 4;
    } else if (wire === 2) {
      const [length, after] = readVarint(buf, at);
      out.push({ field, wire, value: buf.subarray(after, after + Number(length)) });
      at = after + Number(length);
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

export function decodeEvent(bytes: Uint8Array): DecodedEvent {
  const event: DecodedEvent = { wallTime: 0, step: 0, scalars: [] };
  for (const f of fields(bytes)) {
    if (f.field === 1 && f.value instanceof Buffer) event.wallTime = f.value.readDoubleLE(0);
    else if (f.field === 2 && typeof f.value === 'bigint') event.step = Number(f.value);
    else if (f.field === 3 && f.value instanceof Buffer) event.fileVersion = f.value.toString('utf8');
    else if (f.field === 5 && f.value instanceof Buffer) {
      for (const v of fields(f.value)) {
        if (v.field !== 1 || !(v.value instanceof Buffer)) continue;
        let tag = '';
        let value = Number.NaN;
        for (const inner of fields(v.value)) {
          if (inner.field === 1 && inner.value instanceof Buffer) tag = inner.value.toString('utf8');
          else if (inner.field === 2 && inner.value instanceof Buffer) value = inner.value.readFloatLE(0);
        }
        event.scalars.push({ tag, value });
      }
    }
  }
  return event;
}
