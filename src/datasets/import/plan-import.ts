/**
 * Turn the files of an archive or folder into a plan: which images go to which subset, which caption pairs
 * with which image, and what is skipped with its reason. Pure, so it is the same for zips and folders.
 *
 * Layout: a single wrapping folder (a zipped folder, or kohya's `img/`) is dropped unless it is itself a
 * kohya `N_class` folder; then files at the root go to subset `main`, files one folder down to the subset
 * named after that folder, and anything deeper is skipped (kohya reads one level, non-recursively).
 * Images and captions pair by stem; two images with the same stem in one subset (`c.gif` and `c.png`)
 * would share a caption after conversion, so the import is refused (ARC-R06).
 */
import { LorasmithError } from '../../core/errors.ts';
import { foldName } from '../../formats/zip/fold-name.ts';
import { stemOf } from '../images/stored-name.ts';
import { DEFAULT_SUBSET_META } from '../store/meta.ts';
import type { SubsetMeta } from '../store/meta.ts';
import { checkSubsetName, parseKohyaFolderName } from '../store/names.ts';
import { classifyFile } from './classify-file.ts';
import type { SkippedFile } from './import-report.ts';

export const ROOT_SUBSET = 'main';

export interface SourceFile<S> {
  /** NFC path segments, already checked as entry names (ARC-R01). */
  segments: string[];
  source: S;
}

export interface PlannedCaption<S> {
  path: string;
  source: S;
}

export interface PlannedImage<S> {
  subset: string;
  /** The file name as given (NFC); its stored name depends on the sniffed type. */
  name: string;
  stem: string;
  path: string;
  source: S;
  caption: PlannedCaption<S> | undefined;
}

export interface ImportPlan<S> {
  images: PlannedImage<S>[];
  skipped: SkippedFile[];
  /** Metadata of each subset that has images, from kohya folder names. */
  subsets: Map<string, SubsetMeta>;
}

function collision(first: string, second: string, reason: string): LorasmithError {
  return new LorasmithError({
    code: 'dataset-import-collision',
    message: `${JSON.stringify(first)} and ${JSON.stringify(second)} ${reason}.`,
    hint: 'Rename one of them and import again. Nothing was imported.',
    exitCode: 1,
    status: 422,
  });
}

function stripWrappers(segmentsList: string[][]): number {
  let depth = 0;
  for (;;) {
    const first = segmentsList[0]?.[depth];
    if (first === undefined || parseKohyaFolderName(first) !== undefined) return depth;
    if (!segmentsList.every((segments) => segments.length > depth + 1 && segments[depth] === first)) return depth;
    depth++;
  }
}

export function planImport<S>(files: readonly SourceFile<S>[]): ImportPlan<S> {
  const skipped: SkippedFile[] = [];
  const kept: Array<{ file: SourceFile<S>; role: 'image' | 'caption' }> = [];
  for (const file of files) {
    const classified = classifyFile(file.segments);
    if (classified.role === 'skip') skipped.push({ path: file.segments.join('/'), reason: classified.reason });
    else kept.push({ file, role: classified.role });
  }
  const strip = stripWrappers(kept.map(({ file }) => file.segments));

  const subsetNames = new Map<string, string>();
  const images = new Map<string, PlannedImage<S>>();
  const captions = new Map<string, PlannedCaption<S>>();
  for (const { file, role } of kept) {
    const filePath = file.segments.join('/');
    const rest = file.segments.slice(strip);
    if (rest.length > 2) {
      skipped.push({ path: filePath, reason: 'more than one folder deep; subsets are the top-level folders' });
      continue;
    }
    const subset = rest.length === 2 ? checkSubsetName(rest[0] ?? '') : ROOT_SUBSET;
    const other = subsetNames.get(foldName(subset));
    if (other !== undefined && other !== subset) throw collision(other, subset, 'would be the same subset folder on a case-insensitive disk');
    subsetNames.set(foldName(subset), subset);
    const name = rest[rest.length - 1] ?? '';
    const stem = stemOf(name);
    const key = `${foldName(subset)}/${foldName(stem)}`;
    if (role === 'caption') {
      const previous = captions.get(key);
      if (previous !== undefined) throw collision(previous.path, filePath, 'are two captions for the same image');
      captions.set(key, { path: filePath, source: file.source });
      continue;
    }
    const previous = images.get(key);
    if (previous !== undefined) throw collision(previous.path, filePath, `share the stem "${stem}" in subset "${subset}", and captions pair by stem`);
    images.set(key, { subset, name, stem, path: filePath, source: file.source, caption: undefined });
  }
  for (const [key, caption] of captions) {
    const image = images.get(key);
    if (image === undefined) skipped.push({ path: caption.path, reason: 'a caption without an image of the same name' });
    else image.caption = caption;
  }

  const subsets = new Map<string, SubsetMeta>();
  for (const image of images.values()) {
    if (subsets.has(image.subset)) continue;
    const kohya = image.subset === ROOT_SUBSET ? undefined : parseKohyaFolderName(image.subset);
    subsets.set(image.subset, { ...DEFAULT_SUBSET_META, ...kohya });
  }
  return { images: [...images.values()], skipped, subsets };
}
