/**
 * A minimal protobuf wire-format walker: enough to check a message's fields and reach nested messages,
 * never decoding what it does not need. Every length is checked against the enclosing message before it
 * is used, so a hostile length can neither read out of bounds nor cause an allocation.
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export interface ProtoField {
  field: number;
  wire: number;
  /** Offset of the field's tag. */
  offset: number;
  /** VARINT: the value (exact up to 2^53; larger values, e.g. negative int64s, are approximate). */
  value: number;
  /** LEN: the payload is bytes [start, end). For other wire types start = end = the field's end. */
  start: number;
  end: number;
}

export class ProtobufError extends Error {
  /** `truncated`: the bytes end inside a field (expected when walking only a file's first bytes). */
  readonly kind: 'truncated' | 'malformed';
  readonly offset: number;
  constructor(kind: 'truncated' | 'malformed', message: string, offset: number) {
    super(message);
    this.kind = kind;
    this.offset = offset;
  }
}

/** Read a varint at `pos`, refusing more than 10 bytes or reading past `limit`. */
export function readVarint(bytes: Uint8Array, pos: number, limit: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i += 1) {
    if (pos + i >= limit) throw new ProtobufError('truncated', 'truncated varint', pos);
    const byte = bytes[pos + i] ?? 0;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: pos + i + 1 };
  }
  throw new ProtobufError('malformed', 'varint longer than 10 bytes', pos);
}

/**
 * The fields of the message in bytes [start, end), in order. Throws ProtobufError on a malformed field:
 * field number 0, groups (ONNX never uses them), unknown wire types, or anything running past `end`.
 */
export function* walkFields(bytes: Uint8Array, start: number, end: number): Generator<ProtoField> {
  let pos = start;
  while (pos < end) {
    const offset = pos;
    const tag = readVarint(bytes, pos, end);
    pos = tag.next;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (field === 0 || field > 0x1fffffff) throw new ProtobufError('malformed', `invalid field number ${field}`, offset);
    switch (wire) {
      case WIRE_VARINT: {
        const v = readVarint(bytes, pos, end);
        pos = v.next;
        yield { field, wire, offset, value: v.value, start: pos, end: pos };
        break;
      }
      case WIRE_I64:
      case WIRE_I32: {
        const size = wire === WIRE_I64 ? 8 : 4;
        if (pos + size > end) throw new ProtobufError('truncated', 'truncated fixed-width field', offset);
        pos += size;
        yield { field, wire, offset, value: 0, start: pos, end: pos };
        break;
      }
      case WIRE_LEN: {
        const length = readVarint(bytes, pos, end);
        if (length.value > end - length.next) throw new ProtobufError('truncated', `field ${field} length ${length.value} runs past its message`, offset);
        pos = length.next + length.value;
        yield { field, wire, offset, value: length.value, start: length.next, end: pos };
        break;
      }
      default:
        throw new ProtobufError('malformed', `unsupported wire type ${wire} for field ${field}`, offset);
    }
  }
}
