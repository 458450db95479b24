/**
 * A small typed TOML emitter for the files sd-scripts reads with Python `toml==0.10.2`.
 *
 * JavaScript numbers carry no int/float distinction, and a generic serializer writes `1.0` as `1`, which
 * sd-scripts' voluptuous checks reject (kohya-sd-scripts.md §1.3, §2). So every value here is tagged with
 * the TOML type it must have, floats always print with a decimal point, and every file is parsed back
 * (integers as BigInt, so the int/float split survives) and compared with what was meant (PROC-R02).
 */
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'smol-toml';

export type TomlScalar =
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'int'; readonly v: number }
  | { readonly t: 'float'; readonly v: number }
  | { readonly t: 'bool'; readonly v: boolean };
export type TomlValue = TomlScalar | { readonly t: 'array'; readonly items: readonly TomlScalar[] };

export const tomlStr = (v: string): TomlScalar => ({ t: 'str', v });
export const tomlInt = (v: number): TomlScalar => ({ t: 'int', v });
export const tomlFloat = (v: number): TomlScalar => ({ t: 'float', v });
export const tomlBool = (v: boolean): TomlScalar => ({ t: 'bool', v });
export const tomlArray = (items: readonly TomlScalar[]): TomlValue => ({ t: 'array', items });

/** A TOML basic string: JSON's escapes are all valid TOML escapes; DEL and lone surrogates are not raw-safe. */
export function formatTomlString(value: string): string {
  if (value.includes('\0')) throw new RangeError('a NUL character cannot be written to a config file');
  return JSON.stringify(value.toWellFormed()).replaceAll('\x7f', '\\u007f');
}

export function formatTomlInt(value: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not an integer`);
  return Object.is(value, -0) ? '0' : String(value);
}

/** Always with a decimal point: `1.0`, `0.0001`, `1.0e-5`, `-2.5`. */
export function formatTomlFloat(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`${value} is not a finite number`);
  const text = String(value);
  if (text.includes('e')) {
    const [mantissa = '', exponent = ''] = text.split('e');
    return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}e${exponent.replace('+', '')}`;
  }
  return text.includes('.') ? text : `${text}.0`;
}

function formatScalar(value: TomlScalar): string {
  switch (value.t) {
    case 'str':
      return formatTomlString(value.v);
    case 'int':
      return formatTomlInt(value.v);
    case 'float':
      return formatTomlFloat(value.v);
    case 'bool':
      return value.v ? 'true' : 'false';
  }
}

export function formatTomlValue(value: TomlValue): string {
  if (value.t === 'array') {
    const kinds = new Set(value.items.map((item) => item.t));
    if (kinds.size > 1) throw new RangeError('a TOML array for sd-scripts must hold one type (toml 0.10.2 rejects mixed arrays)');
    return `[${value.items.map(formatScalar).join(', ')}]`;
  }
  return formatScalar(value);
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

export function formatTomlKey(key: string): string {
  if (!BARE_KEY.test(key)) throw new RangeError(`unexpected TOML key ${JSON.stringify(key)}`);
  return key;
}

/** `key = value` lines, in the given order. */
export function formatTomlEntries(entries: Iterable<readonly [string, TomlValue]>): string {
  let out = '';
  for (const [key, value] of entries) out += `${formatTomlKey(key)} = ${formatTomlValue(value)}\n`;
  return out;
}

/** The value as smol-toml parses it with `integersAsBigInt: true`: ints are BigInt, floats numbers. */
export type TomlPlain = string | number | bigint | boolean | TomlPlain[] | { [key: string]: TomlPlain };

export function tomlValueToPlain(value: TomlValue): TomlPlain {
  if (value.t === 'array') return value.items.map((item) => tomlValueToPlain(item));
  if (value.t === 'int') return BigInt(value.v);
  return value.v;
}

/** Parse with integers as BigInt, into plain objects and arrays (smol-toml's tables have other prototypes). */
export function parseTomlTyped(text: string): Record<string, unknown> {
  return toPlain(parse(text, { integersAsBigInt: true })) as Record<string, unknown>;
}

function toPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = toPlain(item);
    return out;
  }
  return value;
}

/** Parse `text` back and compare it with `expected`. Returns the first difference, or undefined. */
export function tomlParseBackMismatch(text: string, expected: Record<string, TomlPlain>): string | undefined {
  let parsed: Record<string, unknown>;
  try {
    parsed = parseTomlTyped(text);
  } catch (error) {
    return `the file does not parse as TOML (${error instanceof Error ? error.message : String(error)})`;
  }
  return firstDifference(parsed, expected, '');
}

function firstDifference(actual: unknown, expected: unknown, at: string): string | undefined {
  if (isDeepStrictEqual(actual, expected)) return undefined;
  if (typeof expected === 'object' && expected !== null && typeof actual === 'object' && actual !== null) {
    if (Array.isArray(expected) !== Array.isArray(actual)) return `${at || 'root'}: array/table mismatch`;
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const key of keys) {
      const diff = firstDifference((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], at ? `${at}.${key}` : key);
      if (diff !== undefined) return diff;
    }
  }
  return `${at || 'root'}: expected ${describe(expected)}, read back ${describe(actual)}`;
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `int ${value}`;
  if (typeof value === 'number') return `float ${value}`;
  if (value === undefined) return 'nothing';
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? `${item}n` : item)) ?? String(value);
}
