/**
 * Test helpers: a small zip writer laid out like torch's miniz output (stored records, flags 0x808, local CRC
 * and sizes 0, a data descriptor, ZIP64 end record and locator before the classic one), with knobs to break
 * each rule, and a reader for re-writing real fixtures. Nothing here is used by the product.
 */
import { crc32 } from 'node:zlib';
import { endRecord, u16, u32, u64 } from '../zip/testing.ts';
import { bufferSource } from './byte-source.ts';
import { readZipListing } from './zip-records.ts';

export interface ZipFixtureEntry {
  name: string;
  data: Uint8Array;
  flags?: number;
  method?: number;
  /** Override the CRC written in the central directory and the descriptor. */
  crc32?: number;
  /** Override only the central directory's CRC. */
  centralCrc32?: number;
  /** A different name in the local header (CVE-2025-1944). */
  localName?: string;
}

export function buildZip(params: { entries: ZipFixtureEntry[]; zip64End?: boolean; comment?: string; trailing?: Uint8Array }): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of params.entries) {
    const flags = entry.flags ?? 0x0808;
    const descriptor = (flags & 0x0008) !== 0;
    const crc = entry.crc32 ?? crc32(entry.data);
    const name = Buffer.from(entry.name, 'utf8');
    const localName = Buffer.from(entry.localName ?? entry.name, 'utf8');
    const size = entry.data.length;
    const local = Buffer.concat([
      u32(0x04034b50), u16(0), u16(flags), u16(entry.method ?? 0), u16(0), u16(0),
      u32(descriptor ? 0 : crc), u32(descriptor ? 0 : size), u32(descriptor ? 0 : size),
      u16(localName.length), u16(0), localName,
    ]);
    const tail = descriptor ? Buffer.concat([u32(0x08074b50), u32(crc), u32(size), u32(size)]) : Buffer.alloc(0);
    parts.push(local, Buffer.from(entry.data), tail);
    central.push(Buffer.concat([
      u32(0x02014b50), u16(0), u16(0), u16(flags), u16(entry.method ?? 0), u16(0), u16(0),
      u32(entry.centralCrc32 ?? crc), u32(size), u32(size), u16(name.length), u16(0), u16(0), u16(0), u16(0), u32(0), u32(offset), name,
    ]));
    offset += local.length + size + tail.length;
  }
  const cd = Buffer.concat(central);
  const cdOffset = offset;
  const count = params.entries.length;
  const tailParts: Buffer[] = [];
  if (params.zip64End ?? true) {
    const z64Offset = cdOffset + cd.length;
    tailParts.push(Buffer.concat([u32(0x06064b50), u64(44), u16(0x031e), u16(45), u32(0), u32(0), u64(count), u64(count), u64(cd.length), u64(cdOffset)]));
    tailParts.push(Buffer.concat([u32(0x07064b50), u32(0), u64(z64Offset), u32(1)]));
  }
  tailParts.push(endRecord({ count, cdSize: cd.length, cdOffset, comment: params.comment }));
  return Buffer.concat([...parts, cd, ...tailParts, Buffer.from(params.trailing ?? new Uint8Array(0))]);
}

/** A torch zip: `<root>/<record>` entries in the given order (data.pkl first, as torch writes). */
export function torchZip(params: { root?: string; records: ReadonlyArray<readonly [string, Uint8Array]>; entry?: (entry: ZipFixtureEntry) => ZipFixtureEntry }): Uint8Array {
  const root = params.root ?? 'archive';
  const entries = params.records.map(([record, data]) => (params.entry ?? ((e) => e))({ name: `${root}/${record}`, data }));
  return buildZip({ entries });
}

/** The entries of a zip (a real fixture), to re-write them with a change. */
export async function readZipFixture(bytes: Uint8Array): Promise<ZipFixtureEntry[]> {
  const listing = await readZipListing({ source: bufferSource(bytes) });
  return listing.entries.map((entry) => ({ name: entry.name, data: bytes.slice(entry.dataOffset, entry.dataOffset + entry.compressedSize) }));
}
