/**
 * The general-purpose zip checker (ARC-R01..R04) run before a single byte is extracted. Structure comes
 * from the strict reader `readZipListing` (central directory ↔ local headers, data descriptors, ZIP64,
 * overlaps, gaps, nothing before the first local header); this adds names, types, encryption, methods,
 * collisions and the size limits. Data-dependent checks (CRC-32, actual inflated size) happen while
 * streaming, in `stream-entry.ts`.
 */
import type { ByteSource } from '../torch/byte-source.ts';
import { readZipListing } from '../torch/zip-records.ts';
import type { ZipEntry } from '../torch/zip-records.ts';
import { archiveError } from './archive-error.ts';
import { checkEntryEncoding, checkEntryName, checkEntryType } from './entry-rules.ts';
import type { EntryKind } from './entry-rules.ts';
import { foldName } from './fold-name.ts';
import type { ArchiveLimits } from './limits.ts';

export interface CheckedEntry {
  entry: ZipEntry;
  kind: EntryKind;
  /** The entry's path, segment by segment, NFC-normalised. */
  segments: string[];
}

export interface CheckedArchive {
  entries: CheckedEntry[];
  /** Sum of the declared uncompressed sizes. */
  totalBytes: number;
}

export interface CheckZipArchiveParams {
  source: ByteSource;
  limits: ArchiveLimits;
  /** Free bytes where the content will land; the content may take at most (100 − reserve) % of it. */
  freeBytes?: number;
}

function checkSizes(entry: ZipEntry, limits: ArchiveLimits): void {
  if (entry.uncompressedSize > limits.maxEntryBytes) {
    throw archiveError({ code: 'limit_entry', entry: entry.name, reason: `it declares ${entry.uncompressedSize} bytes, over the ${limits.maxEntryBytes}-byte limit per entry` });
  }
  // Per-entry ratio bounds the total ratio too: stored entries expand 1:1.
  if (entry.method === 8 && entry.uncompressedSize > Math.max(1, entry.compressedSize) * limits.maxRatio) {
    throw archiveError({ code: 'limit_ratio', entry: entry.name, reason: `it expands more than ${limits.maxRatio}:1 (a compression bomb)` });
  }
}

/** Names must stay distinct after folding, and no file may share its name with a folder (its own path's or another's). */
function checkCollisions(entries: CheckedEntry[]): void {
  const files = new Map<string, string>();
  const folders = new Map<string, string>();
  for (const { entry, kind, segments } of entries) {
    const folded = segments.map(foldName);
    for (let depth = 1; depth < folded.length; depth++) folders.set(folded.slice(0, depth).join('/'), entry.name);
    const key = folded.join('/');
    if (kind === 'directory') {
      folders.set(key, entry.name);
      continue;
    }
    const other = files.get(key);
    if (other !== undefined) throw archiveError({ code: 'collision', entry: entry.name, reason: `its name collides with ${JSON.stringify(other)} (names must differ by more than case or Unicode normalisation)` });
    files.set(key, entry.name);
  }
  for (const [key, name] of files) {
    const folder = folders.get(key);
    if (folder !== undefined) throw archiveError({ code: 'collision', entry: name, reason: `it is a file with the same name as the folder of ${JSON.stringify(folder)}` });
  }
}

/**
 * ARC-R03 on the whole content: at most the total limit, and at most (100 − reserve) % of the free disk
 * space. Shared with folder imports, whose `what` and `source` name the folder in the message.
 */
export function checkContentSize(params: { totalBytes: number; limits: ArchiveLimits; freeBytes?: number; what?: string; source?: string }): void {
  const { totalBytes, limits } = params;
  const where = { ...(params.what === undefined ? {} : { what: params.what }), ...(params.source === undefined ? {} : { entry: params.source }) };
  if (totalBytes > limits.maxTotalBytes) {
    throw archiveError({
      code: 'limit_total',
      ...where,
      reason: `its content is ${totalBytes} bytes, over the ${limits.maxTotalBytes}-byte limit`,
      hint: 'Nothing was imported. Split it, or raise the size limit in Settings if you trust it.',
    });
  }
  if (params.freeBytes !== undefined && totalBytes > Math.floor((params.freeBytes * (100 - limits.freeDiskReservePercent)) / 100)) {
    throw archiveError({
      code: 'disk_space',
      ...where,
      reason: `its content is ${totalBytes} bytes and only ${params.freeBytes} bytes are free (${limits.freeDiskReservePercent} % must stay free)`,
      hint: 'Nothing was imported. Free some disk space and try again.',
    });
  }
}

export async function checkZipArchive(params: CheckZipArchiveParams): Promise<CheckedArchive> {
  const { limits } = params;
  // Dataset zips may carry an archive comment (GitHub's do); everything else stays as strict as for checkpoints.
  const listing = await readZipListing({ source: params.source, limits: { maxEntries: limits.maxEntries, allowComment: true } });
  const entries: CheckedEntry[] = [];
  let totalBytes = 0;
  for (const entry of listing.entries) {
    checkEntryEncoding(entry);
    const segments = checkEntryName(entry.name);
    const kind = checkEntryType(entry);
    checkSizes(entry, limits);
    totalBytes += entry.uncompressedSize;
    entries.push({ entry, kind, segments });
  }
  checkContentSize({ totalBytes, limits, ...(params.freeBytes === undefined ? {} : { freeBytes: params.freeBytes }) });
  checkCollisions(entries);
  return { entries, totalBytes };
}
