import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { u16, u32 } from '../zip/testing.ts';
import { bufferSource, openFileSource } from './byte-source.ts';
import type { ByteSource } from './byte-source.ts';
import { buildZip, torchZip } from './testing.ts';
import { readZipListing } from './zip-records.ts';
import type { ZipListing } from './zip-records.ts';

/** One stored entry without a descriptor whose local header carries a long extra field (past the prefetch). */
function zipWithLongLocalExtra(extraBytes: number): Uint8Array {
  const name = Buffer.from('archive/data.pkl');
  const data = Buffer.from('payload');
  const extra = Buffer.concat([u16(0xcafe), u16(extraBytes), Buffer.alloc(extraBytes, 7)]);
  const local = Buffer.concat([u32(0x04034b50), u16(20), u16(0), u16(0), u16(0), u16(0), u32(0), u32(data.length), u32(data.length), u16(name.length), u16(extra.length), name, extra]);
  const central = Buffer.concat([u32(0x02014b50), u16(20), u16(20), u16(0), u16(0), u16(0), u16(0), u32(0), u32(data.length), u32(data.length), u16(name.length), u16(0), u16(0), u16(0), u16(0), u32(0), u32(0), name]);
  const cdOffset = local.length + data.length;
  const end = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(1), u16(1), u32(central.length), u32(cdOffset), u16(0)]);
  return Buffer.concat([local, data, central, end]);
}

/** A source that only has `read`, so the listing takes the one-read-per-range path. */
function plainSource(bytes: Uint8Array): ByteSource {
  const inner = bufferSource(bytes);
  return { size: inner.size, read: (offset, length) => inner.read(offset, length) };
}

describe('readZipListing reads local headers in one batch, with the same checks', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-zip-records-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function listingsOf(bytes: Uint8Array): Promise<ZipListing[]> {
    const file = path.join(dir, `z-${Math.random().toString(36).slice(2)}.zip`);
    await writeFile(file, bytes);
    const source = await openFileSource(file);
    try {
      return [await readZipListing({ source }), await readZipListing({ source: bufferSource(bytes) }), await readZipListing({ source: plainSource(bytes) })];
    } finally {
      await source.close();
    }
  }

  it('a file, a buffer and a read-only source give the same listing', async () => {
    const records: Array<readonly [string, Uint8Array]> = [['data.pkl', Buffer.from([0x80, 0x02, 0x4e, 0x2e])]];
    for (let i = 0; i < 40; i++) records.push([`data/${i}`, new Uint8Array(1000 + i * 37)]);
    records.push(['version', Buffer.from('3\n')]);
    const [file, buffer, plain] = await listingsOf(torchZip({ records }));
    expect(file).toEqual(buffer);
    expect(plain).toEqual(buffer);
    expect(file?.entries).toHaveLength(42);
  });

  it('a local extra field longer than the prefetched window is read on demand', async () => {
    const [file, buffer, plain] = await listingsOf(zipWithLongLocalExtra(3000));
    expect(file?.entries[0]?.dataOffset).toBe(30 + 16 + 3004);
    expect(file).toEqual(buffer);
    expect(plain).toEqual(buffer);
  });

  it('still refuses a local name that differs from the central one, from a file', async () => {
    const bytes = buildZip({ entries: [{ name: 'archive/data.pkl', data: Buffer.from('x') }, { name: 'archive/version', localName: 'archive/versioX', data: Buffer.from('3\n') }] });
    const file = path.join(dir, 'mismatch.zip');
    await writeFile(file, bytes);
    const source = await openFileSource(file);
    try {
      await expect(readZipListing({ source })).rejects.toMatchObject({ code: 'zip.name_mismatch' });
    } finally {
      await source.close();
    }
  });

  it('readMany returns the same bytes as read, and checks every range', async () => {
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => i % 251);
    const file = path.join(dir, 'ranges.bin');
    await writeFile(file, bytes);
    const source = await openFileSource(file);
    try {
      const ranges = Array.from({ length: 600 }, (_, i) => ({ offset: (i * 97) % 4900, length: (i % 50) + 1 }));
      const many = await source.readMany?.(ranges);
      expect(many?.map((b) => [...b])).toEqual(await Promise.all(ranges.map(async (r) => [...(await source.read(r.offset, r.length))])));
      await expect(source.readMany?.([{ offset: 4990, length: 20 }])).rejects.toMatchObject({ code: 'formats.read_range' });
    } finally {
      await source.close();
    }
  });
});
