import { LorasmithError } from '../../core/errors.ts';
import { readRanges } from './byte-source.ts';
import type { ByteRange, ByteSource } from './byte-source.ts';

/**
 * A small strict zip reader: lists entries from the central directory *and* each local header and checks
 * that they agree (model-file-security.md PKL-R05, web-and-process-security.md ARC-R04). It never
 * decompresses; `zip-data.ts` reads entry data. Stricter than general zip readers on purpose: the end record
 * must end the file with no comment, a ZIP64 end record and locator must agree with it, the central directory
 * must end where they begin, and the records must tile the bytes before it (no gaps, no overlaps, nothing
 * before the first local header), so no bytes of the file go unaccounted for.
 *
 * Torch-specific rules (one root folder, method 0, flags, the record set) live in `scan-torch-zip.ts`.
 */

export interface ZipLocalHeader {
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  nameLength: number;
  extraLength: number;
}

export interface ZipDataDescriptor {
  offset: number;
  length: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
}

export interface ZipEntry {
  /** Position in the central directory. */
  index: number;
  name: string;
  versionMadeBy: number;
  versionNeeded: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  externalAttributes: number;
  /** The central entry carries a ZIP64 extra field (then any data descriptor has 8-byte sizes). */
  zip64: boolean;
  local: ZipLocalHeader;
  /** Local header offset + 30 + *local* name and extra lengths, as torch's `getRecordOffset`. */
  dataOffset: number;
  /** Present when flag bit 3 is set. */
  descriptor: ZipDataDescriptor | undefined;
  /** One past the entry's last byte (data descriptor included). */
  end: number;
}

export interface ZipListing {
  entries: ZipEntry[];
  centralDirectoryOffset: number;
  centralDirectorySize: number;
  /** The file has a ZIP64 end record and locator. */
  zip64: boolean;
}

export interface ZipLimits {
  maxEntries: number;
  maxCentralDirectoryBytes: number;
  /**
   * Accept an archive comment after the end record (dataset zips: GitHub and many tools write one).
   * A PyTorch checkpoint never has one, so its reader keeps the default, false (PKL-R05).
   */
  allowComment?: boolean;
}

/** ARC-R03: at most 100,000 entries. */
export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = Object.freeze({ maxEntries: 100_000, maxCentralDirectoryBytes: 64 * 1024 * 1024 });

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_ZIP64_END = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_DESCRIPTOR = 0x08074b50;
const END_LENGTH = 22;
const LOCATOR_LENGTH = 20;
const ZIP64_END_LENGTH = 56;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

/** Every structural failure is a `zip.*` LorasmithError; containers turn it into an `invalid` finding. */
export function zipError(code: string, message: string, offset?: number): LorasmithError {
  return new LorasmithError({
    code,
    message,
    hint: 'The archive is malformed or was altered; download it again from its source.',
    exitCode: 1,
    ...(offset === undefined ? {} : { details: { offset } }),
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(dv: DataView, at: number): number {
  const value = dv.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw zipError('zip.value_range', 'a ZIP64 field is above 2^53');
  return Number(value);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function decodeName(bytes: Uint8Array, flags: number, offset: number): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i] as number) >= 0x80) {
      ascii = false;
      break;
    }
  }
  // ASCII is valid UTF-8 and decodes to the same code units as latin1.
  if (ascii) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  if ((flags & 0x0800) === 0) throw zipError('zip.name_encoding', 'an entry name is neither ASCII nor flagged UTF-8', offset);
  try {
    return utf8.decode(bytes);
  } catch {
    throw zipError('zip.name_encoding', 'an entry name is not valid UTF-8', offset);
  }
}

/** Walk extra fields (id u16, length u16, data); they must tile the extra area exactly. */
const NO_EXTRA_FIELDS: ReadonlyMap<number, Uint8Array> = new Map();

function extraFields(bytes: Uint8Array, offset: number): ReadonlyMap<number, Uint8Array> {
  if (bytes.length === 0) return NO_EXTRA_FIELDS;
  const fields = new Map<number, Uint8Array>();
  const dv = view(bytes);
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw zipError('zip.extra_field', 'an extra field is cut off', offset);
    const id = dv.getUint16(at, true);
    const length = dv.getUint16(at + 2, true);
    if (at + 4 + length > bytes.length) throw zipError('zip.extra_field', 'an extra field runs past its area', offset);
    if (fields.has(id)) throw zipError('zip.extra_field', `extra field 0x${id.toString(16)} appears twice`, offset);
    fields.set(id, bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return fields;
}

interface EndRecord {
  entries: number;
  cdSize: number;
  cdOffset: number;
  /** Where the central directory must end: the ZIP64 end record, or the classic one. */
  cdEnd: number;
  zip64: boolean;
}

/**
 * Where the end record starts. Without a comment it is the last 22 bytes. With `allowComment`, the last
 * signature whose declared comment length reaches exactly to the end of the file (so no other bytes
 * may trail it, and a signature inside the comment cannot be taken for the record).
 */
async function findEndRecord(source: ByteSource, allowComment: boolean): Promise<number> {
  const plain = source.size - END_LENGTH;
  if (plain < 0) throw zipError('zip.no_end_record', 'the file is too short to be a zip');
  if (!allowComment) return plain;
  const windowStart = Math.max(0, source.size - END_LENGTH - 0xffff);
  const tail = view(await source.read(windowStart, source.size - windowStart));
  for (let at = plain - windowStart; at >= 0; at--) {
    if (tail.getUint32(at, true) === SIG_END && windowStart + at + END_LENGTH + tail.getUint16(at + 20, true) === source.size) return windowStart + at;
  }
  return plain;
}

async function readEndRecord(source: ByteSource, allowComment: boolean): Promise<EndRecord> {
  const endOffset = await findEndRecord(source, allowComment);
  const end = view(await source.read(endOffset, END_LENGTH));
  if (end.getUint32(0, true) !== SIG_END) {
    throw zipError('zip.no_end_record', 'the end-of-central-directory record does not end the file (trailing bytes or a comment)', endOffset);
  }
  const disk = end.getUint16(4, true);
  const cdDisk = end.getUint16(6, true);
  const entriesOnDisk = end.getUint16(8, true);
  const entries = end.getUint16(10, true);
  const cdSize = end.getUint32(12, true);
  const cdOffset = end.getUint32(16, true);
  if (!allowComment && end.getUint16(20, true) !== 0) throw zipError('zip.comment', 'the archive has a comment', endOffset);
  const locatorOffset = endOffset - LOCATOR_LENGTH;
  const locator = locatorOffset >= 0 ? view(await source.read(locatorOffset, LOCATOR_LENGTH)) : undefined;
  if (locator === undefined || locator.getUint32(0, true) !== SIG_ZIP64_LOCATOR) {
    const masked = disk === U16_MAX || entries === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX;
    if (masked) throw zipError('zip.zip64_missing', 'the end record defers to a ZIP64 record that is not there', endOffset);
    if (disk !== 0 || cdDisk !== 0 || entriesOnDisk !== entries) throw zipError('zip.multi_disk', 'multi-disk archives are not supported', endOffset);
    return { entries, cdSize, cdOffset, cdEnd: endOffset, zip64: false };
  }
  if (locator.getUint32(4, true) !== 0 || locator.getUint32(16, true) !== 1) {
    throw zipError('zip.multi_disk', 'the ZIP64 locator names another disk', locatorOffset);
  }
  const z64Offset = u64(locator, 8);
  if (z64Offset + ZIP64_END_LENGTH !== locatorOffset) {
    throw zipError('zip.zip64_mismatch', 'the ZIP64 end record does not sit right before its locator', locatorOffset);
  }
  const z64 = view(await source.read(z64Offset, ZIP64_END_LENGTH));
  if (z64.getUint32(0, true) !== SIG_ZIP64_END || u64(z64, 4) !== ZIP64_END_LENGTH - 12) {
    throw zipError('zip.zip64_mismatch', 'the ZIP64 end record is malformed', z64Offset);
  }
  const z64Entries = u64(z64, 32);
  const z64CdSize = u64(z64, 40);
  const z64CdOffset = u64(z64, 48);
  const agree = (classic: number, mask: number, wide: number): boolean => classic === mask || classic === wide;
  if (
    z64.getUint32(16, true) !== 0 ||
    z64.getUint32(20, true) !== 0 ||
    u64(z64, 24) !== z64Entries ||
    !agree(entries, U16_MAX, z64Entries) ||
    !agree(entriesOnDisk, U16_MAX, z64Entries) ||
    !agree(cdSize, U32_MAX, z64CdSize) ||
    !agree(cdOffset, U32_MAX, z64CdOffset) ||
    !agree(disk, U16_MAX, 0) ||
    !agree(cdDisk, U16_MAX, 0)
  ) {
    throw zipError('zip.zip64_mismatch', 'the ZIP64 end record and the classic end record disagree', z64Offset);
  }
  return { entries: z64Entries, cdSize: z64CdSize, cdOffset: z64CdOffset, cdEnd: z64Offset, zip64: true };
}

interface CentralFields {
  entry: Omit<ZipEntry, 'local' | 'dataOffset' | 'descriptor' | 'end'>;
  nameBytes: Uint8Array;
}

function parseCentral(dv: DataView, bytes: Uint8Array, at: number, index: number, cdOffset: number): { fields: CentralFields; next: number } {
  const where = cdOffset + at;
  if (at + 46 > bytes.length || dv.getUint32(at, true) !== SIG_CENTRAL) {
    throw zipError('zip.central_header', `central directory entry ${index} is missing or cut off`, where);
  }
  const nameLength = dv.getUint16(at + 28, true);
  const extraLength = dv.getUint16(at + 30, true);
  const commentLength = dv.getUint16(at + 32, true);
  const next = at + 46 + nameLength + extraLength + commentLength;
  if (next > bytes.length) throw zipError('zip.central_header', `central directory entry ${index} runs past the directory`, where);
  const flags = dv.getUint16(at + 8, true);
  const nameBytes = bytes.subarray(at + 46, at + 46 + nameLength);
  const extras = extraFields(bytes.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength), where);
  let uncompressedSize = dv.getUint32(at + 24, true);
  let compressedSize = dv.getUint32(at + 20, true);
  let localHeaderOffset = dv.getUint32(at + 42, true);
  let disk = dv.getUint16(at + 34, true);
  const zip64Extra = extras.get(0x0001);
  if (zip64Extra !== undefined) {
    // Fields appear only for the values masked in the fixed header, in this order (APPNOTE 4.5.3).
    const z = view(zip64Extra);
    let cursor = 0;
    const take = (): number => {
      if (cursor + 8 > zip64Extra.length) throw zipError('zip.zip64_extra', 'a ZIP64 extra field is too short', where);
      const value = u64(z, cursor);
      cursor += 8;
      return value;
    };
    if (uncompressedSize === U32_MAX) uncompressedSize = take();
    if (compressedSize === U32_MAX) compressedSize = take();
    if (localHeaderOffset === U32_MAX) localHeaderOffset = take();
    if (disk === U16_MAX) {
      if (cursor + 4 > zip64Extra.length) throw zipError('zip.zip64_extra', 'a ZIP64 extra field is too short', where);
      disk = z.getUint32(cursor, true);
      cursor += 4;
    }
    if (cursor !== zip64Extra.length) throw zipError('zip.zip64_extra', 'a ZIP64 extra field has unexpected content', where);
  } else if (uncompressedSize === U32_MAX || compressedSize === U32_MAX || localHeaderOffset === U32_MAX) {
    throw zipError('zip.zip64_extra', 'a masked size or offset has no ZIP64 extra field', where);
  }
  if (disk !== 0) throw zipError('zip.multi_disk', 'an entry starts on another disk', where);
  const entry = {
    index,
    name: decodeName(nameBytes, flags, where),
    versionMadeBy: dv.getUint16(at + 4, true),
    versionNeeded: dv.getUint16(at + 6, true),
    flags,
    method: dv.getUint16(at + 10, true),
    crc32: dv.getUint32(at + 16, true),
    compressedSize,
    uncompressedSize,
    localHeaderOffset,
    externalAttributes: dv.getUint32(at + 38, true),
    zip64: zip64Extra !== undefined,
  };
  return { fields: { entry, nameBytes }, next };
}

/**
 * The bytes around every local header, read in one batch before the per-entry checks: the `DESCRIPTOR_MAX`
 * bytes before each header (where the previous entry's data descriptor sits in a well-formed file) and the
 * fixed header, name and up to `EXTRA_SLACK` extra bytes after it. Only a cache: a range it does not hold is
 * read on demand, so the checks see exactly the bytes a direct read would give them.
 */
const DESCRIPTOR_MAX = 24;
const EXTRA_SLACK = 128;
/** Windows closer than this are read as one range. */
const MERGE_GAP = 4096;
const MAX_WINDOW = 256 * 1024;
/** Bytes read ahead at most; beyond, reads happen on demand. */
const PREFETCH_BUDGET = 16 * 1024 * 1024;

class WindowCache {
  private readonly starts: number[];
  private readonly windows: Uint8Array[];
  /** Set by `locate`: the window holding the range, and the range's index in it. */
  window: Uint8Array = new Uint8Array(0);
  index = 0;

  constructor(starts: number[], windows: Uint8Array[]) {
    this.starts = starts;
    this.windows = windows;
  }

  /** Whether one window holds [offset, offset + length); if so, `window` and `index` point at it. */
  locate(offset: number, length: number): boolean {
    const { starts } = this;
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] as number) <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return false;
    const start = starts[found] as number;
    const window = this.windows[found] as Uint8Array;
    if (offset + length > start + window.length) return false;
    this.window = window;
    this.index = offset - start;
    return true;
  }
}

async function prefetchLocalHeaders(source: ByteSource, centrals: CentralFields[], cdOffset: number): Promise<WindowCache> {
  const wanted: ByteRange[] = [];
  for (const { entry, nameBytes } of centrals) {
    const at = entry.localHeaderOffset;
    if (at + 30 > cdOffset) continue;
    const start = Math.max(0, at - DESCRIPTOR_MAX);
    wanted.push({ offset: start, length: Math.min(cdOffset, at + 30 + nameBytes.length + EXTRA_SLACK) - start });
  }
  // The last entry's descriptor ends where the central directory begins.
  const tailStart = Math.max(0, cdOffset - DESCRIPTOR_MAX);
  wanted.push({ offset: tailStart, length: cdOffset - tailStart });
  wanted.sort((a, b) => a.offset - b.offset);
  const merged: ByteRange[] = [];
  let budget = PREFETCH_BUDGET;
  for (const range of wanted) {
    const last = merged[merged.length - 1];
    const end = range.offset + range.length;
    if (last !== undefined && range.offset <= last.offset + last.length + MERGE_GAP && end - last.offset <= MAX_WINDOW) {
      const grown = Math.max(last.offset + last.length, end) - last.offset;
      budget -= grown - last.length;
      last.length = grown;
    } else {
      budget -= range.length;
      merged.push({ offset: range.offset, length: range.length });
    }
    if (budget < 0) break;
  }
  const windows = await readRanges(source, merged);
  return new WindowCache(
    merged.map((range) => range.offset),
    windows,
  );
}

/** A range `readLocal` needs that the cache does not hold: the caller reads it and runs `readLocal` again. */
class CacheMiss {
  readonly offset: number;
  readonly length: number;
  constructor(offset: number, length: number) {
    this.offset = offset;
    this.length = length;
  }
}

/** Bytes read on demand for one entry, after a `CacheMiss`. */
interface Fetched {
  offset: number;
  bytes: Uint8Array;
}

/** Where `readLocal` finds a range: the shared cache first, then what was fetched for this entry. */
function locateFetched(fetched: readonly Fetched[], offset: number, length: number): { bytes: Uint8Array; index: number } | undefined {
  for (const item of fetched) {
    if (item.offset === offset && item.bytes.length === length) return { bytes: item.bytes, index: 0 };
  }
  return undefined;
}

const le16 = (bytes: Uint8Array, at: number): number => (bytes[at] as number) | ((bytes[at + 1] as number) << 8);
const le32 = (bytes: Uint8Array, at: number): number =>
  ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) >>> 0;

/**
 * The bytes of [offset, offset + length) as (array, index), from the cache or this entry's fetched ranges;
 * throws `CacheMiss` when neither holds them. Reuses `cache.window`/`cache.index`, so no view is made.
 */
function bytesAt(cache: WindowCache, fetched: readonly Fetched[], offset: number, length: number): void {
  if (cache.locate(offset, length)) return;
  const hit = locateFetched(fetched, offset, length);
  if (hit === undefined) throw new CacheMiss(offset, length);
  cache.window = hit.bytes;
  cache.index = hit.index;
}

/**
 * Check one entry's local header (and data descriptor) against its central record. Synchronous: it reads
 * through the prefetched windows, and a range they lack surfaces as `CacheMiss` for the caller to read and
 * retry, so the checks are the same whichever way the bytes arrived.
 */
function readLocal(cache: WindowCache, fetched: readonly Fetched[], central: CentralFields, cdOffset: number): ZipEntry {
  const { entry, nameBytes } = central;
  const at = entry.localHeaderOffset;
  const label = (): string => `entry "${entry.name}"`;
  if (at + 30 > cdOffset) throw zipError('zip.local_header', `${label()}: local header offset outside the data area`, at);
  bytesAt(cache, fetched, at, 30);
  let bytes = cache.window;
  let i = cache.index;
  if (le32(bytes, i) !== SIG_LOCAL) throw zipError('zip.local_header', `${label()}: no local header at its offset`, at);
  const local: ZipLocalHeader = {
    flags: le16(bytes, i + 6),
    method: le16(bytes, i + 8),
    crc32: le32(bytes, i + 14),
    compressedSize: le32(bytes, i + 18),
    uncompressedSize: le32(bytes, i + 22),
    nameLength: le16(bytes, i + 26),
    extraLength: le16(bytes, i + 28),
  };
  const dataOffset = at + 30 + local.nameLength + local.extraLength;
  if (dataOffset > cdOffset) throw zipError('zip.local_header', `${label()}: local header runs into the central directory`, at);
  bytesAt(cache, fetched, at + 30, local.nameLength + local.extraLength);
  bytes = cache.window;
  i = cache.index;
  // CVE-2025-1944: torch looks names up in the central directory; a different local name hides the entry.
  let sameName = local.nameLength === nameBytes.length;
  for (let k = 0; sameName && k < nameBytes.length; k++) sameName = bytes[i + k] === nameBytes[k];
  if (!sameName) {
    throw zipError('zip.name_mismatch', `${label()}: local header name differs from the central directory`, at);
  }
  const localExtras = extraFields(bytes.subarray(i + local.nameLength, i + local.nameLength + local.extraLength), at);
  if (local.flags !== entry.flags || local.method !== entry.method) {
    throw zipError('zip.header_mismatch', `${label()}: local flags or method differ from the central directory`, at);
  }
  if (dataOffset + entry.compressedSize > cdOffset) throw zipError('zip.data_range', `${label()}: data runs into the central directory`, at);

  const hasDescriptor = (entry.flags & 0x0008) !== 0;
  let descriptor: ZipDataDescriptor | undefined;
  if (hasDescriptor) {
    descriptor = readDescriptor(cache, fetched, entry, dataOffset + entry.compressedSize, cdOffset);
    const zip64 = entry.zip64;
    const zeroOrEqual = (value: number, expected: number): boolean => value === 0 || value === expected || (zip64 && value === U32_MAX);
    if (!zeroOrEqual(local.crc32, entry.crc32) || !zeroOrEqual(local.compressedSize, entry.compressedSize) || !zeroOrEqual(local.uncompressedSize, entry.uncompressedSize)) {
      throw zipError('zip.header_mismatch', `${label()}: local CRC or sizes are neither 0 nor the central directory's`, at);
    }
  } else {
    const sizes = localSizes(local, localExtras, label, at);
    if (local.crc32 !== entry.crc32 || sizes.compressed !== entry.compressedSize || sizes.uncompressed !== entry.uncompressedSize) {
      throw zipError('zip.header_mismatch', `${label()}: local CRC or sizes differ from the central directory`, at);
    }
  }
  const end = dataOffset + entry.compressedSize + (descriptor?.length ?? 0);
  return {
    index: entry.index,
    name: entry.name,
    versionMadeBy: entry.versionMadeBy,
    versionNeeded: entry.versionNeeded,
    flags: entry.flags,
    method: entry.method,
    crc32: entry.crc32,
    compressedSize: entry.compressedSize,
    uncompressedSize: entry.uncompressedSize,
    localHeaderOffset: entry.localHeaderOffset,
    externalAttributes: entry.externalAttributes,
    zip64: entry.zip64,
    local,
    dataOffset,
    descriptor,
    end,
  };
}

function localSizes(local: ZipLocalHeader, extras: ReadonlyMap<number, Uint8Array>, label: () => string, at: number): { compressed: number; uncompressed: number } {
  if (local.compressedSize !== U32_MAX && local.uncompressedSize !== U32_MAX) {
    return { compressed: local.compressedSize, uncompressed: local.uncompressedSize };
  }
  const zip64 = extras.get(0x0001);
  if (zip64 === undefined || zip64.length < 16) throw zipError('zip.zip64_extra', `${label()}: masked local sizes without a ZIP64 extra field`, at);
  const dv = view(zip64);
  return { uncompressed: u64(dv, 0), compressed: u64(dv, 8) };
}

function readDescriptor(cache: WindowCache, fetched: readonly Fetched[], entry: CentralFields['entry'], offset: number, cdOffset: number): ZipDataDescriptor {
  // miniz (torch) and CPython write the signature, and 8-byte sizes exactly when the entry has a ZIP64 extra.
  const length = entry.zip64 ? 24 : 16;
  const label = (): string => `entry "${entry.name}"`;
  if (offset + length > cdOffset) throw zipError('zip.descriptor', `${label()}: data descriptor runs into the central directory`, offset);
  bytesAt(cache, fetched, offset, length);
  const bytes = cache.window;
  const i = cache.index;
  if (le32(bytes, i) !== SIG_DESCRIPTOR) throw zipError('zip.descriptor', `${label()}: no data descriptor after the data`, offset);
  const wide = entry.zip64 ? view(bytes.subarray(i, i + length)) : undefined;
  const descriptor: ZipDataDescriptor = {
    offset,
    length,
    crc32: le32(bytes, i + 4),
    compressedSize: wide !== undefined ? u64(wide, 8) : le32(bytes, i + 8),
    uncompressedSize: wide !== undefined ? u64(wide, 16) : le32(bytes, i + 12),
  };
  if (descriptor.crc32 !== entry.crc32 || descriptor.compressedSize !== entry.compressedSize || descriptor.uncompressedSize !== entry.uncompressedSize) {
    throw zipError('zip.descriptor_mismatch', `${label()}: data descriptor disagrees with the central directory`, offset);
  }
  return descriptor;
}

/** List and cross-check every entry. Throws a `zip.*` LorasmithError on the first structural problem. */
export async function readZipListing(params: { source: ByteSource; limits?: Partial<ZipLimits> }): Promise<ZipListing> {
  const limits = { ...DEFAULT_ZIP_LIMITS, ...params.limits };
  const { source } = params;
  const endRecord = await readEndRecord(source, limits.allowComment === true);
  const { cdOffset, cdSize } = endRecord;
  if (endRecord.entries > limits.maxEntries) throw zipError('zip.limit_entries', `${endRecord.entries} entries, over the ${limits.maxEntries} limit`);
  if (cdSize > limits.maxCentralDirectoryBytes) throw zipError('zip.limit_directory', `central directory of ${cdSize} bytes is over the limit`);
  if (cdOffset + cdSize !== endRecord.cdEnd) {
    throw zipError('zip.directory_range', 'the central directory does not end where the end record begins', cdOffset);
  }
  const cd = await source.read(cdOffset, cdSize);
  const dv = view(cd);
  const centrals: CentralFields[] = [];
  let at = 0;
  for (let index = 0; index < endRecord.entries; index++) {
    const parsed = parseCentral(dv, cd, at, index, cdOffset);
    centrals.push(parsed.fields);
    at = parsed.next;
  }
  if (at !== cd.length) throw zipError('zip.directory_range', 'the central directory holds more than its declared entries', cdOffset + at);

  const names = new Set<string>();
  for (const { entry } of centrals) {
    if (names.has(entry.name)) throw zipError('zip.duplicate_name', `entry name "${entry.name}" appears twice`);
    names.add(entry.name);
  }
  const cache = await prefetchLocalHeaders(source, centrals, cdOffset);
  const entries: ZipEntry[] = [];
  const fetched: Fetched[] = [];
  for (const central of centrals) {
    fetched.length = 0;
    for (;;) {
      try {
        entries.push(readLocal(cache, fetched, central, cdOffset));
        break;
      } catch (error) {
        if (!(error instanceof CacheMiss)) throw error;
        // At most three misses per entry (header, name and extra, descriptor): each adds the range it lacked.
        // A fourth means the source returned a short read; stop rather than loop.
        if (fetched.length >= 3) throw zipError('zip.read', `entry "${central.entry.name}": the archive could not be read consistently`, error.offset);
        fetched.push({ offset: error.offset, bytes: await source.read(error.offset, error.length) });
      }
    }
  }

  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  let expected = 0;
  for (const entry of byOffset) {
    if (entry.localHeaderOffset < expected) throw zipError('zip.overlap', `entry "${entry.name}" overlaps the one before it`, entry.localHeaderOffset);
    if (entry.localHeaderOffset > expected) throw zipError('zip.gap', `unaccounted bytes before entry "${entry.name}"`, expected);
    expected = entry.end;
  }
  if (expected !== cdOffset) throw zipError('zip.gap', 'unaccounted bytes before the central directory', expected);
  return { entries, centralDirectoryOffset: cdOffset, centralDirectorySize: cdSize, zip64: endRecord.zip64 };
}
