/**
 * The header of a numpy `.npy` file (§1.3): magic, version, a u16 (v1) or u32 (v2, v3) length, then a Python
 * dict literal with `descr`, `fortran_order` and `shape`. Parsed with a tiny literal grammar (no eval), capped
 * at numpy's own 10,000-byte default. What matters for security is whether the dtype holds objects: then a
 * pickle follows the header.
 */

export const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const MAX_HEADER_BYTES = 10_000;
const MAX_DEPTH = 16;

export interface NpyHeader {
  version: number;
  /** Offset of the array data (or of the pickle, for object arrays). */
  dataOffset: number;
  hasObject: boolean;
  /** Bytes per element; `undefined` for object arrays. */
  itemSize: number | undefined;
  shape: bigint[];
}

type Literal = string | bigint | boolean | null | Literal[] | { tuple: Literal[] } | Map<string, Literal>;

export type NpyHeaderResult = { ok: true; header: NpyHeader } | { ok: false; verdict: 'invalid' | 'unsupported'; message: string };

export function parseNpyHeader(head: Uint8Array): NpyHeaderResult {
  const fail = (message: string, verdict: 'invalid' | 'unsupported' = 'invalid'): NpyHeaderResult => ({ ok: false, verdict, message });
  if (head.length < 10 || NPY_MAGIC.some((byte, i) => head[i] !== byte)) return fail('not a .npy file');
  const major = head[6] as number;
  if (major < 1 || major > 3 || head[7] !== 0) return fail(`unknown .npy version ${major}.${head[7]}`, 'unsupported');
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const prefix = major === 1 ? 10 : 12;
  if (head.length < prefix) return fail('the .npy header is cut off');
  const length = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  if (length > MAX_HEADER_BYTES) return fail(`the .npy header is ${length} bytes, over numpy's ${MAX_HEADER_BYTES}`);
  if (prefix + length > head.length) return fail('the .npy header is cut off');
  const bytes = head.subarray(prefix, prefix + length);
  const text = major === 3 ? new TextDecoder('utf-8', { fatal: false }).decode(bytes) : Buffer.from(bytes).toString('latin1');
  const parsed = parseLiteral(text);
  if (!(parsed instanceof Map)) return fail('the .npy header is not a dict literal');
  const keys = [...parsed.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') return fail('the .npy header does not have exactly descr, fortran_order and shape');
  const shape = parsed.get('shape');
  if (typeof shape !== 'object' || shape === null || !('tuple' in shape) || !shape.tuple.every((n) => typeof n === 'bigint' && n >= 0n)) {
    return fail('the .npy shape is not a tuple of non-negative ints');
  }
  if (typeof parsed.get('fortran_order') !== 'boolean') return fail('the .npy fortran_order is not a bool');
  const dtype = describeDtype(parsed.get('descr'), 0);
  if (dtype === undefined) return fail('the .npy dtype is not one the scanner understands', 'unsupported');
  return {
    ok: true,
    header: { version: major, dataOffset: prefix + length, hasObject: dtype.hasObject, itemSize: dtype.hasObject ? undefined : dtype.itemSize, shape: shape.tuple as bigint[] },
  };
}

/** Element size and object-ness of a numpy `descr`: a type string or a list of structured fields. */
function describeDtype(descr: Literal | undefined, depth: number): { hasObject: boolean; itemSize: number } | undefined {
  if (depth > MAX_DEPTH) return undefined;
  if (typeof descr === 'string') {
    const match = /^[<>|=]?([biufcSUVaMmO?])(\d*)(\[\w+\])?$/.exec(descr);
    if (match === null) return undefined;
    const [, kind = '', digits = ''] = match;
    const n = digits === '' ? undefined : Number(digits);
    if (kind === 'O') return { hasObject: true, itemSize: 8 };
    if (kind === '?') return { hasObject: false, itemSize: 1 };
    if (kind === 'M' || kind === 'm') return n === 8 ? { hasObject: false, itemSize: 8 } : undefined;
    if (n === undefined) return undefined;
    return { hasObject: false, itemSize: kind === 'U' ? n * 4 : n };
  }
  if (!Array.isArray(descr)) return undefined;
  let hasObject = false;
  let itemSize = 0;
  for (const field of descr) {
    if (typeof field !== 'object' || field === null || !('tuple' in field)) return undefined;
    const [, inner, shape] = field.tuple;
    const described = describeDtype(inner, depth + 1);
    if (described === undefined) return undefined;
    let count = 1;
    if (shape !== undefined) {
      if (typeof shape !== 'object' || shape === null || !('tuple' in shape) || !shape.tuple.every((n) => typeof n === 'bigint')) return undefined;
      for (const n of shape.tuple) count *= Number(n);
    }
    hasObject ||= described.hasObject;
    itemSize += described.itemSize * count;
  }
  return { hasObject, itemSize };
}

/** A Python literal: str, int, True/False/None, tuple, list, dict with str keys. */
function parseLiteral(text: string): Literal | undefined {
  let at = 0;
  const skip = (): void => {
    while (at < text.length && /\s/.test(text[at] as string)) at++;
  };
  const value = (depth: number): Literal | undefined => {
    if (depth > MAX_DEPTH) return undefined;
    skip();
    const c = text[at];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, at + 1);
      if (end < 0 || text.slice(at + 1, end).includes('\\')) return undefined;
      const s = text.slice(at + 1, end);
      at = end + 1;
      return s;
    }
    const number = /^-?\d+/.exec(text.slice(at, at + 64));
    if (number !== null) {
      at += number[0].length;
      return BigInt(number[0]);
    }
    for (const [word, result] of [['True', true], ['False', false], ['None', null]] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return result;
      }
    }
    if (c === '(' || c === '[' || c === '{') {
      at++;
      const close = c === '(' ? ')' : c === '[' ? ']' : '}';
      const items: Literal[] = [];
      const dict = new Map<string, Literal>();
      let commas = 0;
      for (;;) {
        skip();
        if (text[at] === close) {
          at++;
          break;
        }
        const item = value(depth + 1);
        if (item === undefined) return undefined;
        if (c === '{') {
          skip();
          if (text[at] !== ':' || typeof item !== 'string' || dict.has(item)) return undefined;
          at++;
          const entry = value(depth + 1);
          if (entry === undefined) return undefined;
          dict.set(item, entry);
        } else {
          items.push(item);
        }
        skip();
        if (text[at] === ',') {
          at++;
          commas++;
        } else if (text[at] !== close) {
          return undefined;
        }
      }
      if (c === '{') return dict;
      if (c === '[') return items;
      // `(x)` is x itself; only a comma makes a tuple.
      return items.length === 1 && commas === 0 ? items[0] : { tuple: items };
    }
    return undefined;
  };
  const result = value(0);
  skip();
  return at === text.length ? result : undefined;
}
