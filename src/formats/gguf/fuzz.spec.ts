import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMutations, mutationArbitrary } from '../safetensors/testing.ts';
import { buildGguf, kv, sequentialTensors } from './testing.ts';
import { validateGgufHeader } from './validate.ts';

// Every counted step reads at least one byte, except a zero-length string right after its 8-byte length.
const C = 2;
const K = 16;

const validFile = fc
  .record({
    names: fc.uniqueArray(fc.stringMatching(/^[a-z_]{1,8}$/), { maxLength: 4 }),
    tokens: fc.array(fc.string({ maxLength: 6 }), { maxLength: 8 }),
    dims: fc.array(fc.tuple(fc.constantFrom(0, 2), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 3 }),
  })
  .map(({ names, tokens, dims }) =>
    buildGguf({
      metadata: [
        ['general.alignment', kv.u32(32)],
        ['tokenizer.ggml.tokens', kv.stringArray(tokens)],
        ...names.map((name, i): [string, Buffer] => [`x.${name}`, i % 2 === 0 ? kv.u8(i) : kv.string(name)]),
      ],
      tensors: sequentialTensors(dims.map(([type, rows], i) => ({ name: `t${i}`, dims: [32, rows], type }))),
    }),
  );

describe('GGUF validator under mutation (fast-check)', () => {
  it('accepts every file the builder makes', () => {
    fc.assert(
      fc.property(validFile, (bytes) => {
        expect(validateGgufHeader({ bytes }).ok).toBe(true);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('bit flips, truncations, overwrites, insertions and splices: never an exception, work bounded by input', () => {
    fc.assert(
      fc.property(validFile, validFile, fc.array(mutationArbitrary(), { minLength: 1, maxLength: 4 }), (a, b, mutations) => {
        const bytes = applyMutations(a, mutations, b);
        const meter = { steps: 0 };
        const result = validateGgufHeader({ bytes, meter });
        expect(meter.steps).toBeLessThanOrEqual(C * bytes.length + K);
        if (result.ok) {
          let end = 0;
          for (const t of result.header.tensors) end = Math.max(end, result.header.dataOffset + t.offset + t.bytes);
          expect(end).toBeLessThanOrEqual(bytes.length);
        } else {
          expect(result.reason.code).toMatch(/^gguf\./);
        }
      }),
      { seed: 42, numRuns: 1000 },
    );
  });

  it('arbitrary bytes after a valid magic and version: never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        const bytes = Buffer.concat([Buffer.from('GGUF'), Buffer.from([3, 0, 0, 0]), tail]);
        const meter = { steps: 0 };
        expect(typeof validateGgufHeader({ bytes, meter }).ok).toBe('boolean');
        expect(meter.steps).toBeLessThanOrEqual(C * bytes.length + K);
      }),
      { seed: 7, numRuns: 1000 },
    );
  });
});
