/**
 * Captions from a CSV or JSONL list into an existing dataset. Each row names an image (`a.png`, or
 * `subset/a.png` for another subset than the default) under the archive name rules (ARC-R01); the caption
 * is written as `<image stem><caption extension>` next to the image, replacing any caption it had. Rows
 * that match no image or hold an invalid caption are skipped and reported.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { LorasmithError, isLorasmithError } from '../../core/errors.ts';
import { foldName } from '../../formats/zip/fold-name.ts';
import { checkEntryName } from '../../formats/zip/entry-rules.ts';
import { checkCaptionText } from '../images/caption-text.ts';
import { stemOf } from '../images/stored-name.ts';
import { assertUnlocked, existingDatasetDir } from '../store/dataset-dir.ts';
import type { DatasetLock } from '../store/dataset-dir.ts';
import { imageFilesOf, subsetFolders } from '../store/list-images.ts';
import { readDatasetMeta, subsetMetaOf } from '../store/meta.ts';
import type { DatasetImportLimits } from './import-limits.ts';
import type { SkippedFile } from './import-report.ts';
import { parseCaptionList } from './parse-caption-list.ts';
import type { CaptionListFormat } from './parse-caption-list.ts';
import { ROOT_SUBSET } from './plan-import.ts';

const MAX_LIST_BYTES = 64 * 1024 * 1024;
const NAME_CONTEXT = { what: 'caption list entry', hint: 'Name images as they are stored in the dataset, e.g. "a.png" or "10_sks dog/a.png".' };

export interface ImportCaptionsResult {
  written: Array<{ subset: string; image: string; caption: string }>;
  skipped: SkippedFile[];
}

export async function importCaptions(params: {
  datasetsRoot: string;
  name: string;
  listPath: string;
  format: CaptionListFormat;
  /** The subset of rows that name only a file. */
  subset?: string;
  limits: Pick<DatasetImportLimits, 'maxCaptionBytes'>;
  isLocked?: DatasetLock;
}): Promise<ImportCaptionsResult> {
  const datasetDir = await existingDatasetDir(params);
  await assertUnlocked(params);
  if ((await stat(params.listPath)).size > MAX_LIST_BYTES) {
    throw new LorasmithError({ code: 'caption-list-invalid', message: `The caption list is over ${MAX_LIST_BYTES} bytes.`, hint: 'Split it into smaller lists.', status: 413 });
  }
  const rows = parseCaptionList({ text: await readFile(params.listPath, 'utf8'), format: params.format });
  const meta = await readDatasetMeta(datasetDir);
  const subsets = new Map((await subsetFolders(datasetDir)).map((subset) => [foldName(subset), subset]));
  const imagesBySubset = new Map<string, Map<string, string>>();
  const imagesOf = async (subset: string): Promise<Map<string, string>> => {
    const cached = imagesBySubset.get(subset);
    if (cached !== undefined) return cached;
    const files = imageFilesOf(await readdir(path.join(datasetDir, subset), { withFileTypes: true }));
    const byStem = new Map(files.map((file) => [foldName(stemOf(file)), file]));
    imagesBySubset.set(subset, byStem);
    return byStem;
  };

  const result: ImportCaptionsResult = { written: [], skipped: [] };
  const seen = new Set<string>();
  for (const row of rows) {
    const where = `line ${row.line}: ${row.file}`;
    const segments = checkEntryName(row.file, NAME_CONTEXT);
    const subset = segments.length === 2 ? subsets.get(foldName(segments[0] ?? '')) : segments.length === 1 ? subsets.get(foldName(params.subset ?? ROOT_SUBSET)) : undefined;
    const image = subset === undefined ? undefined : (await imagesOf(subset)).get(foldName(stemOf(segments[segments.length - 1] ?? '')));
    if (subset === undefined || image === undefined) {
      result.skipped.push({ path: where, reason: 'no image of the dataset has this name' });
      continue;
    }
    const key = `${subset}/${image}`;
    if (seen.has(key)) {
      result.skipped.push({ path: where, reason: 'a second caption for the same image (the first one was kept)' });
      continue;
    }
    let text: string;
    try {
      text = checkCaptionText({ bytes: Buffer.from(row.text), name: where, maxBytes: params.limits.maxCaptionBytes });
    } catch (error) {
      if (!isLorasmithError(error)) throw error;
      result.skipped.push({ path: where, reason: error.message });
      continue;
    }
    seen.add(key);
    const caption = `${stemOf(image)}${subsetMetaOf(meta, subset).captionExtension}`;
    await writeFileAtomic(path.join(datasetDir, subset, caption), text);
    result.written.push({ subset, image, caption });
  }
  return result;
}
