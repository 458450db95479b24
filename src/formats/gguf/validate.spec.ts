import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGgufFile } from './read.ts';
import { buildGguf, ggufString, ggufU32, ggufU64, kv, sequentialTensors } from './testing.ts';
import type { FixtureGguf } from './testing.ts';
import { GGML_TYPES } from './types.ts';
import { validateGgufHeader } from './validate.ts';
import type { GgufValidation } from './validate.ts';

const F32 = 0;
const Q4_0 = 2;
const Q4_K = 12;

const check = (spec: FixtureGguf): GgufValidation => validateGgufHeader({ bytes: buildGguf(spec) });
const code = (result: GgufValidation): string => (result.ok ? 'ok' : result.reason.code);

const validSpec = (): FixtureGguf => ({
  metadata: [
    ['general.architecture', kv.string('llama')],
    ['general.alignment', kv.u32(32)],
    ['tokenizer.ggml.tokens', kv.stringArray(['<s>', '</s>', 'é'])],
    ['tokenizer.ggml.token_type', kv.i32Array([3, 3, 1])],
    ['general.flag', kv.bool(1)],
    ['general.size', kv.i64(-5n)],
  ],
  tensors: sequentialTensors([
    { name: 'tok_embd.weight', dims: [64, 3], type: Q4_0 },
    { name: 'norm.weight', dims: [5], type: F32 },
    { name: 'blk.0.attn_q.weight', dims: [256, 2], type: Q4_K },
  ]),
});

describe('GGUF header validator: worked cases (§3)', () => {
  it('accepts a valid file and returns metadata and tensor infos', () => {
    const result = check(validSpec());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { header, stats } = result;
    expect(header.version).toBe(3);
    expect(header.alignment).toBe(32);
    expect(header.dataOffset % 32).toBe(0);
    expect(header.metadata.get('general.architecture')).toEqual({ type: 'string', value: 'llama' });
    expect(header.metadata.get('general.flag')).toEqual({ type: 'bool', value: true });
    expect(header.metadata.get('general.size')).toEqual({ type: 'i64', value: -5n });
    expect(header.metadata.get('tokenizer.ggml.tokens')).toEqual({ type: 'array', elementType: 'string', items: ['<s>', '</s>', 'é'] });
    const types = header.metadata.get('tokenizer.ggml.token_type');
    expect(types?.type === 'array' && [...(types.items as Int32Array)]).toEqual([3, 3, 1]);
    expect(header.tensors.map((t) => [t.name, t.typeName, t.dims, t.offset, t.bytes])).toEqual([
      ['tok_embd.weight', 'Q4_0', [64, 3], 0, 108],
      ['norm.weight', 'F32', [5], 128, 20],
      ['blk.0.attn_q.weight', 'Q4_K', [256, 2], 160, 288],
    ]);
    expect(stats).toEqual({ tensorCount: 3, bytesByType: { Q4_0: 108, F32: 20, Q4_K: 288 }, totalBytes: 416 });
  });

  it('GGUF-A02: version 1, 0xFFFFFFFF and big-endian 3 are rejected', () => {
    expect(code(check({ version: Buffer.from('01000000', 'hex') }))).toBe('gguf.version');
    expect(code(check({ version: Buffer.from('ffffffff', 'hex') }))).toBe('gguf.version');
    expect(code(check({ version: Buffer.from('00000003', 'hex') }))).toBe('gguf.big_endian');
    expect(code(check({ version: Buffer.from('02000000', 'hex') }))).toBe('ok');
  });

  it('GGUF-A04: a key length of ffffffff00000000 is rejected before any read or allocation', () => {
    const key = Buffer.concat([Buffer.from('ffffffff00000000', 'hex'), Buffer.from('x')]);
    expect(code(check({ metadata: [[key, kv.u8(1)]] }))).toBe('gguf.string');
    // The same length on a string value (limit 1 GiB) is checked against the bytes left.
    const value = Buffer.concat([ggufU32(8), Buffer.from('ffffffff00000000', 'hex')]);
    expect(code(check({ metadata: [['a.b', value]] }))).toBe('gguf.string');
    const pastEof = Buffer.concat([ggufU32(8), ggufU64(1000), Buffer.from('short')]);
    expect(code(check({ metadata: [['a.b', pastEof]] }))).toBe('gguf.truncated');
  });

  it('GGUF-A07: dims [2^32, 2^32, 2^32] F32 (CVE-2026-33298 class) are rejected', () => {
    const big = 2n ** 32n;
    expect(code(check({ tensors: [{ name: 't', dims: [big, big, big], type: F32, offset: 0 }], dataBytes: 64 }))).toBe('gguf.tensor_too_large');
  });

  it('GGUF-A11: a hidden gap (two F32 [8], alignment 32, offsets 0 and 64) is rejected', () => {
    const tensors = [
      { name: 'a', dims: [8], type: F32, offset: 0 },
      { name: 'b', dims: [8], type: F32, offset: 64 },
    ];
    const result = check({ metadata: [['general.alignment', kv.u32(32)]], tensors });
    expect(code(result)).toBe('gguf.offset');
    expect(!result.ok && result.reason.message).toContain('expected 32');
    expect(code(check({ metadata: [['general.alignment', kv.u32(32)]], tensors: sequentialTensors(tensors) }))).toBe('ok');
  });

  it('GGUF-A12: a signed-overflow element count (dims [2^63 − 1, 2, 1, 1], llama.cpp #27203) is rejected', () => {
    expect(code(check({ tensors: [{ name: 't', dims: [2n ** 63n - 1n, 2, 1, 1], type: F32, offset: 0 }], dataBytes: 64 }))).toBe('gguf.tensor_too_large');
  });
});

describe('GGUF header validator: requirements', () => {
  it('GGUF-R01: magic "GGUF"', () => {
    expect(code(check({ magic: Buffer.from('GGUG') }))).toBe('gguf.magic');
    expect(code(validateGgufHeader({ bytes: Buffer.from('GGU') }))).toBe('gguf.truncated');
  });

  it('GGUF-R02: counts ≤ 100,000 and within the bytes left, compared as u64', () => {
    expect(code(check({ tensorCount: 100_001n }))).toBe('gguf.count');
    expect(code(check({ kvCount: 2n ** 64n - 1n }))).toBe('gguf.count');
    expect(code(check({ kvCount: 1000n }))).toBe('gguf.count'); // cannot fit in the few bytes left
    expect(code(check({ tensorCount: 5n }))).toBe('gguf.count');
  });

  it('GGUF-R03: value types, bools, nested arrays, array counts, keys', () => {
    expect(code(check({ metadata: [['a', kv.raw(13, Buffer.alloc(8))]] }))).toBe('gguf.value_type');
    expect(code(check({ metadata: [['a', kv.bool(2)]] }))).toBe('gguf.bool');
    expect(code(check({ metadata: [['a', kv.raw(9, Buffer.concat([ggufU32(9), ggufU64(0)]))]] }))).toBe('gguf.array');
    expect(code(check({ metadata: [['a', kv.raw(9, Buffer.concat([ggufU32(4), ggufU64(2n ** 30n + 1n)]))]] }))).toBe('gguf.array');
    expect(code(check({ metadata: [['a', kv.raw(9, Buffer.concat([ggufU32(10), ggufU64(1000)]))]] }))).toBe('gguf.array');
    expect(code(check({ metadata: [['a', kv.raw(9, Buffer.concat([ggufU32(8), ggufU64(1000)]))]] }))).toBe('gguf.array');
    for (const bad of ['', 'General.name', 'a..b', '.a', 'a.', 'a-b', 'a b', 'é']) {
      expect(code(check({ metadata: [[bad, kv.u8(1)]] })), JSON.stringify(bad)).toBe('gguf.key');
    }
    expect(code(check({ metadata: [['a.b', kv.u8(1)], ['a.b', kv.u8(2)]] }))).toBe('gguf.key');
    const invalidUtf8 = Buffer.concat([ggufU32(8), ggufU64(1), Buffer.from([0xff])]);
    expect(code(check({ metadata: [['a', invalidUtf8]] }))).toBe('gguf.string');
  });

  it('GGUF-R04: tensor names 1..63 bytes and unique; n_dims 1..4; dims ≥ 1', () => {
    const one = (tensor: { name?: string; dims?: Array<number | bigint>; type?: number }): string =>
      code(check({ tensors: sequentialTensors([{ name: tensor.name ?? 't', dims: tensor.dims ?? [8], type: tensor.type ?? F32 }]) }));
    expect(one({ name: 'n'.repeat(63) })).toBe('ok');
    expect(one({ name: 'n'.repeat(64) })).toBe('gguf.string');
    expect(one({ name: '' })).toBe('gguf.tensor_name');
    expect(code(check({ tensors: sequentialTensors([{ name: 'a', dims: [8], type: F32 }, { name: 'a', dims: [8], type: F32 }]) }))).toBe('gguf.tensor_name');
    expect(one({ dims: [] })).toBe('gguf.dims');
    expect(one({ dims: [1, 1, 1, 1, 8] })).toBe('gguf.dims');
    expect(one({ dims: [8, 0] })).toBe('gguf.dims');
    expect(one({ dims: [8, 1, 1, 1] })).toBe('ok');
  });

  it('GGUF-R04: ggml type in the table with a non-zero block size, and ne[0] a multiple of it', () => {
    expect(GGML_TYPES.size).toBe(35);
    for (const removed of [4, 5, 31, 32, 33, 36, 37, 38, 43, 99]) {
      expect(code(check({ tensors: [{ name: 't', dims: [256], type: removed, offset: 0 }], dataBytes: 1024 })), String(removed)).toBe('gguf.tensor_type');
    }
    expect(code(check({ tensors: sequentialTensors([{ name: 't', dims: [16, 2], type: Q4_0 }]), dataBytes: 64 }))).toBe('gguf.tensor_type');
    expect(code(check({ tensors: sequentialTensors([{ name: 't', dims: [2, 16], type: Q4_0 }]), dataBytes: 64 }))).toBe('gguf.tensor_type');
  });

  it('GGUF-R04: the last tensor must end inside the file', () => {
    const tensors = sequentialTensors([{ name: 't', dims: [8], type: F32 }]);
    expect(code(check({ tensors, dataBytes: 31 }))).toBe('gguf.tensor_past_eof');
    expect(code(check({ tensors, dataBytes: 32 }))).toBe('ok');
  });

  it('GGUF-R04: general.alignment typed u32, a power of two ≥ 8', () => {
    const withAlignment = (value: Buffer): string => code(check({ metadata: [['general.alignment', value]] }));
    expect(withAlignment(kv.u32(64))).toBe('ok');
    expect(withAlignment(kv.u32(8))).toBe('ok');
    expect(withAlignment(kv.u32(4))).toBe('gguf.alignment');
    expect(withAlignment(kv.u32(48))).toBe('gguf.alignment');
    expect(withAlignment(kv.u32(0))).toBe('gguf.alignment');
    expect(withAlignment(kv.u8(32))).toBe('gguf.alignment');
    const tensors = sequentialTensors([{ name: 'a', dims: [8], type: F32 }, { name: 'b', dims: [8], type: F32 }], 64);
    const aligned = check({ metadata: [['general.alignment', kv.u32(64)]], tensors, alignment: 64 });
    expect(aligned.ok && aligned.header.tensors.map((t) => t.offset)).toEqual([0, 64]);
    expect(aligned.ok && aligned.header.dataOffset % 64).toBe(0);
  });

  it('GGUF-R05: metadata strings come back as plain data (templates are never rendered here)', () => {
    const template = '{{ raise("x") }}<script>alert(1)</script>';
    const result = check({ metadata: [['tokenizer.chat_template', kv.string(template)]] });
    expect(result.ok && result.header.metadata.get('tokenizer.chat_template')).toEqual({ type: 'string', value: template });
  });

  it('refuses a header larger than the configured cap without reading further', () => {
    const bytes = buildGguf({ metadata: [['a', kv.string('x'.repeat(5000))]] });
    expect(code(validateGgufHeader({ bytes: bytes.subarray(0, 1000), fileSize: bytes.length }))).toBe('gguf.header_too_large');
  });
});

describe('validateGgufFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-gguf-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('grows its read until the header fits, within the cap', async () => {
    const file = path.join(dir, 'big-header.gguf');
    const tokens = Array.from({ length: 200_000 }, (_, i) => `tok${i}`);
    await writeFile(file, buildGguf({ metadata: [['tokenizer.ggml.tokens', kv.stringArray(tokens)]], tensors: sequentialTensors([{ name: 'w', dims: [8], type: F32 }]) }));
    const result = await validateGgufFile({ path: file });
    expect(result.ok && result.header.tensors[0]?.name).toBe('w');
    const capped = await validateGgufFile({ path: file, limits: { maxHeaderBytes: 1024 * 1024 } });
    expect(code(capped)).toBe('gguf.header_too_large');
  });

  it('reports a missing file as a LorasmithError', async () => {
    await expect(validateGgufFile({ path: path.join(dir, 'missing.gguf') })).rejects.toMatchObject({ code: 'formats.read_failed' });
  });

  it('reads a tiny file whole', async () => {
    const file = path.join(dir, 'tiny.gguf');
    await writeFile(file, ggufString('x'));
    expect(code(await validateGgufFile({ path: file }))).toBe('gguf.magic');
  });
});
