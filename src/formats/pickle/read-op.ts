import {
  decodeLatin1,
  decodePythonEscapes,
  decodeRawUnicodeEscape,
  decodeUtf8,
  parseDecimalInt,
  parsePythonFloat,
  parsePythonInt,
} from './decode-text.ts';
import { OPCODE_TABLE } from './opcodes.ts';
import type { ArgKind, OpName } from './opcodes.ts';
import type { PickleLimits } from './types.ts';

/** One decoded opcode. Only the fields its argument kind produces are set. */
export interface Op {
  name: OpName;
  offset: number;
  /** INT, LONG*, BININT*, EXT* and PROTO values; GET/PUT/BINGET/BINPUT memo indices. */
  int?: bigint;
  /** INT `00` / `01`. */
  bool?: boolean;
  float?: number;
  /** Decoded text of string opcodes and PERSID. */
  text?: string;
  bytes?: Uint8Array;
  /** GLOBAL / INST. */
  module?: string;
  attribute?: string;
}

/**
 * BigInts of small non-negative values, made once: every memo index, small int and length would otherwise
 * allocate a fresh BigInt per opcode. BigInts are immutable values, so sharing them is unobservable.
 */
const SMALL_BIGINT_LIMIT = 1 << 16;
const smallBigints: bigint[] = [];

function bigintOf(value: number): bigint {
  if (value >= 0 && value < SMALL_BIGINT_LIMIT) {
    let cached = smallBigints[value];
    if (cached === undefined) {
      // Fill up to `value` so the array stays packed.
      for (let i = smallBigints.length; i <= value; i++) smallBigints.push(BigInt(i));
      cached = smallBigints[value] as bigint;
    }
    return cached;
  }
  return BigInt(value);
}

const ASCII_FAST_PATH_MAX = 256;

/** A stream the scanner cannot parse: rejected as `invalid` (PKL-R12), with where and why. */
export class PickleParseError extends Error {
  readonly code: string;
  readonly offset: number;

  constructor(code: string, message: string, offset: number) {
    super(message);
    this.name = 'PickleParseError';
    this.code = code;
    this.offset = offset;
  }
}

/**
 * Reads opcodes one at a time from `bytes[start..]`. Bounded (PKL-R11): an opcode count, a length cap on every
 * string and line, and every length field checked against the bytes left *before* anything is allocated.
 * Also enforces FRAME boundaries (Appendix A: no opcode straddles a frame end, no FRAME inside a frame).
 */
export class OpReader {
  readonly bytes: Uint8Array;
  readonly limits: PickleLimits;
  private pos: number;
  private frameEnd = -1;
  private count = 0;
  private readonly view: DataView;
  private readonly current: Op = {
    name: 'STOP',
    offset: 0,
    int: undefined,
    bool: undefined,
    float: undefined,
    text: undefined,
    bytes: undefined,
    module: undefined,
    attribute: undefined,
  };
  /** The same bytes as a Buffer, for native latin1 slices. */
  private readonly buffer: Buffer;

  constructor(params: { bytes: Uint8Array; start: number; limits: PickleLimits }) {
    this.bytes = params.bytes;
    this.buffer = Buffer.from(params.bytes.buffer, params.bytes.byteOffset, params.bytes.byteLength);
    this.limits = params.limits;
    this.pos = params.start;
    this.view = new DataView(params.bytes.buffer, params.bytes.byteOffset, params.bytes.byteLength);
  }

  get position(): number {
    return this.pos;
  }

  get opcodeCount(): number {
    return this.count;
  }

  /** The next opcode. The returned object is reused: it is valid until the following `next()` call. */
  next(): Op {
    const offset = this.pos;
    if (this.frameEnd >= 0 && offset >= this.frameEnd) this.frameEnd = -1;
    if (offset >= this.bytes.length) {
      throw new PickleParseError('pickle.truncated', 'the pickle ends before its STOP opcode', offset);
    }
    this.count++;
    if (this.count > this.limits.maxOpcodes) {
      throw new PickleParseError('pickle.limit_opcodes', `more than ${this.limits.maxOpcodes} opcodes`, offset);
    }
    const code = this.bytes[offset] as number;
    const info = OPCODE_TABLE[code];
    if (info === undefined) {
      throw new PickleParseError('pickle.bad_opcode', `byte 0x${code.toString(16).padStart(2, '0')} is not a pickle opcode`, offset);
    }
    this.pos++;
    // One Op object, reset per opcode: a scan decodes up to a million of them (PKL-R11).
    const op = this.current;
    op.name = info.name;
    op.offset = offset;
    op.int = undefined;
    op.bool = undefined;
    op.float = undefined;
    op.text = undefined;
    op.bytes = undefined;
    op.module = undefined;
    op.attribute = undefined;
    this.readArg(op, info.arg);
    if (this.frameEnd >= 0 && this.pos > this.frameEnd) {
      throw new PickleParseError('pickle.frame_crossing', `${op.name} runs past the end of its FRAME`, offset);
    }
    if (op.name === 'FRAME') this.startFrame(op);
    return op;
  }

  private startFrame(op: Op): void {
    const length = op.int ?? 0n;
    if (length > BigInt(this.bytes.length - this.pos)) {
      throw new PickleParseError('pickle.truncated', `FRAME of ${length} bytes is longer than the rest of the stream`, op.offset);
    }
    this.frameEnd = this.pos + Number(length);
  }

  private readArg(op: Op, kind: ArgKind): void {
    switch (kind) {
      case 'none':
        return;
      case 'uint1':
        this.need(1, op);
        op.int = bigintOf(this.bytes[this.pos] as number);
        this.pos += 1;
        return;
      case 'uint2':
        this.need(2, op);
        op.int = bigintOf(this.view.getUint16(this.pos, true));
        this.pos += 2;
        return;
      case 'int4':
        this.need(4, op);
        op.int = bigintOf(this.view.getInt32(this.pos, true));
        this.pos += 4;
        return;
      case 'uint4':
        this.need(4, op);
        op.int = bigintOf(this.view.getUint32(this.pos, true));
        this.pos += 4;
        return;
      case 'uint8':
        this.need(8, op);
        op.int = this.view.getBigUint64(this.pos, true);
        this.pos += 8;
        return;
      case 'float8':
        this.need(8, op);
        op.float = this.view.getFloat64(this.pos, false);
        this.pos += 8;
        return;
      case 'decimalnl_short':
        return this.readDecimalLine(op);
      case 'decimalnl_long': {
        const line = this.asciiLine(op);
        const value = parsePythonInt(line.endsWith('L') ? line.slice(0, -1) : line);
        if (value === undefined) throw this.badArg(op, 'an integer literal');
        op.int = value;
        return;
      }
      case 'floatnl': {
        const value = parsePythonFloat(this.asciiLine(op));
        if (value === undefined) throw this.badArg(op, 'a float literal');
        op.float = value;
        return;
      }
      case 'stringnl': {
        const line = this.line(op);
        const quote = line[0];
        if (line.length < 2 || (quote !== 0x27 && quote !== 0x22) || line[line.length - 1] !== quote) {
          throw this.badArg(op, 'a quoted string');
        }
        const raw = decodePythonEscapes(line.subarray(1, -1));
        op.text = raw === undefined ? undefined : decodeUtf8(raw);
        if (op.text === undefined) throw this.badArg(op, 'a decodable string');
        return;
      }
      case 'stringnl_noescape':
        op.text = this.utf8Line(op);
        return;
      case 'stringnl_noescape_pair':
        op.module = this.utf8Line(op);
        op.attribute = this.utf8Line(op);
        return;
      case 'unicodestringnl': {
        op.text = decodeRawUnicodeEscape(this.line(op));
        if (op.text === undefined) throw this.badArg(op, 'a raw-unicode-escape string');
        return;
      }
      case 'string1':
      case 'unicodestring1':
        op.text = this.utf8Span(this.length(op, 1), op);
        return;
      case 'string4':
      case 'unicodestring4':
        op.text = this.utf8Span(this.length(op, kind === 'string4' ? -4 : 4), op);
        return;
      case 'unicodestring8':
        op.text = this.utf8Span(this.length(op, 8), op);
        return;
      case 'bytes1':
        op.bytes = this.take(this.length(op, 1), op);
        return;
      case 'bytes4':
        op.bytes = this.take(this.length(op, 4), op);
        return;
      case 'bytes8':
      case 'bytearray8':
        op.bytes = this.take(this.length(op, 8), op);
        return;
      case 'long1':
      case 'long4':
        op.int = decodeLong(this.take(this.length(op, kind === 'long1' ? 1 : -4), op));
        return;
    }
  }

  private readDecimalLine(op: Op): void {
    const line = this.asciiLine(op);
    if (op.name === 'INT' && (line === '00' || line === '01')) {
      op.bool = line === '01';
      return;
    }
    const value = op.name === 'INT' ? parsePythonInt(line) : parseDecimalInt(line);
    if (value === undefined) throw this.badArg(op, 'an integer literal');
    op.int = value;
  }

  /** Read a length prefix of `width` bytes (negative: signed, where CPython rejects negatives) and cap it. */
  private length(op: Op, width: 1 | 4 | -4 | 8): number {
    // 1- and 4-byte lengths are exact as numbers; only the 8-byte form needs a BigInt compare.
    let length: number | bigint;
    const bytes = Math.abs(width);
    this.need(bytes, op);
    if (width === 1) length = this.bytes[this.pos] as number;
    else if (width === 4) length = this.view.getUint32(this.pos, true);
    else if (width === -4) length = this.view.getInt32(this.pos, true);
    else length = this.view.getBigUint64(this.pos, true);
    this.pos += bytes;
    if (length < 0) throw new PickleParseError('pickle.bad_argument', `${op.name} has a negative length`, op.offset);
    if (length > this.bytes.length - this.pos) {
      throw new PickleParseError('pickle.truncated', `${op.name} declares ${length} bytes, more than the stream holds`, op.offset);
    }
    if (length > this.limits.maxStringBytes) {
      throw new PickleParseError('pickle.limit_string', `${op.name} of ${length} bytes exceeds the ${this.limits.maxStringBytes}-byte limit`, op.offset);
    }
    return Number(length);
  }

  private need(count: number, op: Op): void {
    if (count > this.bytes.length - this.pos) {
      throw new PickleParseError('pickle.truncated', `${op.name} is cut off by the end of the stream`, op.offset);
    }
  }

  private take(count: number, op: Op): Uint8Array {
    this.need(count, op);
    const slice = this.bytes.subarray(this.pos, this.pos + count);
    this.pos += count;
    return slice;
  }

  /** A `\n`-terminated argument, without the newline; searched only within the string cap. */
  private line(op: Op): Uint8Array {
    const length = this.lineLength(op);
    const line = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length + 1;
    return line;
  }

  /**
   * The length of the line at `pos` (its newline excluded), at most the string cap. The search may look
   * past the cap, but only when that ends the parse (the line is too long), so work stays linear.
   */
  private lineLength(op: Op): number {
    const newline = this.bytes.indexOf(0x0a, this.pos);
    const length = newline - this.pos;
    if (newline < 0 || length > this.limits.maxStringBytes) {
      // As a search bounded to cap + 1 bytes would: "no end of line" when that window reaches the end.
      if (newline < 0 && this.bytes.length - this.pos <= this.limits.maxStringBytes + 1) {
        throw new PickleParseError('pickle.truncated', `${op.name} argument has no end of line`, op.offset);
      }
      throw new PickleParseError('pickle.limit_string', `${op.name} argument is longer than ${this.limits.maxStringBytes} bytes`, op.offset);
    }
    return length;
  }

  /** Decode the next `count` bytes as UTF-8 and step past them. */
  private utf8Span(count: number, op: Op): string {
    this.need(count, op);
    const text = this.utf8At(this.pos, this.pos + count, op);
    this.pos += count;
    return text;
  }

  /** Decode bytes [start, end) of the stream as strict UTF-8, without making a view for ASCII text. */
  private utf8At(start: number, end: number, op: Op): string {
    // Short ASCII text (names, keys, module paths) skips the fatal decoder: every byte < 0x80 is valid UTF-8
    // and decodes to the same code units as latin1.
    if (end - start <= ASCII_FAST_PATH_MAX) {
      const { bytes } = this;
      let ascii = true;
      for (let i = start; i < end; i++) {
        if ((bytes[i] as number) >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return this.buffer.toString('latin1', start, end);
    }
    const text = decodeUtf8(this.bytes.subarray(start, end));
    if (text === undefined) throw this.badArg(op, 'valid UTF-8');
    return text;
  }

  private utf8Line(op: Op): string {
    const length = this.lineLength(op);
    const text = this.utf8At(this.pos, this.pos + length, op);
    this.pos += length + 1;
    return text;
  }

  private asciiLine(op: Op): string {
    const line = this.line(op);
    if (line.some((byte) => byte > 0x7e)) throw this.badArg(op, 'ASCII');
    return decodeLatin1(line);
  }

  private badArg(op: Op, expected: string): PickleParseError {
    return new PickleParseError('pickle.bad_argument', `${op.name} argument is not ${expected}`, op.offset);
  }
}

/** Little-endian two's complement, as `pickle.decode_long`. */
export function decodeLong(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let hex = '';
  for (let i = bytes.length - 1; i >= 0; i--) hex += (bytes[i] as number).toString(16).padStart(2, '0');
  const unsigned = BigInt(`0x${hex}`);
  const negative = ((bytes[bytes.length - 1] as number) & 0x80) !== 0;
  return negative ? unsigned - (1n << BigInt(bytes.length * 8)) : unsigned;
}
