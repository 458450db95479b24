/**
 * The slice of `tensorflow.Event` a metrics chart needs, decoded from protobuf wire format by hand (no
 * generated code, no dependency): every length is checked against the bytes it lives in, so damaged input
 * ends in `corruptEventFile`, never in an exception from a typed array or a huge allocation.
 *
 * Event: wall_time = 1 (double), step = 2 (int64), file_version = 3 (string), summary = 5.
 * Summary: value = 1 (repeated). Summary.Value: tag = 1, simple_value = 2 (float), tensor = 8.
 * TensorProto: dtype = 1, tensor_shape = 2 (TensorShapeProto: dim = 2 → Dim.size = 1), tensor_content = 4,
 * float_val = 5, double_val = 6 (packed or not).
 * A scalar is a `simple_value` (tensorboardX, old torch) or a one-element DT_FLOAT / DT_DOUBLE tensor
 * (torch.utils.tensorboard's `add_scalar(new_style=True)`, TF2 `tf.summary.scalar`). Images, histograms,
 * text and other tensors are skipped.
 */
import { corruptEventFile } from './tfrecord.ts';

export interface DecodedScalar {
  tag: string;
  value: number;
}

export interface DecodedEvent {
  /** Seconds since the epoch. */
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars: DecodedScalar[];
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;
const DT_FLOAT = 1;
const DT_DOUBLE = 2;

interface Field {
  field: number;
  wire: number;
  /** The value of a varint field. */
  int: number;
  /** Where a fixed or length-delimited payload lies in the message's bytes. */
  start: number;
  end: number;
}

/** Decoding context: the bytes of the whole record, and what to name in an error. */
interface Source {
  bytes: Uint8Array;
  view: DataView;
  where: string;
  offset: number;
}

function fail(src: Source, what: string): never {
  throw corruptEventFile(src.where, src.offset, `the event does not decode (${what})`);
}

/**
 * A varint as a JS number, read as int64 (two's complement: a negative step is 10 bytes). Up to 7 bytes
 * (49 bits) a double is exact; longer ones go through BigInt so the sign survives.
 */
function readVarint(src: Source, start: number, end: number): [number, number] {
  let value = 0;
  let big = 0n;
  let at = start;
  for (let i = 0; i < 10; i++) {
    if (at >= end) fail(src, 'a number runs past its message');
    const byte = src.bytes[at++] as number;
    if (i < 7) value += (byte & 0x7f) * 2 ** (7 * i);
    else {
      if (i === 7) big = BigInt(value);
      big |= BigInt(byte & 0x7f) << BigInt(7 * i);
    }
    if ((byte & 0x80) === 0) return [i < 7 ? value : Number(BigInt.asIntN(64, big)), at];
  }
  return fail(src, 'a number longer than 10 bytes');
}

/** The fields of the message in `[start, end)` of the record, in order. */
function* fields(src: Source, start: number, end: number): Generator<Field> {
  let at = start;
  while (at < end) {
    const [key, next] = readVarint(src, at, end);
    at = next;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field < 1 || field >= 2 ** 29) fail(src, `field number ${field}`);
    if (wire === WIRE_VARINT) {
      const [int, after] = readVarint(src, at, end);
      yield { field, wire, int, start: at, end: after };
      at = after;
      continue;
    }
    let size: number;
    if (wire === WIRE_FIXED64) size = 8;
    else if (wire === WIRE_FIXED32) size = 4;
    else if (wire === WIRE_BYTES) [size, at] = readVarint(src, at, end);
    else return fail(src, `wire type ${wire} of field ${field}`);
    if (size < 0 || size > end - at) fail(src, `field ${field} runs past its message`);
    yield { field, wire, int: 0, start: at, end: at + size };
    at += size;
  }
}

function expectWire(src: Source, f: Field, wire: number, what: string): void {
  if (f.wire !== wire) fail(src, `${what} has wire type ${f.wire}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function text(src: Source, f: Field): string {
  return utf8.decode(src.bytes.subarray(f.start, f.end));
}

/** Elements of a TensorShapeProto, or undefined when unknown / not a plain size. */
function elementCount(src: Source, start: number, end: number): number | undefined {
  let count = 1;
  for (const f of fields(src, start, end)) {
    if (f.field === 3 && f.wire === WIRE_VARINT && f.int !== 0) return undefined; // unknown_rank
    if (f.field !== 2) continue;
    expectWire(src, f, WIRE_BYTES, 'a tensor dimension');
    let size = 0;
    for (const d of fields(src, f.start, f.end)) if (d.field === 1 && d.wire === WIRE_VARINT) size = d.int;
    count *= size;
  }
  return count;
}

/** The value of a one-element float or double tensor, else undefined. */
function tensorScalar(src: Source, start: number, end: number): number | undefined {
  let dtype = 0;
  let count = 1;
  let content: Field | undefined;
  let first: number | undefined;
  let firstDouble: number | undefined;
  for (const f of fields(src, start, end)) {
    if (f.field === 1 && f.wire === WIRE_VARINT) dtype = f.int;
    else if (f.field === 2 && f.wire === WIRE_BYTES) count = elementCount(src, f.start, f.end) ?? 0;
    else if (f.field === 4 && f.wire === WIRE_BYTES) content = f;
    // float_val, packed (wire 2, 4 bytes each) or one per field (wire 5): the first element is the scalar.
    else if (f.field === 5 && first === undefined && f.end - f.start >= 4 && (f.wire === WIRE_BYTES || f.wire === WIRE_FIXED32)) first = src.view.getFloat32(f.start, true);
    else if (f.field === 6 && firstDouble === undefined && f.end - f.start >= 8 && (f.wire === WIRE_BYTES || f.wire === WIRE_FIXED64)) firstDouble = src.view.getFloat64(f.start, true);
  }
  if (count !== 1) return undefined;
  if (dtype === DT_FLOAT) {
    if (first !== undefined) return first;
    if (content !== undefined && content.end - content.start === 4) return src.view.getFloat32(content.start, true);
  } else if (dtype === DT_DOUBLE) {
    if (firstDouble !== undefined) return firstDouble;
    if (content !== undefined && content.end - content.start === 8) return src.view.getFloat64(content.start, true);
  }
  return undefined;
}

function summaryValue(src: Source, start: number, end: number): DecodedScalar | undefined {
  let tag = '';
  let simple: number | undefined;
  let tensor: number | undefined;
  for (const f of fields(src, start, end)) {
    if (f.field === 1) {
      expectWire(src, f, WIRE_BYTES, 'a tag');
      tag = text(src, f);
    } else if (f.field === 2) {
      expectWire(src, f, WIRE_FIXED32, 'a simple_value');
      simple = src.view.getFloat32(f.start, true);
    } else if (f.field === 8) {
      expectWire(src, f, WIRE_BYTES, 'a tensor');
      tensor = tensorScalar(src, f.start, f.end);
    }
  }
  const value = simple ?? tensor;
  return value === undefined || tag === '' ? undefined : { tag, value };
}

/** Decodes one event record; throws `corruptEventFile(where, offset, …)` when it is not protobuf. */
export function decodeEvent(data: Uint8Array, where: string, offset: number): DecodedEvent {
  const src: Source = { bytes: data, view: new DataView(data.buffer, data.byteOffset, data.byteLength), where, offset };
  const event: DecodedEvent = { wallTime: 0, step: 0, scalars: [] };
  for (const f of fields(src, 0, data.length)) {
    if (f.field === 1) {
      expectWire(src, f, WIRE_FIXED64, 'wall_time');
      event.wallTime = src.view.getFloat64(f.start, true);
    } else if (f.field === 2) {
      expectWire(src, f, WIRE_VARINT, 'step');
      event.step = f.int;
    } else if (f.field === 3) {
      expectWire(src, f, WIRE_BYTES, 'file_version');
      event.fileVersion = text(src, f);
    } else if (f.field === 5) {
      expectWire(src, f, WIRE_BYTES, 'summary');
      for (const v of fields(src, f.start, f.end)) {
        if (v.field !== 1) continue;
        expectWire(src, v, WIRE_BYTES, 'a summary value');
        const scalar = summaryValue(src, v.start, v.end);
        if (scalar !== undefined) event.scalars.push(scalar);
      }
    }
  }
  return event;
}
