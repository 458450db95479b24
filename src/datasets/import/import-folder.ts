/**
 * `importFolder`: an operator's folder (CLI only; the HTTP API takes uploads) imported like an archive:
 * the same name rules, limits, plan and image checks, built in staging and moved into the store at once.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError } from '../../core/errors.ts';
import { checkContentSize } from '../../formats/zip/check-archive.ts';
import { assertDatasetNameFree } from '../store/dataset-dir.ts';
import { makeDirInside } from '../store/new-files.ts';
import { commitStagingDir, createStagingDir, removeStagingDir } from '../store/staging.ts';
import { buildDataset } from './build-dataset.ts';
import { asCancelled } from './cancelled.ts';
import { freeBytes } from './free-bytes.ts';
import type { DatasetImportLimits } from './import-limits.ts';
import type { ImportProgress, ImportReport } from './import-report.ts';
import { planImport } from './plan-import.ts';
import { walkFolder } from './walk-folder.ts';

export interface ImportFolderParams {
  /** An operator path (absolute, or relative to the working directory). */
  folderPath: string;
  datasetsRoot: string;
  name: string;
  limits: DatasetImportLimits;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
  concurrency?: number;
}

async function checkFolder(folder: string): Promise<void> {
  const info = await lstat(folder).catch(() => undefined);
  if (info?.isDirectory() === true) return;
  throw new LorasmithError({
    code: 'folder-not-found',
    message: `${folder} is not a folder${info?.isSymbolicLink() === true ? ' (it is a symbolic link)' : ''}.`,
    hint: 'Give the path of a folder of images; links are not followed.',
    status: 400,
  });
}

export async function importFolder(params: ImportFolderParams): Promise<ImportReport> {
  const { datasetsRoot, name, limits, signal } = params;
  const folder = path.resolve(params.folderPath);
  await checkFolder(folder);
  await assertDatasetNameFree({ datasetsRoot, name });
  const staging = await createStagingDir({ datasetsRoot, purpose: 'import' });
  try {
    params.onProgress?.({ phase: 'checking', done: 0, total: 1 });
    const walked = await walkFolder({ folder, limits });
    checkContentSize({ totalBytes: walked.totalBytes, limits, freeBytes: await freeBytes(staging), what: 'folder', source: folder });
    const plan = planImport(walked.files);
    const outputDir = await makeDirInside({ root: staging, segments: ['dataset'] });
    const built = await buildDataset({
      plan: { ...plan, skipped: [...walked.skipped, ...plan.skipped] },
      pathOf: (file) => file,
      outputDir,
      limits,
      ...(params.concurrency === undefined ? {} : { concurrency: params.concurrency }),
      ...(signal === undefined ? {} : { signal }),
      onImage: (done, total) => params.onProgress?.({ phase: 'images', done, total }),
    });
    await commitStagingDir({ staging: outputDir, datasetsRoot, name });
    return { dataset: name, ...built };
  } catch (error) {
    throw asCancelled(error, signal);
  } finally {
    await removeStagingDir(staging);
  }
}
