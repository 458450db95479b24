/** Value coercion shared by the importers: the tools store numbers as strings, booleans as "true", and so on (B0, B1). */

export type Dict = Record<string, unknown>;

export function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A finite number, or a string holding one ("0.0001", "2"); anything else is undefined. */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value.trim());
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

export function toInteger(value: unknown): number | undefined {
  const parsed = toNumber(value);
  return parsed !== undefined && Number.isInteger(parsed) ? parsed : undefined;
}

export function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  if (typeof value === 'number') return value !== 0;
  return undefined;
}

export function toText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** The tools drop these before writing sd-scripts' config (B0): 0, 0.0, "", false, null, and LETS' "false". */
export function isFalsy(value: unknown): boolean {
  return value === undefined || value === null || value === 0 || value === 0n || value === '' || value === false || value === 'false';
}

/** Drop falsy values, as each tool does when it writes sd-scripts' config; returns the dropped keys. */
export function dropFalsy(args: Dict): string[] {
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(args)) {
    if (isFalsy(value)) {
      delete args[key];
      dropped.push(key);
    }
  }
  return dropped;
}

/** Values that must not be echoed back (API keys); the key is still reported. */
export function redact(key: string, value: unknown): unknown {
  return /key|token|secret|password/i.test(key) && !isFalsy(value) ? '<redacted>' : value;
}

/**
 * A Python literal as sd-scripts reads an `optimizer_args` / `lr_scheduler_args` value (`ast.literal_eval`):
 * numbers, True/False/None, quoted strings and tuples or lists of them ("0.9,0.99" is a tuple too).
 */
export function parsePythonLiteral(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === 'True') return true;
  if (trimmed === 'False') return false;
  if (trimmed === 'None') return null;
  if (/^(['"]).*\1$/s.test(trimmed)) return trimmed.slice(1, -1);
  const bracketed = /^[([](.*)[)\]]$/s.exec(trimmed);
  const inner = bracketed ? bracketed[1] : trimmed.includes(',') ? trimmed : undefined;
  if (inner !== undefined) {
    return inner
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .map((part) => parsePythonLiteral(part));
  }
  const number = toNumber(trimmed);
  return number ?? trimmed;
}

/** `"k=v"` strings (kohya's `network_args` and friends) as ordered pairs; a string without "=" keeps an empty value. */
export function parseKeyValues(entries: readonly string[]): Array<[string, string]> {
  return entries.map((entry) => {
    const at = entry.indexOf('=');
    return at < 0 ? [entry.trim(), ''] : [entry.slice(0, at).trim(), entry.slice(at + 1).trim()];
  });
}

/** A value that should be an array of "k=v" strings: an array (items stringified) or, defensively, one string. */
export function toStringList(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map((item) => String(item));
  if (typeof value === 'string') return value.trim() === '' ? [] : [value];
  return undefined;
}

/**
 * Python's `str()` of a TOML value, as the Backend writes list and float values into `k=v` strings. TOML integers
 * arrive as bigint (see `parseTomlText`), so a float such as `1.0` keeps its decimal point, as in Python.
 */
export function pythonString(value: unknown): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) < 1e16) return `${value}.0`;
    const abs = Math.abs(value);
    // Python switches to exponent form below 1e-4 and writes two-digit exponents (1e-06).
    const text = abs !== 0 && (abs < 1e-4 || abs >= 1e16) ? value.toExponential() : String(value);
    return text.replace(/e([+-])(\d)$/, 'e$10$2');
  }
  if (Array.isArray(value)) return value.map((item) => pythonString(item)).join(',');
  return String(value);
}

/** TOML integers read as bigint, back to numbers (they are all far below 2^53 in these configs). */
export function normaliseNumbers(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map((item) => normaliseNumbers(item));
  if (isDict(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, normaliseNumbers(item)]));
  return value;
}

/** One kohya CLI token list (`--key=value`, `--key value`, `--flag`) as config keys; `"` already removed. */
export function parseCliTail(text: string): Array<[string, unknown]> {
  const tokens = text.replaceAll('"', '').split(/\s+/).filter((token) => token !== '');
  const out: Array<[string, unknown]> = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i] ?? '';
    const next = tokens[i + 1];
    if (!token.startsWith('--')) continue;
    const body = token.slice(2);
    const at = body.indexOf('=');
    if (at >= 0) {
      out.push([body.slice(0, at), body.slice(at + 1)]);
    } else if (next !== undefined && !next.startsWith('--')) {
      out.push([body, next]);
      i += 1;
    } else {
      out.push([body, true]);
    }
  }
  return out;
}
