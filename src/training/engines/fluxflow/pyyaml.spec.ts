import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dumpPyYaml, formatPyFloat, loadPyYaml, PyYamlError, resolvePlainScalar, samePyValue, type PyValue } from './pyyaml.ts';

describe('PyYAML plain-scalar resolution (YAML 1.1)', () => {
  it.each([
    ['5e-7', '5e-7'],
    ['5.0e-07', 5e-7],
    ['1.0', 1],
    ['1', 1n],
    ['0755', 493n],
    ['0x1F', 31n],
    ['1_000', 1000n],
    ['12:30', 750n],
    ['on', true],
    ['Off', false],
    ['yes', true],
    ['y', 'y'],
    ['~', null],
    ['null', null],
    ['.inf', Infinity],
    ['distilbert-base-uncased', 'distilbert-base-uncased'],
  ] as const)('%s reads as %s', (source, expected) => {
    expect(samePyValue(resolvePlainScalar(source), expected as PyValue)).toBe(true);
  });

  it('keeps ints and floats apart, quoted text as text', () => {
    const doc = loadPyYaml('a: 1\nb: 1.0\nc: "1"\nd: !!float 3\ne: !!str on\n');
    expect(doc).toEqual({ a: 1n, b: 1, c: '1', d: 3, e: 'on' });
  });

  it('refuses what safe_load refuses', () => {
    expect(() => loadPyYaml('a: !!python/object:os.system x\n')).toThrow(PyYamlError);
    expect(() => loadPyYaml('a: =\n')).toThrow(PyYamlError);
    expect(() => loadPyYaml('a: [1\n')).toThrow(PyYamlError);
  });
});

describe('formatPyFloat', () => {
  it.each([
    [5e-7, '5.0e-07'],
    [1e-5, '1.0e-05'],
    [1.5e-5, '1.5e-05'],
    [0.0001, '0.0001'],
    [1, '1.0'],
    [0.9999, '0.9999'],
    [1e21, '1.0e+21'],
    [-2.5e-8, '-2.5e-08'],
  ])('%s → %s, which PyYAML reads back as a float', (value, text) => {
    expect(formatPyFloat(value)).toBe(text);
    expect(resolvePlainScalar(text)).toBe(value);
  });
});

const pyValue = fc.letrec<{ value: PyValue; list: PyValue[]; map: Record<string, PyValue> }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
    // Strings PyYAML would take for something else, and arbitrary printable text.
    fc.constantFrom('on', 'yes', 'No', '~', 'null', '1e-7', '0x10', '0755', '12:30', '2024-01-01', '.inf', '<<', '', ' lead', 'a: b', '- x', '#c', "it's", '"q"'),
    fc.string({ unit: 'grapheme', maxLength: 20 }).filter((text) => !/[\u0085\u2028\u2029]/u.test(text)),
    tie('list'),
    tie('map'),
  ),
  list: fc.array(tie('value'), { maxLength: 4 }),
  map: fc.dictionary(fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/), tie('value'), { maxKeys: 4 }),
})).value;

describe('dumpPyYaml', () => {
  it('writes every value so that PyYAML reads back the same value and type', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/), pyValue, { maxKeys: 6 }), (doc) => {
        expect(samePyValue(loadPyYaml(dumpPyYaml(doc)), doc)).toBe(true);
      }),
    );
  });

  it('writes floats with a dot and quotes every string', () => {
    const text = dumpPyYaml({ lr: 5e-7, lr_int: 3n, one: 1, name: 'on', list: ['<<', '12:30'] });
    expect(text).toBe('lr: 5.0e-07\nlr_int: 3\none: 1.0\nname: "on"\nlist:\n  - !!str "<<"\n  - "12:30"\n');
  });

  it('refuses text PyYAML would break into lines', () => {
    expect(() => dumpPyYaml({ caption: 'a\u2028b' })).toThrow(/line break/);
  });
});
