import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SAFETENSORS_DTYPES } from './dtypes.ts';
import type { SafetensorsDtype } from './dtypes.ts';
import { parseStrictJson } from './strict-json.ts';
import type { JsonValue } from './strict-json.ts';
import { applyMutations, buildSafetensors, mutationArbitrary, okFile } from './testing.ts';
import type { FixtureTensor } from './testing.ts';
import { validateSafetensorsBuffer } from './validate.ts';

// Work bound: steps ≤ C × input bytes + K. The parser takes about one step per byte; the validator adds a
// few per tensor and the sort's comparisons, and every tensor entry is at least ~50 bytes.
const C = 4;
const K = 64;

const tensorArbitrary: fc.Arbitrary<FixtureTensor> = fc.record({
  name: fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'b', '.', '_', '0', 'é', '"', '\\', '/', '<') }),
  dtype: fc.constantFrom<SafetensorsDtype>(...SAFETENSORS_DTYPES),
  // A leading dim that is a multiple of 8 keeps 4- and 6-bit dtypes byte-aligned.
  shape: fc.tuple(fc.constantFrom(0, 8, 16), fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 })).map(([first, rest]) => [first, ...rest]),
});

const validFile = fc
  .record({
    tensors: fc.uniqueArray(tensorArbitrary, { maxLength: 6, selector: (t) => t.name }),
    metadata: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 12 }), { maxKeys: 3 }),
  })
  .map((spec) => buildSafetensors(spec));

function toPlain(value: JsonValue): unknown {
  switch (value.kind) {
    case 'object':
      return Object.fromEntries([...value.entries].map(([k, v]) => [k, toPlain(v)]));
    case 'array':
      return value.items.map(toPlain);
    default:
      return value.value;
  }
}

describe('safetensors validator under mutation (fast-check)', () => {
  it('accepts every file the builder makes', () => {
    fc.assert(
      fc.property(validFile, (bytes) => {
        const result = validateSafetensorsBuffer({ bytes });
        expect(result.ok).toBe(true);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('bit flips, truncations, overwrites, insertions and splices: never an exception, work bounded by input', () => {
    fc.assert(
      fc.property(validFile, validFile, fc.array(mutationArbitrary(), { minLength: 1, maxLength: 4 }), (a, b, mutations) => {
        const bytes = applyMutations(a, mutations, b);
        const meter = { steps: 0 };
        const result = validateSafetensorsBuffer({ bytes, meter });
        expect(typeof result.ok).toBe('boolean');
        expect(meter.steps).toBeLessThanOrEqual(C * bytes.length + K);
        if (result.ok) {
          // Anything accepted still satisfies ST-R06: the tensors tile the buffer exactly.
          let end = 0;
          for (const t of result.header.tensors) {
            expect(t.begin).toBe(end);
            end = t.end;
          }
          expect(result.header.dataStart + end).toBe(bytes.length);
        } else {
          expect(result.reason.code).toMatch(/^st\./);
          expect(result.reason.message.length).toBeGreaterThan(0);
        }
      }),
      { seed: 42, numRuns: 1000 },
    );
  });

  it('arbitrary bytes after a plausible length prefix: never an exception, work bounded', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        const prefix = Buffer.alloc(8);
        prefix.writeBigUInt64LE(BigInt(tail.length));
        const bytes = Buffer.concat([prefix, tail]);
        const meter = { steps: 0 };
        expect(typeof validateSafetensorsBuffer({ bytes, meter }).ok).toBe('boolean');
        expect(meter.steps).toBeLessThanOrEqual(C * bytes.length + K);
      }),
      { seed: 7, numRuns: 1000 },
    );
  });

  it('pathological headers stay linear: deep nesting, long numbers, many escapes, many tiny tensors', () => {
    const cases = [
      `{"__metadata__":{"x":${'['.repeat(5000)}`,
      `{"a":{"dtype":"U8","shape":[${'9'.repeat(100_000)}],"data_offsets":[0,0]}}`,
      `{"__metadata__":{"x":"${'\\u0041'.repeat(20_000)}"}}`,
      `{${Array.from({ length: 20_000 }, (_, i) => `"t${i}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`).join(',')}}`,
    ];
    for (const header of cases) {
      const json = Buffer.from(header);
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64LE(BigInt(json.length));
      const bytes = Buffer.concat([prefix, json]);
      const meter = { steps: 0 };
      validateSafetensorsBuffer({ bytes, meter });
      expect(meter.steps).toBeLessThanOrEqual(C * bytes.length + K);
    }
    expect(validateSafetensorsBuffer({ bytes: okFile() }).ok).toBe(true);
  });

  it('the strict parser agrees with JSON.parse on any JSON without duplicate keys', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        const result = parseStrictJson(Buffer.from(text, 'utf8'));
        expect(result.ok).toBe(true);
        if (result.ok) expect(toPlain(result.value)).toEqual(JSON.parse(text));
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
