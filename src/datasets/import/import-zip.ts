/**
 * `importZip` (ARC-R01..R06): check the whole archive's structure first, then stream every file entry out
 * with yauzl (images and captions to a private staging folder, the rest only to verify size and CRC), build
 * the dataset in staging, and move it into the store with one rename. Any unsafe entry refuses the whole
 * import, and a refused or cancelled import leaves nothing behind.
 */
import path from 'node:path';
import { openFileSource } from '../../formats/torch/byte-source.ts';
import { checkZipArchive } from '../../formats/zip/check-archive.ts';
import { extractEntries } from '../../formats/zip/extract-entries.ts';
import type { ZipEntry } from '../../formats/torch/zip-records.ts';
import { assertDatasetNameFree } from '../store/dataset-dir.ts';
import { makeDirInside } from '../store/new-files.ts';
import { commitStagingDir, createStagingDir, removeStagingDir } from '../store/staging.ts';
import { buildDataset } from './build-dataset.ts';
import { asCancelled } from './cancelled.ts';
import { freeBytes } from './free-bytes.ts';
import type { DatasetImportLimits } from './import-limits.ts';
import type { ImportProgress, ImportReport } from './import-report.ts';
import { planImport } from './plan-import.ts';

export interface ImportZipParams {
  zipPath: string;
  /** The workspace's `datasets/` folder. */
  datasetsRoot: string;
  /** The new dataset's name; it must not exist. */
  name: string;
  limits: DatasetImportLimits;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
  /** Images processed at once; one per core by default. */
  concurrency?: number;
}

export async function importZip(params: ImportZipParams): Promise<ImportReport> {
  const { datasetsRoot, name, limits, signal } = params;
  await assertDatasetNameFree({ datasetsRoot, name });
  const staging = await createStagingDir({ datasetsRoot, purpose: 'import' });
  try {
    const source = await openFileSource(params.zipPath);
    try {
      params.onProgress?.({ phase: 'checking', done: 0, total: 1 });
      const checked = await checkZipArchive({ source, limits, freeBytes: await freeBytes(staging) });
      const files = checked.entries.filter((entry) => entry.kind === 'file');
      const plan = planImport(files.map(({ segments, entry }) => ({ segments, source: entry })));
      const wanted = new Set<ZipEntry>(plan.images.flatMap((image) => (image.caption === undefined ? [image.source] : [image.source, image.caption.source])));
      const rawDir = await makeDirInside({ root: staging, segments: ['raw'] });
      const outputDir = await makeDirInside({ root: staging, segments: ['dataset'] });
      // Raw files are named by entry index: no name from the archive reaches the filesystem before it is checked and planned.
      const rawPath = (entry: ZipEntry): string => path.join(rawDir, String(entry.index));
      // Images are decoded while later entries are still being extracted: each waits only for its own
      // entry. Any extraction failure (size, CRC, a change of the file) still refuses the whole import:
      // the waiting images are released with the failure and the staging folder goes.
      const extractedEntries = new Map<ZipEntry, { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void }>();
      const gate = (entry: ZipEntry) => {
        let found = extractedEntries.get(entry);
        if (found === undefined) {
          const { promise, resolve, reject } = Promise.withResolvers<void>();
          promise.catch(() => undefined);
          found = { promise, resolve, reject };
          extractedEntries.set(entry, found);
        }
        return found;
      };
      let extracted = 0;
      const extraction = extractEntries({
        zipPath: params.zipPath,
        expectedSize: source.size,
        entries: files.map((file) => file.entry),
        destinationOf: (entry) => (wanted.has(entry) ? rawPath(entry) : undefined),
        ...(signal === undefined ? {} : { signal }),
        onBytes: (bytes) => params.onProgress?.({ phase: 'extracting', done: (extracted += bytes), total: checked.totalBytes }),
        onEntry: (entry) => gate(entry).resolve(),
      }).catch((error: unknown) => {
        for (const entry of wanted) gate(entry).reject(error);
        throw error;
      });
      // Both settle before anything is thrown, so the staging folder is removed only once nothing writes.
      const [extractionResult, buildResult] = await Promise.allSettled([
        extraction,
        buildDataset({
          plan,
          pathOf: rawPath,
          ready: (entry) => gate(entry).promise,
          privateSources: true,
          outputDir,
          limits,
          ...(params.concurrency === undefined ? {} : { concurrency: params.concurrency }),
          ...(signal === undefined ? {} : { signal }),
          onImage: (done, total) => params.onProgress?.({ phase: 'images', done, total }),
        }),
      ]);
      if (extractionResult.status === 'rejected') throw extractionResult.reason;
      if (buildResult.status === 'rejected') throw buildResult.reason;
      const built = buildResult.value;
      await commitStagingDir({ staging: outputDir, datasetsRoot, name });
      return { dataset: name, ...built };
    } finally {
      await source.close();
    }
  } catch (error) {
    throw asCancelled(error, signal);
  } finally {
    await removeStagingDir(staging);
  }
}
