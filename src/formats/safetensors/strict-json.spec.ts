import { describe, expect, it } from 'vitest';
import { parseStrictJson } from './strict-json.ts';
import type { JsonParseResult, StrictJsonOptions } from './strict-json.ts';

const parse = (text: string | Uint8Array, options?: StrictJsonOptions): JsonParseResult =>
  parseStrictJson(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, options);

function errorCode(result: JsonParseResult): string | undefined {
  return result.ok ? undefined : result.error.code;
}

describe('parseStrictJson', () => {
  it('parses objects, arrays, strings, numbers and literals', () => {
    const result = parse('{"a":[1,-2.5e3,"x",true,false,null],"b":{}}');
    expect(result.ok).toBe(true);
    if (!result.ok || result.value.kind !== 'object') return;
    const a = result.value.entries.get('a');
    expect(a?.kind).toBe('array');
    if (a?.kind !== 'array') return;
    expect(a.items.map((item) => item.kind)).toEqual(['number', 'number', 'string', 'literal', 'literal', 'literal']);
  });

  it('ST-R03: rejects duplicate keys after unescaping', () => {
    expect(errorCode(parse('{"a":1,"a":2}'))).toBe('json.duplicate_key');
    expect(errorCode(parse('{"a":1,"\\u0061":2}'))).toBe('json.duplicate_key');
    expect(errorCode(parse('{"x":{"k":1,"k":1}}'))).toBe('json.duplicate_key');
  });

  it('keeps a leading U+FEFF inside a key, so "\\uFEFFa" and "a" stay different keys', () => {
    const result = parse(Buffer.concat([Buffer.from('{"'), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a":1,"a":2}')]));
    expect(result.ok).toBe(true);
    if (result.ok && result.value.kind === 'object') expect([...result.value.entries.keys()]).toEqual(['\ufeffa', 'a']);
  });

  it('ST-R03: depth ≤ 64', () => {
    expect(parse(`${'['.repeat(64)}${']'.repeat(64)}`).ok).toBe(true);
    expect(errorCode(parse(`${'['.repeat(65)}${']'.repeat(65)}`))).toBe('json.depth');
    expect(errorCode(parse(`${'['.repeat(200)}`))).toBe('json.depth');
  });

  it('ST-R03: safe-integers keeps exact integers in [0, 2^53 − 1] and rejects the rest', () => {
    const ok = parse('[0,9007199254740991]', { numbers: 'safe-integers' });
    expect(ok.ok && ok.value.kind === 'array' && ok.value.items.map((n) => (n.kind === 'number' ? n.value : -1))).toEqual([0, 9007199254740991]);
    for (const bad of ['[9007199254740992]', '[9007199254740993]', '[-1]', '[-0]', '[2.0]', '[8e0]', '[1e400]', '[18446744073709551614]']) {
      expect(errorCode(parse(bad, { numbers: 'safe-integers' })), bad).toBe('json.integer');
    }
  });

  it('ST-R03: rejects leading zeros and other invalid numbers in every mode', () => {
    for (const bad of ['[01]', '[-01]', '[1.]', '[.5]', '[1e]', '[+1]', '[0x10]']) {
      expect(errorCode(parse(bad)), bad).toBe('json.syntax');
    }
  });

  it('ST-R02: rejects a BOM and invalid UTF-8', () => {
    expect(errorCode(parse(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])))).toBe('json.bom');
    expect(errorCode(parse(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])))).toBe('json.utf8');
    expect(errorCode(parse(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])))).toBe('json.utf8'); // encoded surrogate
  });

  it('reports leading whitespace and accepts trailing whitespace', () => {
    const result = parse(' \t\r\n{}  \n');
    expect(result.ok && result.leadingWhitespace).toBe(true);
    const plain = parse('{}');
    expect(plain.ok && plain.leadingWhitespace).toBe(false);
  });

  it('rejects trailing NUL bytes, comments, trailing commas and control characters in strings', () => {
    for (const bad of ['{}\u0000', '{} // c', '{"a":1,}', '[1,]', '{"a\u0001":1}', '{"a":1}{}', '', '{"a" 1}']) {
      expect(errorCode(parse(bad)), JSON.stringify(bad)).toBe('json.syntax');
    }
  });

  it('decodes escapes and surrogate pairs; rejects lone surrogates', () => {
    const result = parse('["\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"]');
    expect(result.ok && result.value.kind === 'array' && result.value.items[0]).toMatchObject({ value: '"\\/\b\f\n\r\té😀' });
    expect(errorCode(parse('["\\ud83d"]'))).toBe('json.syntax');
    expect(errorCode(parse('["\\ude00"]'))).toBe('json.syntax');
    expect(errorCode(parse('["\\ud83d\\u0041"]'))).toBe('json.syntax');
    expect(errorCode(parse('["\\x"]'))).toBe('json.syntax');
  });

  it('counts work linearly in the input size', () => {
    const text = JSON.stringify({ a: Array.from({ length: 5000 }, (_, i) => ({ ["k" + i]: 'v'.repeat(i % 50) })) });
    const meter = { steps: 0 };
    expect(parse(text, { meter }).ok).toBe(true);
    expect(meter.steps).toBeLessThanOrEqual(2 * text.length);
  });
});
