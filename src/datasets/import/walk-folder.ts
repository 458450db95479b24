/**
 * The files of an operator's folder (CLI only, DESIGN.md §6.3), with the archive rules applied to each
 * relative path (ARC-R01) and the archive limits to their count and sizes (ARC-R03). Links are never
 * followed and, like devices and pipes, are skipped and reported.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { archiveError } from '../../formats/zip/archive-error.ts';
import { checkEntryName } from '../../formats/zip/entry-rules.ts';
import type { ArchiveLimits } from '../../formats/zip/limits.ts';
import type { SkippedFile } from './import-report.ts';
import type { SourceFile } from './plan-import.ts';

/** Far deeper than any layout an import uses (wrapper, subset, file), yet bounded. */
const MAX_DEPTH = 8;
const NAME_CONTEXT = { what: 'file', hint: 'Nothing was imported. Rename the file (plain letters, digits, spaces, "-", "_", ".") and try again.' };

export interface WalkedFolder {
  files: SourceFile<string>[];
  skipped: SkippedFile[];
  totalBytes: number;
}

export async function walkFolder(params: { folder: string; limits: ArchiveLimits }): Promise<WalkedFolder> {
  const { limits } = params;
  const files: SourceFile<string>[] = [];
  const skipped: SkippedFile[] = [];
  let count = 0;
  let totalBytes = 0;
  const visit = async (relative: string[]): Promise<void> => {
    const entries = await readdir(path.join(params.folder, ...relative), { withFileTypes: true });
    for (const entry of entries) {
      if (++count > limits.maxEntries) throw archiveError({ code: 'limit_entries', what: 'folder', entry: params.folder, reason: `it holds more than ${limits.maxEntries} entries`, hint: 'Nothing was imported. Import a smaller folder.' });
      const display = [...relative, entry.name].join('/');
      const segments = checkEntryName(display, NAME_CONTEXT);
      if (entry.isDirectory()) {
        if (relative.length + 1 >= MAX_DEPTH) skipped.push({ path: `${display}/`, reason: `more than ${MAX_DEPTH} folders deep` });
        else await visit([...relative, entry.name]);
        continue;
      }
      if (!entry.isFile()) {
        skipped.push({ path: display, reason: entry.isSymbolicLink() ? 'a symbolic link (links are not followed)' : 'not a regular file' });
        continue;
      }
      const absolute = path.join(params.folder, ...relative, entry.name);
      const { size } = await lstat(absolute);
      if (size > limits.maxEntryBytes) throw archiveError({ code: 'limit_entry', what: 'file', entry: display, reason: `it is ${size} bytes, over the ${limits.maxEntryBytes}-byte limit per file`, hint: 'Nothing was imported. Remove or shrink the file and try again.' });
      totalBytes += size;
      files.push({ segments, source: absolute });
    }
  };
  await visit([]);
  return { files, skipped, totalBytes };
}
