import {
  decodeLatin1,
  decodePythonEscapes,
  decodeRawUnicodeEscape,
  decodeUtf8,
  parseDecimalInt,
  parsePythonFloat,
  parsePythonInt,
} from './decode-text.ts';
import { OPCODES } from './opcodes.ts';
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

  constructor(params: { bytes: Uint8Array; start: number; limits: PickleLimits }) {
    this.bytes = params.bytes;
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
    const info = OPCODES.get(code);
    if (info === undefined) {
      throw new PickleParseError('pickle.bad_opcode', `byte 0x${code.toString(16).padStart(2, '0')} is not a pickle opcode`, offset);
    }
    this.pos++;
    const op: Op = { name: info.name, offset };
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
        op.int = BigInt(this.take(1, op)[0] as number);
        return;
      case 'uint2':
        this.need(2, op);
        op.int = BigInt(this.view.getUint16(this.pos, true));
        this.pos += 2;
        return;
      case 'int4':
        this.need(4, op);
        op.int = BigInt(this.view.getInt32(this.pos, true));
        this.pos += 4;
        return;
      case 'uint4':
        this.need(4, op);
        op.int = BigInt(this.view.getUint32(this.pos, true));
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
        op.text = this.utf8(this.take(this.length(op, 1), op), op);
        return;
      case 'string4':
      case 'unicodestring4':
        op.text = this.utf8(this.take(this.length(op, kind === 'string4' ? -4 : 4), op), op);
        return;
      case 'unicodestring8':
        op.text = this.utf8(this.take(this.length(op, 8), op), op);
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
    let length: bigint;
    const bytes = Math.abs(width);
    this.need(bytes, op);
    if (width === 1) length = BigInt(this.bytes[this.pos] as number);
    else if (width === 4) length = BigInt(this.view.getUint32(this.pos, true));
    else if (width === -4) length = BigInt(this.view.getInt32(this.pos, true));
    else length = this.view.getBigUint64(this.pos, true);
    this.pos += bytes;
    if (length < 0n) throw new PickleParseError('pickle.bad_argument', `${op.name} has a negative length`, op.offset);
    if (length > BigInt(this.bytes.length - this.pos)) {
      throw new PickleParseError('pickle.truncated', `${op.name} declares ${length} bytes, more than the stream holds`, op.offset);
    }
    if (length > BigInt(this.limits.maxStringBytes)) {
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
    const stop = Math.min(this.bytes.length, this.pos + this.limits.maxStringBytes + 1);
    const newline = this.bytes.subarray(this.pos, stop).indexOf(0x0a);
    if (newline < 0) {
      if (stop === this.bytes.length) throw new PickleParseError('pickle.truncated', `${op.name} argument has no end of line`, op.offset);
      throw new PickleParseError('pickle.limit_string', `${op.name} argument is longer than ${this.limits.maxStringBytes} bytes`, op.offset);
    }
    const line = this.bytes.subarray(this.pos, this.pos + newline);
    this.pos += newline + 1;
    return line;
  }

  private utf8(bytes: Uint8Array, op: Op): string {
    const text = decodeUtf8(bytes);
    if (text === undefined) throw this.badArg(op, 'valid UTF-8');
    return text;
  }

  private utf8Line(op: Op): string {
    return this.utf8(this.line(op), op);
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
