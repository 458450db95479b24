/**
 * YAML as FluxFlow reads it: PyYAML's `safe_load`, which resolves plain scalars by YAML 1.1 rules (fluxflow.md
 * §1.2). Those differ from YAML 1.2 and from what a JavaScript number prints as: `5e-7` is a *string* to PyYAML
 * (its float pattern needs a dot), `on` / `yes` are booleans, `0755` is octal, `12:30` an integer (base 60).
 * FluxFlow checks no types, so a value of the wrong type fails hours later with a TypeError (§1.2) — hence
 * typed output: `PyValue` keeps ints (bigint) apart from floats (number), `dumpPyYaml` writes each as PyYAML
 * reads it back, and `loadPyYaml` is the reader the parse-back check and the engine double both use.
 */
import { Document, isAlias, isMap, isScalar, isSeq, parseDocument, Scalar, type Node, type ScalarTag } from 'yaml';
import { LorasmithError } from '../../../core/errors.ts';

/** A Python value from `safe_load`: int → bigint, float → number, datetime/date → Date. */
export type PyValue = null | boolean | bigint | number | string | Date | PyValue[] | PyMapping;
export interface PyMapping {
  [key: string]: PyValue;
}

// PyYAML 6 resolver.py, YAML 1.1 implicit resolvers.
const BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const NULL = /^(?:~|null|Null|NULL|)$/;
const TIMESTAMP = /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/;

export class PyYamlError extends Error {
  override readonly name = 'PyYamlError';
}

function sexagesimal(text: string): { sign: number; parts: string[] } {
  const sign = text.startsWith('-') ? -1 : 1;
  return { sign, parts: text.replace(/^[-+]/, '').split(':') };
}

function constructInt(source: string): bigint {
  const text = source.replace(/_/g, '');
  const sign = text.startsWith('-') ? -1n : 1n;
  const body = text.replace(/^[-+]/, '');
  if (body === '0') return 0n;
  if (body.startsWith('0b')) return sign * BigInt(`0b${body.slice(2)}`);
  if (body.startsWith('0x')) return sign * BigInt(`0x${body.slice(2)}`);
  if (body.startsWith('0')) return sign * BigInt(`0o${body.slice(1)}`);
  if (body.includes(':')) return BigInt(sexagesimal(text).sign) * sexagesimal(text).parts.reduce((total, part) => total * 60n + BigInt(part), 0n);
  return sign * BigInt(body);
}

function constructFloat(source: string): number {
  const text = source.replace(/_/g, '').toLowerCase();
  if (text.endsWith('.inf')) return text.startsWith('-') ? -Infinity : Infinity;
  if (text === '.nan') return NaN;
  if (text.includes(':')) {
    const { sign, parts } = sexagesimal(text);
    return sign * parts.reduce((total, part) => total * 60 + Number(part), 0);
  }
  return Number(text);
}

/** How PyYAML resolves a plain (unquoted) scalar. */
export function resolvePlainScalar(source: string): PyValue {
  // `=` (the value tag) and `<<` (merge) resolve to tags SafeConstructor cannot build as values.
  if (source === '=' || source === '<<') throw new PyYamlError(`could not determine a constructor for the scalar '${source}'`);
  if (NULL.test(source)) return null;
  if (BOOL.test(source)) return TRUE.test(source);
  if (INT.test(source)) return constructInt(source);
  if (FLOAT.test(source)) return constructFloat(source);
  if (TIMESTAMP.test(source)) return new Date(source.replace(/[ \t]+/, 'T'));
  return source;
}

const EXPLICIT: Record<string, (text: string) => PyValue> = {
  'tag:yaml.org,2002:str': (text) => text,
  'tag:yaml.org,2002:int': (text) => constructInt(text),
  'tag:yaml.org,2002:float': (text) => constructFloat(text),
  'tag:yaml.org,2002:bool': (text) => TRUE.test(text),
  'tag:yaml.org,2002:null': () => null,
};

function scalarValue(node: Scalar): PyValue {
  const source = node.source ?? String(node.value ?? '');
  if (node.tag !== undefined && node.tag !== '!') {
    const construct = EXPLICIT[node.tag];
    if (construct === undefined) throw new PyYamlError(`could not determine a constructor for the tag '${node.tag}'`);
    return construct(source);
  }
  // Quoted, literal and folded scalars are always strings.
  return node.type === Scalar.PLAIN && node.tag === undefined ? resolvePlainScalar(source) : source;
}

function keyText(key: PyValue): string {
  // A mapping key that is not a string (`1: x`, `on: x`) is not a key FluxFlow looks up; keep it visible as Python prints it.
  if (typeof key === 'string') return key;
  if (typeof key === 'boolean') return key ? 'True' : 'False';
  if (key === null) return 'None';
  return String(key);
}

function toPy(node: unknown, doc: Document): PyValue {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return toPy(node.resolve(doc), doc);
  if (isScalar(node)) return scalarValue(node);
  if (isSeq(node)) return node.items.map((item) => toPy(item, doc));
  if (isMap(node)) {
    const out: PyMapping = Object.create(null) as PyMapping;
    for (const pair of node.items) out[keyText(toPy(pair.key, doc))] = toPy(pair.value, doc);
    return out;
  }
  throw new PyYamlError('unsupported YAML node');
}

/** `yaml.safe_load(text)`: throws `PyYamlError` where PyYAML raises (syntax, unknown tags). Duplicate keys keep the last value, as PyYAML does. */
export function loadPyYaml(text: string): PyValue {
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: false, keepSourceTokens: false });
  if (doc.errors.length > 0) throw new PyYamlError(doc.errors[0]?.message ?? 'YAML syntax error');
  return toPy(doc.contents as Node | null, doc);
}

// ---- dump -------------------------------------------------------------------------------------------------

/** A float as PyYAML writes one: always a dot, a signed two-digit exponent (`5.0e-07`, `1.0`, `0.1`). */
export function formatPyFloat(value: number): string {
  if (Number.isNaN(value)) return '.nan';
  if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [mantissa = '0', exponent = '0'] = value.toExponential().split('e');
    const digits = exponent.replace(/^[-+]/, '').padStart(2, '0');
    return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}e${exponent.startsWith('-') ? '-' : '+'}${digits}`;
  }
  const plain = String(value);
  return plain.includes('.') ? plain : `${plain}.0`;
}

class PyFloat {
  readonly float: number;
  constructor(float: number) {
    this.float = float;
  }
}

const pyFloatTag: ScalarTag = {
  tag: 'tag:yaml.org,2002:float',
  default: true,
  identify: (value) => value instanceof PyFloat,
  resolve: (text) => constructFloat(text),
  stringify: (item) => formatPyFloat((item as Scalar<PyFloat>).value.float),
};

/** Characters PyYAML reads as line breaks even inside quotes, or refuses outright (reader.py NON_PRINTABLE). */
const UNWRITABLE = /[\u0085\u2028\u2029\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u;

function forYaml(value: PyValue): unknown {
  if (typeof value === 'string') {
    const bad = UNWRITABLE.exec(value);
    if (bad !== null) {
      throw new LorasmithError({
        code: 'fluxflow-yaml-text',
        message: `The text ${JSON.stringify(value.slice(0, 80))} holds the character U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}, which FluxFlow's YAML reader treats as a line break or refuses.`,
        hint: 'Remove that character from the caption, prompt or name.',
        exitCode: 1,
        status: 400,
      });
    }
    const scalar = new Scalar(value);
    scalar.type = Scalar.QUOTE_DOUBLE;
    // The library's YAML 1.1 merge tag claims the string `<<` and prints it bare, which PyYAML cannot construct.
    if (value === '<<') scalar.tag = 'tag:yaml.org,2002:str';
    return scalar;
  }
  if (typeof value === 'number') return new PyFloat(value);
  if (typeof value === 'bigint') return value;
  if (value instanceof Date) throw new PyYamlError('dates are not written');
  if (Array.isArray(value)) return value.map(forYaml);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, forYaml(item)]));
  return value;
}

/** Deep equality of two PyValues with int ≠ float (`1` is not `1.0`), as a type-checking reader sees them. */
export function samePyValue(a: PyValue, b: PyValue): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) || a === b;
  if (typeof a !== typeof b) return false;
  if (a === null || b === null) return a === b;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => samePyValue(item, b[index] as PyValue));
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (typeof a === 'object' && typeof b === 'object') {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => key in b && samePyValue(a[key] as PyValue, b[key] as PyValue));
  }
  return a === b;
}

/**
 * Write a PyValue as YAML that `safe_load` reads back as exactly that value: strings PyYAML would take for
 * something else are quoted, floats always carry a dot. The result is read back with `loadPyYaml` and compared;
 * a difference is a bug here and throws rather than reaching the engine.
 */
export function dumpPyYaml(value: PyValue): string {
  // Every string value double-quoted: no caption or path can be read back as a bool, number, date or null.
  const text = new Document(forYaml(value), { version: '1.1', customTags: [pyFloatTag] }).toString({ lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' });
  let back: PyValue;
  try {
    back = loadPyYaml(text);
  } catch (error) {
    back = `unreadable: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (!samePyValue(back, value)) {
    throw new LorasmithError({
      code: 'fluxflow-yaml-roundtrip',
      message: 'The FluxFlow pipeline YAML does not read back as written (a typed value would change type in PyYAML).',
      hint: 'This is a bug in lorasmith\'s YAML writer; report it with the run config.',
      exitCode: 2,
      status: 500,
    });
  }
  return text;
}
