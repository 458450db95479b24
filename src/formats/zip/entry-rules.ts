/**
 * Per-entry rules of ARC-R01 (names) and ARC-R02 (types), plus the flag and method checks of ARC-R04.
 * Each returns what the rest of the import needs or throws an `archive.*` LorasmithError that refuses the
 * whole archive: a single unsafe entry means the archive was made by a tool or a person we cannot trust.
 */
import { isLorasmithError } from '../../core/errors.ts';
import { sanitizeFileName } from '../../core/file-names.ts';
import { splitRelativePath } from '../../core/paths.ts';
import type { ZipEntry } from '../torch/zip-records.ts';
import { archiveError } from './archive-error.ts';

const MAX_NAME_BYTES = 1024;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** Bit 0 traditional encryption, bit 6 strong encryption, bit 13 encrypted central directory. */
const ENCRYPTION_FLAGS = 0x0001 | 0x0040 | 0x2000;
/** Bit 5: "compressed patched data", which no ordinary tool writes and Python's zipfile refuses. */
const PATCHED_DATA_FLAG = 0x0020;
/** Method 99 is WinZip AES: an encrypted entry in disguise. */
const AES_METHOD = 99;

/** The core name checks say "… was refused: REASON."; the archive error names the entry instead. */
function reasonOf(message: string): string {
  return /was refused: (.*)\.$/s.exec(message)?.[1] ?? message;
}

export type EntryKind = 'file' | 'directory';

/** How a refusal names the thing checked: a folder import checks its files' relative paths with the same rules. */
export interface NameContext {
  what: string;
  hint: string;
}

/** ARC-R01. Returns the entry's path segments, each NFC-normalised (ARC-R07); a directory's trailing "/" is dropped. */
export function checkEntryName(name: string, context?: NameContext): string[] {
  const refuse = (reason: string) => archiveError({ code: 'entry_name', entry: name, reason, ...context });
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw refuse(`its name is longer than ${MAX_NAME_BYTES} bytes`);
  const path = name.endsWith('/') ? name.slice(0, -1) : name;
  let segments: string[];
  try {
    segments = splitRelativePath(path, 'archive entry');
  } catch (error) {
    if (!isLorasmithError(error)) throw error;
    throw refuse(reasonOf(error.message));
  }
  return segments.map((segment) => {
    let clean: string;
    try {
      clean = sanitizeFileName(segment);
    } catch (error) {
      if (!isLorasmithError(error)) throw error;
      throw refuse(reasonOf(error.message));
    }
    // sanitizeFileName strips what it cannot keep; in an archive any such character refuses the entry.
    if (clean !== segment.normalize('NFC')) {
      throw refuse('its name holds a control, bidi, zero-width or ":" character');
    }
    return clean;
  });
}

/**
 * ARC-R02. The upper 16 bits of the external attributes are a Unix mode when set; they are read whatever
 * host byte the entry claims, since no tool sets a link type by accident and yauzl ignores them entirely.
 */
export function checkEntryType(entry: ZipEntry): EntryKind {
  const isDirectoryName = entry.name.endsWith('/');
  const format = (entry.externalAttributes >>> 16) & S_IFMT;
  if (format === S_IFLNK) throw archiveError({ code: 'entry_type', entry: entry.name, reason: 'it is a symbolic link' });
  if (format !== 0 && format !== S_IFREG && format !== S_IFDIR) {
    throw archiveError({ code: 'entry_type', entry: entry.name, reason: `it is a special file (mode 0o${format.toString(8)}), not a regular file or folder` });
  }
  if ((format === S_IFDIR && !isDirectoryName) || (format === S_IFREG && isDirectoryName)) {
    throw archiveError({ code: 'entry_type', entry: entry.name, reason: 'its type and its name disagree on whether it is a folder' });
  }
  if (isDirectoryName && entry.uncompressedSize !== 0) throw archiveError({ code: 'entry_type', entry: entry.name, reason: 'it is a folder that holds data' });
  return isDirectoryName ? 'directory' : 'file';
}

/** ARC-R04: encryption and exotic flags refused; only stored (0) and deflate (8) entries are read. */
export function checkEntryEncoding(entry: ZipEntry): void {
  if ((entry.flags & ENCRYPTION_FLAGS) !== 0 || entry.method === AES_METHOD) {
    throw archiveError({ code: 'encrypted', entry: entry.name, reason: 'it is encrypted', hint: 'Nothing was imported. Re-create the archive without a password.' });
  }
  if ((entry.flags & PATCHED_DATA_FLAG) !== 0) throw archiveError({ code: 'flags', entry: entry.name, reason: 'it is flagged as patched data (general-purpose bit 5)' });
  if (entry.method !== 0 && entry.method !== 8) {
    throw archiveError({
      code: 'method',
      entry: entry.name,
      reason: `it uses compression method ${entry.method}; only "stored" and "deflate" are read`,
      hint: 'Nothing was imported. Re-create the archive with ordinary zip compression (deflate), e.g. "zip -r".',
    });
  }
  if (entry.method === 0 && entry.compressedSize !== entry.uncompressedSize) {
    throw archiveError({ code: 'size_mismatch', entry: entry.name, reason: 'it is stored uncompressed but its two sizes differ' });
  }
}
