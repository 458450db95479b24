/**
 * Upload pipelines (WEB-R04): the upload service hands over a verified file in quarantine and the pipeline
 * owns it from there, so each removes it when done, whatever the outcome. The lead wires them with the
 * target dataset (see `src/datasets/datasets.ts`, which registers them as upload pipelines).
 */
import { link, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError, errnoCode } from '../../core/errors.ts';
import { sanitizeFileName } from '../../core/file-names.ts';
import { foldName } from '../../formats/zip/fold-name.ts';
import type { CompletedUpload } from '../../uploads/upload-service.ts';
import { inspectImage } from '../images/inspect-image.ts';
import { storeImage } from '../images/store-image.ts';
import { stemOf, storedImageName } from '../images/stored-name.ts';
import { assertUnlocked, existingDatasetDir } from '../store/dataset-dir.ts';
import type { DatasetLock } from '../store/dataset-dir.ts';
import { imageFilesOf } from '../store/list-images.ts';
import { DEFAULT_SUBSET_META, META_DIR, THUMBS_DIR, readDatasetMeta, subsetMetaOf, writeDatasetMeta } from '../store/meta.ts';
import { checkSubsetName, parseKohyaFolderName } from '../store/names.ts';
import { makeDirInside } from '../store/new-files.ts';
import { createStagingDir, removeStagingDir } from '../store/staging.ts';
import type { DatasetImportLimits } from './import-limits.ts';
import type { ImportedImage, ImportProgress, ImportReport } from './import-report.ts';
import { ROOT_SUBSET } from './plan-import.ts';
import { importZip } from './import-zip.ts';

/** A zip in quarantine (an upload) that this import owns: imported, then deleted whatever happened. */
export async function importUploadedZip(params: {
  uploadedFile: string;
  datasetsRoot: string;
  name: string;
  limits: DatasetImportLimits;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
}): Promise<ImportReport> {
  const { uploadedFile, ...rest } = params;
  try {
    return await importZip({ ...rest, zipPath: uploadedFile });
  } finally {
    await rm(uploadedFile, { force: true });
  }
}

function nameTaken(file: string, existing: string, subset: string): LorasmithError {
  return new LorasmithError({
    code: 'image-name-collision',
    message: `${JSON.stringify(file)} would share the stem of ${JSON.stringify(existing)} in subset "${subset}"; captions pair by stem.`,
    hint: 'Rename the file before uploading it, or delete the existing image first.',
    exitCode: 1,
    status: 409,
  });
}

/** The image in `subsetDir` whose stem folds like `stem`, if any. */
async function sameStem(subsetDir: string, stem: string): Promise<string | undefined> {
  const entries = await readdir(subsetDir, { withFileTypes: true });
  return imageFilesOf(entries).find((file) => foldName(stemOf(file)) === foldName(stem));
}

/** Add a subset's metadata (from a kohya folder name, else defaults) when meta.json lacks it. */
async function ensureSubsetMeta(datasetDir: string, subset: string): Promise<void> {
  const meta = await readDatasetMeta(datasetDir);
  if (meta.subsets.some((entry) => entry.name === subset)) return;
  const kohya = subset === ROOT_SUBSET ? undefined : parseKohyaFolderName(subset);
  await writeDatasetMeta(datasetDir, { ...meta, subsets: [...meta.subsets, { name: subset, ...DEFAULT_SUBSET_META, ...kohya }] });
}

/**
 * One uploaded image into an existing dataset's subset (created when missing). A type that is not imported
 * is refused with the message that names it; so is a name whose stem another image of the subset has.
 */
export async function importUploadedImage(params: {
  upload: CompletedUpload;
  datasetsRoot: string;
  dataset: string;
  subset?: string;
  limits: DatasetImportLimits;
  isLocked?: DatasetLock;
}): Promise<ImportedImage> {
  const { upload, limits } = params;
  let staging: string | undefined;
  try {
    const datasetDir = await existingDatasetDir({ datasetsRoot: params.datasetsRoot, name: params.dataset });
    const subset = checkSubsetName(params.subset ?? ROOT_SUBSET);
    await assertUnlocked({ name: params.dataset, isLocked: params.isLocked });
    const name = sanitizeFileName(upload.name);
    const inspected = await inspectImage({ file: upload.file, name, limits });
    const file = storedImageName({ name, type: inspected.type });
    const stem = stemOf(file);
    const subsetDir = await makeDirInside({ root: datasetDir, segments: [subset] });
    const thumbsDir = await makeDirInside({ root: datasetDir, segments: [META_DIR, THUMBS_DIR, subset] });
    const existing = await sameStem(subsetDir, stem);
    if (existing !== undefined) throw nameTaken(name, existing, subset);

    staging = await createStagingDir({ datasetsRoot: params.datasetsRoot, purpose: 'upload' });
    const stagedImage = path.join(staging, file);
    const stagedThumb = path.join(staging, `${stem}.webp`);
    const stored = await storeImage({ file: upload.file, name, inspected, output: stagedImage, thumbnail: stagedThumb, limits });
    // link(2) never replaces: an image that arrived meanwhile under the same name wins, and this one is refused.
    try {
      await link(stagedImage, path.join(subsetDir, file));
    } catch (error) {
      if (errnoCode(error) === 'EEXIST') throw nameTaken(name, file, subset);
      throw error;
    }
    await rename(stagedThumb, path.join(thumbsDir, `${stem}.webp`));
    await ensureSubsetMeta(datasetDir, subset);
    const { captionExtension } = subsetMetaOf(await readDatasetMeta(datasetDir), subset);
    const caption = (await readdir(subsetDir)).includes(`${stem}${captionExtension}`);
    return { subset, file, source: name, format: stored.format, width: stored.width, height: stored.height, caption, reencoded: stored.reencoded };
  } finally {
    if (staging !== undefined) await removeStagingDir(staging);
    await rm(upload.file, { force: true });
  }
}
