/**
 * Decoders for the text arguments of protocol-0 opcodes, following CPython 3.11 `pickle.py` (`load_int`,
 * `load_long`, `load_float`, `load_string`, `load_unicode`). Each returns `undefined` where CPython raises, so
 * the scanner rejects exactly what a real load would fail on, never more leniently. Stricter in two places,
 * on purpose: integer literals with `_` separators and lone surrogates in UTF-8 are refused.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export function decodeLatin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return out;
}

/** CPython limits int↔str conversion to 4300 digits (`sys.int_info.default_max_str_digits`). */
const MAX_INT_DIGITS = 4300;

/** `int(text, 0)`: decimal without leading zeros, or 0x/0o/0b. */
export function parsePythonInt(text: string): bigint | undefined {
  const match = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[1-9][0-9]*|0+)\s*$/.exec(text);
  if (match === null) return undefined;
  const [, sign, body] = match;
  if (body === undefined || body.length > MAX_INT_DIGITS + 2) return undefined;
  const prefix = body.slice(0, 2).toLowerCase();
  const magnitude = prefix === '0o' ? BigInt(`0o${body.slice(2)}`) : BigInt(body);
  return sign === '-' ? -magnitude : magnitude;
}

/** `int(text)` (base 10), as `GET`/`PUT` read their index. */
export function parseDecimalInt(text: string): bigint | undefined {
  const match = /^\s*([+-]?)([0-9]+)\s*$/.exec(text);
  if (match === null) return undefined;
  const [, sign, digits] = match;
  if (digits === undefined || digits.length > MAX_INT_DIGITS) return undefined;
  const magnitude = BigInt(digits);
  return sign === '-' ? -magnitude : magnitude;
}

/** `float(text)`. */
export function parsePythonFloat(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) return Number(trimmed);
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(trimmed);
  if (special === null) return undefined;
  const negative = special[1] === '-';
  if (special[2]?.toLowerCase() === 'nan') return Number.NaN;
  return negative ? -Infinity : Infinity;
}

const SIMPLE_ESCAPES: ReadonlyMap<number, number> = new Map([
  [0x5c, 0x5c], // \\
  [0x27, 0x27], // \'
  [0x22, 0x22], // \"
  [0x61, 0x07], // \a
  [0x62, 0x08], // \b
  [0x66, 0x0c], // \f
  [0x6e, 0x0a], // \n
  [0x72, 0x0d], // \r
  [0x74, 0x09], // \t
  [0x76, 0x0b], // \v
]);

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/** `codecs.escape_decode`, used by the `STRING` opcode. */
export function decodePythonEscapes(bytes: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte !== 0x5c) {
      out[n++] = byte;
      continue;
    }
    i++;
    const next = bytes[i];
    if (next === undefined) return undefined; // trailing backslash
    const simple = SIMPLE_ESCAPES.get(next);
    if (simple !== undefined) {
      out[n++] = simple;
    } else if (next === 0x0a) {
      // line continuation: nothing
    } else if (next >= 0x30 && next <= 0x37) {
      let value = next - 0x30;
      for (let k = 0; k < 2 && (bytes[i + 1] ?? 0) >= 0x30 && (bytes[i + 1] ?? 0) <= 0x37; k++) {
        i++;
        value = value * 8 + ((bytes[i] as number) - 0x30);
      }
      out[n++] = value & 0xff;
    } else if (next === 0x78) {
      const high = hexValue(bytes[i + 1]);
      const low = hexValue(bytes[i + 2]);
      if (high < 0 || low < 0) return undefined;
      out[n++] = high * 16 + low;
      i += 2;
    } else {
      out[n++] = 0x5c;
      out[n++] = next;
    }
  }
  return out.subarray(0, n);
}

/** `raw-unicode-escape`, used by the `UNICODE` opcode: latin-1 bytes, plus `\uXXXX`/`\UXXXXXXXX` after an odd run of backslashes. */
export function decodeRawUnicodeEscape(bytes: Uint8Array): string | undefined {
  const parts: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    const byte = bytes[i] as number;
    if (byte !== 0x5c) {
      parts.push(String.fromCharCode(byte));
      i++;
      continue;
    }
    let run = 0;
    while (bytes[i + run] === 0x5c) run++;
    const marker = bytes[i + run];
    if (run % 2 === 0 || (marker !== 0x75 && marker !== 0x55)) {
      parts.push('\\'.repeat(run));
      i += run;
      continue;
    }
    parts.push('\\'.repeat(run - 1));
    const digits = marker === 0x75 ? 4 : 8;
    let code = 0;
    for (let k = 1; k <= digits; k++) {
      const value = hexValue(bytes[i + run + k]);
      if (value < 0) return undefined; // truncated \uXXXX
      code = code * 16 + value;
    }
    if (code > 0x10ffff) return undefined;
    parts.push(String.fromCodePoint(code));
    i += run + 1 + digits;
  }
  return parts.join('');
}
