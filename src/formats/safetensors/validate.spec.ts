import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LorasmithError } from '../../core/errors.ts';
import { SAFETENSORS_DTYPES, SAFETENSORS_DTYPE_BITS } from './dtypes.ts';
import { readSafetensorsHeader, readSafetensorsHeaderFromBuffer } from './read-header.ts';
import { safetensorsRejectionError } from './rejection-error.ts';
import { OK_HEADER, buildSafetensors, okFile, rawSafetensors, u64le } from './testing.ts';
import type { SafetensorsValidateOptions, SafetensorsValidation } from './types.ts';
import { validateSafetensorsBuffer, validateSafetensorsFile } from './validate.ts';

const validate = (bytes: Uint8Array, options: SafetensorsValidateOptions = {}): SafetensorsValidation =>
  validateSafetensorsBuffer({ bytes, ...options });

function rejection(result: SafetensorsValidation): string {
  if (result.ok) throw new Error('expected a rejection, got ok');
  return result.reason.code;
}

const entry = (dtype: string, shape: number[] | string, offsets: number[] | string): string =>
  `{"dtype":"${dtype}","shape":${typeof shape === 'string' ? shape : JSON.stringify(shape)},"data_offsets":${typeof offsets === 'string' ? offsets : JSON.stringify(offsets)}}`;

describe('safetensors validator: worked attack cases (§2.5)', () => {
  it('accepts the OK control file', () => {
    const result = validate(okFile());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.header.tensors).toEqual([{ name: 'a', dtype: 'F32', shape: [2], begin: 0, end: 8 }]);
    expect(result.header.dataStart).toBe(62);
    expect(result.warnings).toEqual([]);
    expect(result.stats).toEqual({ tensorCount: 1, bytesByDtype: { F32: 8 }, totalBytes: 8 });
  });

  it('ST-A01: length > file → reject', () => {
    expect(rejection(validate(rawSafetensors({ header: OK_HEADER, data: 8, length: 54 + 1000 })))).toBe('st.header_length');
  });

  it('ST-A03: length = 2^64 − 1 → reject before any allocation', () => {
    const bytes = rawSafetensors({ header: OK_HEADER, data: 8, length: 2n ** 64n - 1n });
    const read = readSafetensorsHeaderFromBuffer({ bytes });
    expect(read.ok ? 'ok' : read.reason.code).toBe('st.header_too_large');
    expect(rejection(validate(bytes))).toBe('st.header_too_large');
  });

  it('ST-A05: polyglot tail (OK + 504b0304 + "evil") → reject', () => {
    const bytes = Buffer.concat([okFile(), Buffer.from('504b0304', 'hex'), Buffer.from('evil')]);
    const result = validate(bytes);
    expect(rejection(result)).toBe('st.buffer_length');
    expect(!result.ok && result.reason.message).toContain('8 bytes follow the last tensor');
  });

  it('ST-A07: duplicate key shadowing the dtype → reject (the reference accepts, last wins)', () => {
    const header = `{"a":${entry('F32', [2], [0, 8])},"a":${entry('I32', [2], [0, 8])}}`;
    expect(rejection(validate(rawSafetensors({ header, data: 8 })))).toBe('st.duplicate_key');
    const escaped = `{"a":${entry('F32', [2], [0, 8])},"\\u0061":${entry('I32', [2], [0, 8])}}`;
    expect(rejection(validate(rawSafetensors({ header: escaped, data: 8 })))).toBe('st.duplicate_key');
  });

  it('ST-A10: overlapping tensors a:[0,8], b:[0,8] → reject', () => {
    const header = `{"a":${entry('F32', [2], [0, 8])},"b":${entry('F32', [2], [0, 8])}}`;
    const result = validate(rawSafetensors({ header, data: 8 }));
    expect(rejection(result)).toBe('st.offsets');
    expect(!result.ok && result.reason.message).toContain('overlaps');
  });

  it('ST-A13: shape/bytes mismatch (F32 [3] with [0,8]) → reject', () => {
    expect(rejection(validate(rawSafetensors({ header: `{"a":${entry('F32', [3], [0, 8])}}`, data: 8 })))).toBe('st.size_mismatch');
  });

  it('ST-A15: integer above 2^53 → reject (JSON.parse would see 9007199254740992)', () => {
    const header = `{"a":${entry('U8', '[9007199254740993]', '[0,9007199254740993]')}}`;
    expect(JSON.parse(header).a.shape[0]).toBe(9007199254740992);
    const result = validate(rawSafetensors({ header, data: 1 }));
    expect(rejection(result)).toBe('st.integer');
    expect(!result.ok && result.reason.message).toContain('9007199254740993');
  });

  it('ST-A19: sub-byte misalignment (F4 [3], [0,2]) → reject', () => {
    expect(rejection(validate(rawSafetensors({ header: `{"a":${entry('F4', [3], [0, 2])}}`, data: 2 })))).toBe('st.misaligned');
  });

  it('ST-A23: leading whitespace (200a + OK, N = 56) → accept and log st.leading_ws', () => {
    const bytes = rawSafetensors({ header: ` \n${OK_HEADER}`, data: 8 });
    expect(bytes.readBigUInt64LE(0)).toBe(56n);
    const result = validate(bytes);
    expect(result.ok).toBe(true);
    expect(result.ok && result.warnings.map((w) => w.code)).toEqual(['st.leading_ws']);
  });

  it('ST-A27: hostile names: control characters and empty names rejected, the rest kept as data', () => {
    const all = `{"":${entry('U8', [0], [0, 0])},"../../x":${entry('U8', [0], [0, 0])},"a\\u0000b":${entry('U8', [0], [0, 0])},"<img src=x onerror=alert(1)>":${entry('U8', [0], [0, 0])}}`;
    expect(rejection(validate(rawSafetensors({ header: all })))).toBe('st.tensor_name');
    expect(rejection(validate(rawSafetensors({ header: `{"":${entry('U8', [0], [0, 0])}}` })))).toBe('st.tensor_name');
    expect(rejection(validate(rawSafetensors({ header: `{"a\\u0000b":${entry('U8', [0], [0, 0])}}` })))).toBe('st.tensor_name');
    expect(rejection(validate(rawSafetensors({ header: `{"a\\u007fb":${entry('U8', [0], [0, 0])}}` })))).toBe('st.tensor_name');
    const data = validate(rawSafetensors({ header: `{"../../x":${entry('U8', [1], [0, 1])},"<img src=x onerror=alert(1)>":${entry('U8', [1], [1, 2])}}`, data: 2 }));
    expect(data.ok && data.header.tensors.map((t) => t.name)).toEqual(['../../x', '<img src=x onerror=alert(1)>']);
  });
});

describe('safetensors validator: requirements', () => {
  it('ST-R01: header caps are checked on the u64 before allocation; the product cap is configurable and clamped', () => {
    const claims = (length: number, maxHeaderBytes?: number): string => {
      const read = readSafetensorsHeaderFromBuffer({ bytes: Buffer.concat([u64le(length), Buffer.from('{}')]), maxHeaderBytes });
      return read.ok ? 'ok' : read.reason.code;
    };
    expect(claims(25_000_001)).toBe('st.header_too_large');
    expect(claims(25_000_000)).toBe('st.header_length');
    expect(claims(30_000_000, 50_000_000)).toBe('st.header_length');
    expect(claims(150_000_000, 200_000_000)).toBe('st.header_too_large');
    expect(rejection(validate(Buffer.from([1, 2, 3])))).toBe('st.file_too_small');
  });

  it('ST-R02: BOM and invalid UTF-8 are rejected; trailing spaces accepted; trailing NUL rejected', () => {
    expect(rejection(validate(rawSafetensors({ header: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(OK_HEADER)]), data: 8 })))).toBe('st.header_bom');
    const invalidUtf8 = Buffer.concat([Buffer.from('{"'), Buffer.from([0xc3, 0x28]), Buffer.from(`":${entry('U8', [0], [0, 0])}}`)]);
    expect(rejection(validate(rawSafetensors({ header: invalidUtf8 })))).toBe('st.header_utf8');
    expect(validate(rawSafetensors({ header: `${OK_HEADER}      `, data: 8 })).ok).toBe(true);
    expect(rejection(validate(rawSafetensors({ header: `${OK_HEADER}\u0000\u0000`, data: 8 })))).toBe('st.json_syntax');
    expect(rejection(validate(rawSafetensors({ header: '[]' })))).toBe('st.header_not_object');
  });

  it('ST-R03: numbers in integer fields must be plain non-negative integers', () => {
    for (const shape of ['[2.0]', '[8e0]', '[-2]', '["2"]', '[1e400]']) {
      const code = rejection(validate(rawSafetensors({ header: `{"a":${entry('F32', shape, [0, 8])}}`, data: 8 })));
      expect(['st.integer', 'st.shape'], shape).toContain(code);
    }
    expect(rejection(validate(rawSafetensors({ header: `{"a":${entry('F32', '[02]', [0, 8])}}`, data: 8 })))).toBe('st.json_syntax');
    expect(rejection(validate(rawSafetensors({ header: `{"a":${entry('U8', [2], '[2, 18446744073709551614]')}}`, data: 8 })))).toBe('st.integer');
  });

  it('ST-R03: depth ≤ 64, in an ignored place too', () => {
    const deep = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(rejection(validate(rawSafetensors({ header: `{"__metadata__":{"x":${deep(100)}}}` })))).toBe('st.json_depth');
  });

  it('ST-R04: __metadata__ is string → string within its limits', () => {
    const withMeta = (meta: string): SafetensorsValidation => validate(rawSafetensors({ header: `{"__metadata__":${meta},"a":${entry('F32', [2], [0, 8])}}`, data: 8 }));
    const ok = withMeta('{"format":"pt","__proto__":"x"}');
    expect(ok.ok && { ...ok.header.metadata }).toEqual({ format: 'pt', ['__proto__']: 'x' });
    expect(ok.ok && Object.getPrototypeOf(ok.header.metadata)).toBe(null);
    expect(rejection(withMeta('{"n":1}'))).toBe('st.metadata');
    expect(rejection(withMeta('{"o":{}}'))).toBe('st.metadata');
    expect(rejection(withMeta('"x"'))).toBe('st.metadata');
    expect(rejection(withMeta(`{"v":"${'x'.repeat(256 * 1024 + 1)}"}`))).toBe('st.metadata');
    expect(withMeta(`{"v":"${'x'.repeat(256 * 1024)}"}`).ok).toBe(true);
    const fiveValues = `{${Array.from({ length: 5 }, (_, i) => `"k${i}":"${'x'.repeat(250 * 1024)}"`).join(',')}}`;
    expect(rejection(withMeta(fiveValues))).toBe('st.metadata');
    expect(withMeta(fiveValues.replace(/x{250}/g, 'x')).ok).toBe(true);
    expect(rejection(validate(rawSafetensors({ header: `{"__metadata__":{},"__metadata__":{}}` })))).toBe('st.duplicate_key');
  });

  it('ST-R05: every one of the 22 dtypes is accepted with its bit width; unknown, lowercase and aliases are not', () => {
    expect(SAFETENSORS_DTYPES).toHaveLength(22);
    for (const dtype of SAFETENSORS_DTYPES) {
      const bits = SAFETENSORS_DTYPE_BITS[dtype];
      const elements = 8; // 8 elements: a whole number of bytes for every width, 4 and 6 bits included
      const bytes = (bits * elements) / 8;
      expect(validate(rawSafetensors({ header: `{"t":${entry(dtype, [elements], [0, bytes])}}`, data: bytes })).ok, dtype).toBe(true);
    }
    expect(validate(rawSafetensors({ header: `{"t":${entry('F6_E2M3', [4], [0, 3])}}`, data: 3 })).ok).toBe(true);
    for (const bad of ['F128', 'f32', 'E8M0', 'FP4', 'UE8', 'F6']) {
      expect(rejection(validate(rawSafetensors({ header: `{"t":${entry(bad, [2], [0, 8])}}`, data: 8 }))), bad).toBe('st.dtype');
    }
  });

  it('ST-R05: exactly dtype, shape (rank ≤ 8) and data_offsets (2 integers); unknown fields rejected or warned', () => {
    const one = (body: string, data = 8, options: SafetensorsValidateOptions = {}): SafetensorsValidation =>
      validate(rawSafetensors({ header: `{"a":${body}}`, data }), options);
    expect(rejection(one('{"dtype":"F32","shape":[2]}'))).toBe('st.tensor_entry');
    expect(rejection(one('{"dtype":"F32","data_offsets":[0,8]}'))).toBe('st.tensor_entry');
    expect(rejection(one('{"shape":[2],"data_offsets":[0,8]}'))).toBe('st.tensor_entry');
    expect(rejection(one('{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}'))).toBe('st.tensor_entry');
    const warned = one('{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}', 8, { unknownTensorFields: 'warn' });
    expect(warned.ok && warned.warnings.map((w) => w.code)).toEqual(['st.extra_field']);
    expect(rejection(one(entry('F32', [2], [0, 4, 8])))).toBe('st.offsets');
    expect(rejection(one(entry('F32', [2], '8')))).toBe('st.offsets');
    expect(rejection(one(entry('F32', '2', [0, 8])))).toBe('st.shape');
    expect(rejection(one(entry('F32', '[[2]]', [0, 8])))).toBe('st.shape');
    expect(rejection(one(entry(1 as unknown as string, [2], [0, 8]).replace('"1"', '1')))).toBe('st.dtype');
    expect(one(entry('U8', [1, 1, 1, 1, 1, 1, 1, 8], [0, 8])).ok).toBe(true);
    expect(rejection(one(entry('U8', [1, 1, 1, 1, 1, 1, 1, 1, 8], [0, 8])))).toBe('st.shape');
    expect(rejection(one('[]'))).toBe('st.tensor_entry');
  });

  it('ST-R06: contiguous offsets from 0, END ≥ BEGIN, exact buffer size; empty and 0-rank tensors allowed', () => {
    const file = (header: string, data: number): SafetensorsValidation => validate(rawSafetensors({ header, data }));
    expect(rejection(file(`{"a":${entry('F32', [2], [8, 16])}}`, 16))).toBe('st.offsets'); // hole at the start
    expect(rejection(file(`{"a":${entry('F32', [2], [0, 8])},"b":${entry('F32', [2], [12, 20])}}`, 20))).toBe('st.offsets'); // gap
    expect(rejection(file(`{"a":${entry('F32', [0], [8, 0])}}`, 8))).toBe('st.offsets'); // END < BEGIN
    expect(rejection(file(OK_HEADER, 7))).toBe('st.buffer_length'); // truncated
    const ok = file(`{"b":${entry('F32', [], [4, 8])},"e":${entry('F32', [0, 3], [4, 4])},"a":${entry('F32', [1], [0, 4])}}`, 8);
    expect(ok.ok && ok.header.tensors.map((t) => t.name)).toEqual(['a', 'e', 'b']);
    expect(file('{}', 0).ok).toBe(true);
    expect(rejection(file('{}', 1))).toBe('st.buffer_length');
  });

  it('ST-R06: shapes whose element count overflows 64 bits are compared in BigInt, not wrapped', () => {
    // 2^32 × 2^32 × 1 elements of U8 would wrap to 0 in u64 arithmetic and "match" [0,0].
    const header = `{"a":${entry('U8', [4294967296, 4294967296], [0, 0])}}`;
    expect(rejection(validate(rawSafetensors({ header })))).toBe('st.size_mismatch');
  });

  it('ST-R07: tensor count limit (configurable) and name length limit', () => {
    const many = `{${Array.from({ length: 5 }, (_, i) => `"t${i}":${entry('U8', [1], [i, i + 1])}`).join(',')}}`;
    expect(validate(rawSafetensors({ header: many, data: 5 })).ok).toBe(true);
    expect(rejection(validate(rawSafetensors({ header: many, data: 5 }), { limits: { maxTensors: 4 } }))).toBe('st.tensor_count');
    expect(validate(rawSafetensors({ header: `{"${'n'.repeat(1024)}":${entry('U8', [0], [0, 0])}}` })).ok).toBe(true);
    expect(rejection(validate(rawSafetensors({ header: `{"${'n'.repeat(1025)}":${entry('U8', [0], [0, 0])}}` })))).toBe('st.tensor_name');
    expect(rejection(validate(rawSafetensors({ header: `{"${'é'.repeat(513)}":${entry('U8', [0], [0, 0])}}` })))).toBe('st.tensor_name');
  });

  it('ST-R10: reports tensor count and bytes per dtype', () => {
    const bytes = buildSafetensors({
      tensors: [
        { name: 'w', dtype: 'BF16', shape: [4, 4] },
        { name: 'b', dtype: 'BF16', shape: [4] },
        { name: 'scale', dtype: 'F32', shape: [] },
      ],
    });
    const result = validate(bytes);
    expect(result.ok && result.stats).toEqual({ tensorCount: 3, bytesByDtype: { BF16: 40, F32: 4 }, totalBytes: 44 });
  });

  it('gives users an error with the file, the reason and a hint', () => {
    const result = validate(Buffer.concat([okFile(), Buffer.from('tail')]));
    if (result.ok) throw new Error('expected a rejection');
    const error = safetensorsRejectionError({ reason: result.reason, file: 'lora.safetensors' });
    expect(error).toBeInstanceOf(LorasmithError);
    expect(error.message).toContain('lora.safetensors');
    expect(error.hint).toBeTruthy();
    expect(error.details).toMatchObject({ reason: 'st.buffer_length' });
  });
});

describe('safetensors header reader (files)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-st-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the header with positional reads and validates against the file size', async () => {
    const file = path.join(dir, 'ok.safetensors');
    await writeFile(file, okFile());
    const read = await readSafetensorsHeader({ path: file });
    expect(read.ok && Buffer.from(read.headerBytes).toString()).toBe(OK_HEADER);
    const result = await validateSafetensorsFile({ path: file });
    expect(result.ok).toBe(true);
  });

  it('ST-A03 from a file: the u64 length is rejected without allocating it', async () => {
    const file = path.join(dir, 'huge.safetensors');
    await writeFile(file, rawSafetensors({ header: OK_HEADER, data: 8, length: 2n ** 64n - 1n }));
    const result = await validateSafetensorsFile({ path: file });
    expect(rejection(result)).toBe('st.header_too_large');
  });

  it('rejects files shorter than 8 bytes and polyglot tails', async () => {
    const short = path.join(dir, 'short.safetensors');
    await writeFile(short, Buffer.from([1, 0, 0]));
    expect(rejection(await validateSafetensorsFile({ path: short }))).toBe('st.file_too_small');
    const tail = path.join(dir, 'tail.safetensors');
    await writeFile(tail, Buffer.concat([okFile(), Buffer.from('PK\u0003\u0004evil')]));
    expect(rejection(await validateSafetensorsFile({ path: tail }))).toBe('st.buffer_length');
  });

  it('throws a LorasmithError for a missing file or a folder', async () => {
    await expect(readSafetensorsHeader({ path: path.join(dir, 'missing.safetensors') })).rejects.toMatchObject({ code: 'formats.read_failed' });
    const folder = path.join(dir, 'folder.safetensors');
    await mkdir(folder);
    await expect(readSafetensorsHeader({ path: folder })).rejects.toMatchObject({ code: 'formats.not_a_file' });
  });
});
