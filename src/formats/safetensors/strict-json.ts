import { isUtf8 } from 'node:buffer';

/**
 * A strict JSON parser over bytes (model-file-security.md ST-R03). It exists because `JSON.parse` keeps the
 * last duplicate key and rounds integers above 2^53 − 1, the two differentials attackers use against
 * safetensors readers (ST-A07, ST-A15). It is RFC 8259 JSON plus:
 * - valid UTF-8, no BOM (ST-R02);
 * - nesting depth bounded (64 by default), so recursion depth is bounded too;
 * - duplicate object keys rejected after unescaping (`"a"` and `"\u0061"` are the same key);
 * - lone UTF-16 surrogates in `\u` escapes rejected (they cannot be valid UTF-8 names);
 * - optionally, every number must be a plain integer in [0, 2^53 − 1] (`safe-integers`), kept exact.
 * Work is linear in the input: every step is counted on an optional meter so tests can assert it.
 */

export type JsonValue = JsonObject | JsonArray | JsonString | JsonNumber | JsonLiteral;

export interface JsonObject {
  kind: 'object';
  /** Byte offset of `{` in the parsed input. */
  offset: number;
  /** Entries in document order; keys are unique (duplicates are a parse error). */
  entries: Map<string, JsonValue>;
}

export interface JsonArray {
  kind: 'array';
  offset: number;
  items: JsonValue[];
}

export interface JsonString {
  kind: 'string';
  offset: number;
  value: string;
}

export interface JsonNumber {
  kind: 'number';
  offset: number;
  /** The number exactly as written. */
  text: string;
  /** Exact under `safe-integers`; otherwise `Number(text)` (may round). */
  value: number;
}

export interface JsonLiteral {
  kind: 'literal';
  offset: number;
  value: boolean | null;
}

export type JsonErrorCode = 'json.utf8' | 'json.bom' | 'json.syntax' | 'json.depth' | 'json.duplicate_key' | 'json.integer';

export interface JsonParseError {
  code: JsonErrorCode;
  message: string;
  /** Byte offset in the parsed input. */
  offset: number;
}

export type JsonParseResult =
  | { ok: true; value: JsonValue; leadingWhitespace: boolean }
  | { ok: false; error: JsonParseError };

/** Counts the steps a parser or validator takes, so tests can bound work by input size. */
export interface WorkMeter {
  steps: number;
}

export interface StrictJsonOptions {
  /** Maximum nesting of objects and arrays; the top-level container is depth 1. Default 64. */
  maxDepth?: number;
  /** `safe-integers`: every number must be an integer in [0, 2^53 − 1] without fraction or exponent. */
  numbers?: 'any' | 'safe-integers';
  meter?: WorkMeter;
}

export const DEFAULT_MAX_JSON_DEPTH = 64;

const MAX_SAFE_DIGITS = String(Number.MAX_SAFE_INTEGER).length;
/** Up to this many decimal digits, accumulating `value * 10 + digit` in a double is exact. */
const EXACT_DIGITS = 15;

class JsonFailure extends Error {
  readonly detail: JsonParseError;
  constructor(detail: JsonParseError) {
    super(detail.message);
    this.detail = detail;
  }
}

const isDigit = (byte: number | undefined): boolean => byte !== undefined && byte >= 0x30 && byte <= 0x39;

/** Render a key for a message: quoted, escaped, shortened. Keys are data, never markup (ST-R08). */
export function quoteForMessage(text: string, max = 64): string {
  const short = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(short);
}

export function parseStrictJson(bytes: Uint8Array, options: StrictJsonOptions = {}): JsonParseResult {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { ok: false, error: { code: 'json.bom', message: 'the JSON starts with a UTF-8 byte order mark', offset: 0 } };
  }
  if (!isUtf8(bytes)) {
    return { ok: false, error: { code: 'json.utf8', message: 'the JSON is not valid UTF-8', offset: 0 } };
  }
  const parser = new Parser(bytes, options);
  try {
    return parser.parseDocument();
  } catch (error) {
    if (error instanceof JsonFailure) return { ok: false, error: error.detail };
    throw error;
  }
}

/**
 * Performance notes: the input is checked as UTF-8 once, up front (`isUtf8`), so a slice between ASCII
 * delimiters is valid UTF-8 on its own and decodes with one native call, no per-string decoder checks (and
 * `Buffer#toString` keeps a leading U+FEFF, as the `ignoreBOM` decoder did). Strings are scanned with a tight
 * byte loop; only strings with escapes take the slow path and are built from parts. A plain integer's text
 * is `String(value)` (the grammar forbids leading zeros, so it is the text as written). Work is still counted
 * on the meter, about one step per byte, added per token instead of per byte.
 */
class Parser {
  private pos = 0;
  private readonly bytes: Uint8Array;
  private readonly buffer: Buffer;
  private readonly maxDepth: number;
  private readonly safeIntegers: boolean;
  private readonly meter: WorkMeter;

  constructor(bytes: Uint8Array, options: StrictJsonOptions) {
    this.bytes = bytes;
    this.buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
    this.safeIntegers = options.numbers === 'safe-integers';
    this.meter = options.meter ?? { steps: 0 };
  }

  parseDocument(): JsonParseResult {
    this.skipWhitespace();
    const leadingWhitespace = this.pos > 0;
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos !== this.bytes.length) this.fail('json.syntax', 'unexpected data after the JSON value');
    return { ok: true, value, leadingWhitespace };
  }

  private fail(code: JsonErrorCode, message: string, offset = this.pos): never {
    throw new JsonFailure({ code, message, offset });
  }

  private skipWhitespace(): void {
    const { bytes } = this;
    let pos = this.pos;
    const start = pos;
    for (;;) {
      const byte = bytes[pos];
      if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) break;
      pos += 1;
    }
    this.meter.steps += pos - start;
    this.pos = pos;
  }

  private parseValue(depth: number): JsonValue {
    this.meter.steps += 1;
    const byte = this.bytes[this.pos];
    switch (byte) {
      case 0x7b:
        return this.parseObject(depth + 1);
      case 0x5b:
        return this.parseArray(depth + 1);
      case 0x22: {
        const offset = this.pos;
        return { kind: 'string', offset, value: this.parseString() };
      }
      case 0x74:
        return this.parseLiteral('true', true);
      case 0x66:
        return this.parseLiteral('false', false);
      case 0x6e:
        return this.parseLiteral('null', null);
      default:
        if (byte === 0x2d || (byte !== undefined && byte >= 0x30 && byte <= 0x39)) return this.parseNumber();
        return this.fail('json.syntax', byte === undefined ? 'unexpected end of JSON' : 'unexpected character');
    }
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth) this.fail('json.depth', `JSON nesting deeper than ${this.maxDepth}`);
  }

  private expect(byte: number, what: string): void {
    if (this.bytes[this.pos] !== byte) this.fail('json.syntax', `expected ${what}`);
    this.pos += 1;
  }

  /** On `{` or `[`: steps past it; true when the container is empty (then its `close` is consumed too). */
  private openContainer(depth: number, close: number): boolean {
    this.enter(depth);
    this.pos += 1;
    this.skipWhitespace();
    if (this.bytes[this.pos] !== close) return false;
    this.pos += 1;
    return true;
  }

  /** After a member or element: true when a `,` follows (consumed, with the whitespace after it); else consumes `close`. */
  private nextItem(close: number, what: string): boolean {
    const { bytes } = this;
    let next = bytes[this.pos];
    if (next !== 0x2c && next !== close) {
      this.skipWhitespace();
      next = bytes[this.pos];
    }
    if (next === 0x2c) {
      this.pos += 1;
      this.skipWhitespace();
      return true;
    }
    this.expect(close, what);
    return false;
  }

  private parseObject(depth: number): JsonObject {
    const entries = new Map<string, JsonValue>();
    const node: JsonObject = { kind: 'object', offset: this.pos, entries };
    if (this.openContainer(depth, 0x7d)) return node;
    const { bytes } = this;
    do {
      this.meter.steps += 1;
      const keyOffset = this.pos;
      if (bytes[keyOffset] !== 0x22) this.fail('json.syntax', 'expected a string key');
      const key = this.parseString();
      if (entries.has(key)) {
        this.fail('json.duplicate_key', `duplicate key ${quoteForMessage(key)}`, keyOffset);
      }
      if (bytes[this.pos] !== 0x3a) this.skipWhitespace();
      this.expect(0x3a, '":"');
      this.skipWhitespace();
      entries.set(key, this.parseValue(depth));
    } while (this.nextItem(0x7d, '"," or "}"'));
    return node;
  }

  private parseArray(depth: number): JsonArray {
    const node: JsonArray = { kind: 'array', offset: this.pos, items: [] };
    if (this.openContainer(depth, 0x5d)) return node;
    do {
      node.items.push(this.parseValue(depth));
    } while (this.nextItem(0x5d, '"," or "]"'));
    return node;
  }

  private parseLiteral(word: string, value: boolean | null): JsonLiteral {
    const offset = this.pos;
    for (let i = 0; i < word.length; i += 1) {
      this.meter.steps += 1;
      if (this.bytes[this.pos + i] !== word.charCodeAt(i)) this.fail('json.syntax', 'invalid literal');
    }
    this.pos += word.length;
    return { kind: 'literal', offset, value };
  }

  /** Called with `pos` on the opening quote; leaves `pos` after the closing quote. */
  private parseString(): string {
    const { bytes } = this;
    const start = this.pos + 1;
    let pos = start;
    // Fast path: a run of plain characters up to the closing quote, one byte test each.
    for (;;) {
      const byte = bytes[pos];
      if (byte === undefined) {
        this.meter.steps += pos - start + 1;
        this.pos = pos;
        return this.fail('json.syntax', 'unterminated string');
      }
      if (byte === 0x22) {
        this.meter.steps += pos - start + 1;
        this.pos = pos + 1;
        return this.buffer.toString('utf8', start, pos);
      }
      if (byte < 0x20) {
        this.meter.steps += pos - start + 1;
        this.pos = pos;
        return this.fail('json.syntax', 'control character in string');
      }
      if (byte === 0x5c) break;
      pos += 1;
    }
    this.meter.steps += pos - start;
    this.pos = pos;
    return this.parseEscapedString(start);
  }

  /** The slow path: `pos` on a backslash inside the string that began at `start`. */
  private parseEscapedString(start: number): string {
    const { bytes } = this;
    let chunkStart = start;
    const parts: string[] = [];
    for (;;) {
      this.meter.steps += 1;
      const byte = bytes[this.pos];
      if (byte === undefined) this.fail('json.syntax', 'unterminated string');
      if (byte === 0x22) {
        parts.push(this.buffer.toString('utf8', chunkStart, this.pos));
        this.pos += 1;
        return parts.join('');
      }
      if (byte < 0x20) this.fail('json.syntax', 'control character in string');
      if (byte !== 0x5c) {
        this.pos += 1;
        continue;
      }
      parts.push(this.buffer.toString('utf8', chunkStart, this.pos));
      parts.push(this.parseEscape());
      chunkStart = this.pos;
    }
  }

  /** Called with `pos` on the backslash. */
  private parseEscape(): string {
    const escape = this.bytes[this.pos + 1];
    this.pos += 2;
    switch (escape) {
      case 0x22:
        return '"';
      case 0x5c:
        return '\\';
      case 0x2f:
        return '/';
      case 0x62:
        return '\b';
      case 0x66:
        return '\f';
      case 0x6e:
        return '\n';
      case 0x72:
        return '\r';
      case 0x74:
        return '\t';
      case 0x75:
        return this.parseUnicodeEscape();
      default:
        return this.fail('json.syntax', 'invalid escape in string', this.pos - 2);
    }
  }

  /** Called after `\u`; joins a surrogate pair and refuses lone surrogates. */
  private parseUnicodeEscape(): string {
    const start = this.pos - 2;
    const high = this.readHex4();
    if (high >= 0xdc00 && high <= 0xdfff) this.fail('json.syntax', 'lone low surrogate in \\u escape', start);
    if (high < 0xd800 || high > 0xdbff) return String.fromCharCode(high);
    if (this.bytes[this.pos] !== 0x5c || this.bytes[this.pos + 1] !== 0x75) {
      this.fail('json.syntax', 'lone high surrogate in \\u escape', start);
    }
    this.pos += 2;
    const low = this.readHex4();
    if (low < 0xdc00 || low > 0xdfff) this.fail('json.syntax', 'lone high surrogate in \\u escape', start);
    return String.fromCharCode(high, low);
  }

  private readHex4(): number {
    let value = 0;
    for (let i = 0; i < 4; i += 1) {
      this.meter.steps += 1;
      const byte = this.bytes[this.pos];
      let digit: number;
      if (byte !== undefined && byte >= 0x30 && byte <= 0x39) digit = byte - 0x30;
      else if (byte !== undefined && byte >= 0x61 && byte <= 0x66) digit = byte - 0x57;
      else if (byte !== undefined && byte >= 0x41 && byte <= 0x46) digit = byte - 0x37;
      else return this.fail('json.syntax', 'invalid \\u escape');
      value = value * 16 + digit;
      this.pos += 1;
    }
    return value;
  }

  private parseNumber(): JsonNumber {
    const { bytes } = this;
    const offset = this.pos;
    const negative = bytes[this.pos] === 0x2d;
    if (negative) this.pos += 1;
    const intStart = this.pos;
    // The integer part's value, exact up to EXACT_DIGITS digits.
    let intValue = 0;
    if (bytes[this.pos] === 0x30) {
      this.pos += 1;
      if (isDigit(bytes[this.pos])) this.fail('json.syntax', 'number with a leading zero', offset);
    } else {
      if (!isDigit(bytes[this.pos])) this.fail('json.syntax', 'invalid number', offset);
      let pos = this.pos;
      for (;;) {
        const byte = bytes[pos];
        if (byte === undefined || byte < 0x30 || byte > 0x39) break;
        intValue = intValue * 10 + (byte - 0x30);
        pos += 1;
      }
      this.meter.steps += pos - this.pos;
      this.pos = pos;
    }
    const intDigits = this.pos - intStart;
    let plainInteger = true;
    if (bytes[this.pos] === 0x2e) {
      plainInteger = false;
      this.pos += 1;
      if (!isDigit(bytes[this.pos])) this.fail('json.syntax', 'invalid number fraction', offset);
      this.skipDigits();
    }
    const e = bytes[this.pos];
    if (e === 0x65 || e === 0x45) {
      plainInteger = false;
      this.pos += 1;
      const sign = bytes[this.pos];
      if (sign === 0x2b || sign === 0x2d) this.pos += 1;
      if (!isDigit(bytes[this.pos])) this.fail('json.syntax', 'invalid number exponent', offset);
      this.skipDigits();
    }
    // Only number characters were consumed, so this slice is ASCII. A plain integer of up to EXACT_DIGITS
    // digits without a sign reads back as exactly its text (no leading zeros).
    const exact = plainInteger && !negative && intDigits <= EXACT_DIGITS;
    const text = exact ? String(intValue) : this.buffer.toString('latin1', offset, this.pos);
    if (!this.safeIntegers) return { kind: 'number', offset, text, value: exact ? intValue : Number(text) };
    if (negative || !plainInteger) {
      this.fail('json.integer', `${quoteForMessage(text)} is not a non-negative integer`, offset);
    }
    // Fewer digits than 2^53 − 1 has cannot exceed it; the digit count bounds the conversion cost.
    const value = exact ? intValue : intDigits <= MAX_SAFE_DIGITS ? Number(text) : Number.POSITIVE_INFINITY;
    if (value > Number.MAX_SAFE_INTEGER) {
      this.fail('json.integer', `integer ${quoteForMessage(text)} is above 2^53 − 1`, offset);
    }
    return { kind: 'number', offset, text, value };
  }

  private skipDigits(): void {
    const { bytes } = this;
    let pos = this.pos;
    while (isDigit(bytes[pos])) pos += 1;
    this.meter.steps += pos - this.pos;
    this.pos = pos;
  }
}
