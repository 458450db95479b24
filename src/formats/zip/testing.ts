/**
 * Test helper: a small zip writer with knobs for every rule of the archive checker (stored or deflate,
 * Unix modes, data descriptors, ZIP64 extras, wrong CRCs or sizes, renamed local headers, data before the
 * first header) and the pieces to assemble overlapping layouts by hand. Nothing here is used by the product.
 */
import { crc32, deflateRawSync } from 'node:zlib';

export interface TestZipEntry {
  name: string;
  data?: Uint8Array | string;
  /** 8 (deflate, the default) or 0 (stored); any other number is written as is. */
  method?: number;
  /** Upper 16 bits of the external attributes; also marks the entry as made on Unix. */
  unixMode?: number;
  /** Extra general-purpose flags (e.g. 0x1 encrypted); bit 11 (UTF-8) is set for non-ASCII names. */
  flags?: number;
  /** Flag bit 3: local CRC and sizes zero, a signed data descriptor after the data. */
  dataDescriptor?: boolean;
  /** Sizes masked with 0xFFFFFFFF and carried in ZIP64 extra fields (8-byte descriptor sizes too). */
  zip64?: boolean;
  /** Written instead of the real CRC-32, in every header. */
  crc32?: number;
  /** Written instead of the real uncompressed size, in every header. */
  declaredSize?: number;
  /** Written instead of the real values, in the data descriptor only. */
  descriptor?: { crc32?: number; compressedSize?: number; uncompressedSize?: number };
  /** A different name in the local header. */
  localName?: string;
  /** Compressed bytes to write instead of compressing `data`. */
  compressed?: Uint8Array;
}

/** Little-endian fields, as every zip record is written (the torch zip writer builds on these too). */
export const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
export const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const MASK = 0xffffffff;

export interface EncodedEntry {
  local: Buffer;
  /** Central directory record, given the offset its local header sits at. */
  central: (offset: number) => Buffer;
}

/** One entry's local part (header, data, descriptor) and central record. */
export function encodeEntry(entry: TestZipEntry): EncodedEntry {
  const data = typeof entry.data === 'string' ? Buffer.from(entry.data) : Buffer.from(entry.data ?? new Uint8Array(0));
  const method = entry.method ?? 8;
  const compressed = Buffer.from(entry.compressed ?? (method === 8 ? deflateRawSync(data) : data));
  const crc = entry.crc32 ?? crc32(data);
  const size = entry.declaredSize ?? data.length;
  const name = Buffer.from(entry.name);
  const localName = Buffer.from(entry.localName ?? entry.name);
  const utf8 = /[^\x00-\x7f]/.test(entry.name) ? 0x0800 : 0;
  const flags = (entry.flags ?? 0) | utf8 | (entry.dataDescriptor === true ? 0x0008 : 0);
  const zip64 = entry.zip64 === true;
  const descriptorFlag = entry.dataDescriptor === true;
  const sizesExtra = Buffer.concat([u16(0x0001), u16(16), u64(size), u64(compressed.length)]);
  const localExtra = zip64 ? sizesExtra : Buffer.alloc(0);
  const local = Buffer.concat([
    u32(0x04034b50), u16(zip64 ? 45 : 20), u16(flags), u16(method), u16(0), u16(0x21),
    u32(descriptorFlag ? 0 : crc),
    u32(zip64 ? MASK : descriptorFlag ? 0 : compressed.length),
    u32(zip64 ? MASK : descriptorFlag ? 0 : size),
    u16(localName.length), u16(localExtra.length), localName, localExtra,
  ]);
  const d = entry.descriptor ?? {};
  const descriptor = !descriptorFlag
    ? Buffer.alloc(0)
    : Buffer.concat([
        u32(0x08074b50), u32(d.crc32 ?? crc),
        ...(zip64 ? [u64(d.compressedSize ?? compressed.length), u64(d.uncompressedSize ?? size)] : [u32(d.compressedSize ?? compressed.length), u32(d.uncompressedSize ?? size)]),
      ]);
  const madeBy = entry.unixMode === undefined ? 20 : (3 << 8) | 20;
  const attributes = entry.unixMode === undefined ? 0 : (entry.unixMode << 16) >>> 0;
  const central = (offset: number): Buffer =>
    Buffer.concat([
      u32(0x02014b50), u16(madeBy), u16(zip64 ? 45 : 20), u16(flags), u16(method), u16(0), u16(0x21),
      u32(crc), u32(zip64 ? MASK : compressed.length), u32(zip64 ? MASK : size),
      u16(name.length), u16(zip64 ? sizesExtra.length : 0), u16(0), u16(0), u16(0), u32(attributes), u32(offset),
      name, zip64 ? sizesExtra : Buffer.alloc(0),
    ]);
  return { local: Buffer.concat([local, compressed, descriptor]), central };
}

/** The end-of-central-directory record for `count` entries, with the archive comment (default none). */
export function endRecord(params: { count: number; cdSize: number; cdOffset: number; comment?: string }): Buffer {
  const comment = Buffer.from(params.comment ?? '', 'utf8');
  return Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(params.count), u16(params.count), u32(params.cdSize), u32(params.cdOffset), u16(comment.length), comment]);
}

export function buildTestZip(params: { entries: TestZipEntry[]; prefix?: Uint8Array }): Buffer {
  const prefix = Buffer.from(params.prefix ?? new Uint8Array(0));
  const locals: Buffer[] = [prefix];
  const centrals: Buffer[] = [];
  let offset = prefix.length;
  for (const entry of params.entries) {
    const encoded = encodeEntry(entry);
    centrals.push(encoded.central(offset));
    locals.push(encoded.local);
    offset += encoded.local.length;
  }
  const cd = Buffer.concat(centrals);
  return Buffer.concat([...locals, cd, endRecord({ count: params.entries.length, cdSize: cd.length, cdOffset: offset })]);
}
