import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAFETENSORS_DTYPE_BITS } from './dtypes.ts';
import { encodeSafetensorsHeader } from './encode-header.ts';
import { readSafetensorsHeader } from './read-header.ts';
import { validateSafetensorsFile } from './validate.ts';
import { writeSafetensors } from './write.ts';
import type { SafetensorsTensorInput } from './write.ts';

const filled = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);

async function* chunks(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('writeSafetensors', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-stw-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips: write → read → validate → bytes equal', async () => {
    const w = filled(2 * 3 * 2, 1);
    const b = filled(3 * 4, 2);
    const f4 = filled(4, 3); // F4 × 8 = 4 bytes
    const file = path.join(dir, 'round.safetensors');
    const tensors: SafetensorsTensorInput[] = [
      { name: 'lora_up.weight', dtype: 'BF16', shape: [2, 3], data: w },
      { name: 'alpha', dtype: 'F32', shape: [3], data: chunks(b, 5) },
      { name: 'packed', dtype: 'F4', shape: [8], data: f4 },
      { name: 'empty', dtype: 'F16', shape: [0, 4], data: new Uint8Array(0) },
    ];
    const written = await writeSafetensors({ path: file, tensors, metadata: { ss_network_dim: '4', format: 'pt' } });
    const result = await validateSafetensorsFile({ path: file });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.header.metadata).toEqual(Object.assign(Object.create(null), { format: 'pt', ss_network_dim: '4' }));
    expect(result.header.dataStart % 8).toBe(0);
    const bytes = await readFile(file);
    expect(bytes.length).toBe(written.fileSize);
    const byName = new Map(result.header.tensors.map((t) => [t.name, t]));
    for (const [name, data] of [['lora_up.weight', w], ['alpha', b], ['packed', f4], ['empty', new Uint8Array(0)]] as const) {
      const info = byName.get(name);
      if (info === undefined) throw new Error(`missing ${name}`);
      expect(bytes.subarray(result.header.dataStart + info.begin, result.header.dataStart + info.end)).toEqual(Buffer.from(data));
    }
    // Wider dtypes first, then by name: every tensor starts aligned to its element size.
    expect(result.header.tensors.map((t) => t.name)).toEqual(['alpha', 'empty', 'lora_up.weight', 'packed']);
    for (const t of result.header.tensors) {
      expect((result.header.dataStart + t.begin) % Math.max(1, SAFETENSORS_DTYPE_BITS[t.dtype] / 8)).toBe(0);
    }
  });

  it('is deterministic: the same tensors in any order give the same bytes, header padded with spaces', async () => {
    const a = { name: 'a', dtype: 'F32', shape: [1] } as const;
    const b = { name: 'b', dtype: 'U8', shape: [3] } as const;
    const one = encodeSafetensorsHeader({ tensors: [a, b], metadata: { y: '1', x: '2' } });
    const two = encodeSafetensorsHeader({ tensors: [b, a], metadata: { x: '2', y: '1' } });
    expect(Buffer.from(one.prefix)).toEqual(Buffer.from(two.prefix));
    const header = Buffer.from(one.prefix.subarray(8)).toString();
    expect(header.length % 8).toBe(0);
    expect(header).toMatch(/^\{"__metadata__":\{"x":"2","y":"1"\},"a":.*\} *$/);
  });

  it('replaces an existing file only on success, leaving no temp file behind', async () => {
    const file = path.join(dir, 'replace.safetensors');
    await writeFile(file, 'old content');
    await writeSafetensors({ path: file, tensors: [{ name: 'x', dtype: 'U8', shape: [2], data: filled(2, 9) }] });
    expect((await validateSafetensorsFile({ path: file })).ok).toBe(true);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('a failing source leaves the old file untouched and no partial output', async () => {
    const file = path.join(dir, 'keep.safetensors');
    await writeFile(file, 'old content');
    async function* broken(): AsyncIterable<Uint8Array> {
      yield new Uint8Array(4);
      throw new Error('disk vanished');
    }
    await expect(
      writeSafetensors({ path: file, tensors: [{ name: 'x', dtype: 'F32', shape: [4], data: broken() }] }),
    ).rejects.toMatchObject({ code: 'formats.write_failed' });
    expect(await readFile(file, 'utf8')).toBe('old content');
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses data of the wrong length, streamed or whole, without leaving output', async () => {
    const file = path.join(dir, 'short.safetensors');
    await expect(
      writeSafetensors({ path: file, tensors: [{ name: 'x', dtype: 'F32', shape: [4], data: chunks(new Uint8Array(12), 5) }] }),
    ).rejects.toMatchObject({ code: 'safetensors.write_invalid' });
    await expect(
      writeSafetensors({ path: file, tensors: [{ name: 'x', dtype: 'F32', shape: [4], data: chunks(new Uint8Array(20), 5) }] }),
    ).rejects.toMatchObject({ code: 'safetensors.write_invalid' });
    await expect(
      writeSafetensors({ path: file, tensors: [{ name: 'x', dtype: 'F32', shape: [4], data: new Uint8Array(3) }] }),
    ).rejects.toMatchObject({ code: 'safetensors.write_invalid' });
    expect((await readdir(dir)).filter((name) => name.startsWith('short') || name.includes('short.safetensors'))).toEqual([]);
  });

  it('refuses what the validator would refuse: duplicate names, control characters, misaligned sub-byte tensors', async () => {
    const file = path.join(dir, 'bad.safetensors');
    const one = (name: string, dtype: 'U8' | 'F4' = 'U8', shape = [1]): SafetensorsTensorInput => ({ name, dtype, shape, data: new Uint8Array(1) });
    await expect(writeSafetensors({ path: file, tensors: [one('a'), one('a')] })).rejects.toMatchObject({ code: 'safetensors.write_invalid' });
    await expect(writeSafetensors({ path: file, tensors: [one('a\u0000b')] })).rejects.toMatchObject({ code: 'safetensors.write_invalid' });
    await expect(writeSafetensors({ path: file, tensors: [one('', 'U8')] })).rejects.toMatchObject({ code: 'safetensors.write_invalid' });
    await expect(writeSafetensors({ path: file, tensors: [one('f', 'F4', [3])] })).rejects.toMatchObject({ code: 'safetensors.write_invalid' });
    await expect(writeSafetensors({ path: file, tensors: [one('f', 'U8', [-1])] })).rejects.toMatchObject({ code: 'safetensors.write_invalid' });
    expect((await readdir(dir)).some((name) => name.includes('bad.safetensors'))).toBe(false);
  });

  it('writes files that the header reader reads back exactly', async () => {
    const file = path.join(dir, 'header.safetensors');
    await writeSafetensors({ path: file, tensors: [{ name: 'n', dtype: 'I64', shape: [1], data: filled(8, 4) }] });
    const read = await readSafetensorsHeader({ path: file });
    expect(read.ok && Buffer.from(read.headerBytes).toString().trimEnd()).toBe('{"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}');
  });
});
