/**
 * Stream checked entries out of a zip with yauzl (never the whole archive in memory). yauzl's own
 * central-directory parse is not used: entries come from `checkZipArchive`, so one strict parser decides
 * what is in the archive, and yauzl only reads the byte ranges that parser located.
 */
import yauzl from 'yauzl';
import type { ZipFile } from 'yauzl';
import type { ZipEntry } from '../torch/zip-records.ts';
import { archiveError } from './archive-error.ts';
import { streamEntry } from './stream-entry.ts';

export interface ExtractEntriesParams {
  zipPath: string;
  /** The size the checker saw; a different size means the file changed in between. */
  expectedSize: number;
  entries: readonly ZipEntry[];
  /** Where an entry's data goes; undefined verifies it (size, CRC) without writing. */
  destinationOf: (entry: ZipEntry) => string | undefined;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
  /** Called when an entry is completely written and checked (size, CRC), so its file can be used. */
  onEntry?: (entry: ZipEntry) => void;
}

async function openYauzl(zipPath: string): Promise<ZipFile> {
  try {
    // Sizes are counted by streamEntry, which aborts with a LorasmithError naming the entry.
    return await yauzl.openPromise(zipPath, { autoClose: false, lazyEntries: true, validateEntrySizes: false, strictFileNames: true });
  } catch (error) {
    throw archiveError({ code: 'unreadable', reason: `it could not be opened (${error instanceof Error ? error.message.slice(0, 200) : 'unknown error'})` });
  }
}

export async function extractEntries(params: ExtractEntriesParams): Promise<void> {
  const zipfile = await openYauzl(params.zipPath);
  try {
    if (zipfile.fileSize !== params.expectedSize) throw archiveError({ code: 'changed', reason: 'the file changed while it was being imported' });
    for (const entry of params.entries) {
      await streamEntry({
        zipfile,
        entry,
        destination: params.destinationOf(entry),
        ...(params.signal === undefined ? {} : { signal: params.signal }),
        ...(params.onBytes === undefined ? {} : { onBytes: params.onBytes }),
      });
      params.onEntry?.(entry);
    }
  } finally {
    zipfile.close();
  }
}
