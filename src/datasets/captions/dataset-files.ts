/**
 * The plain-folder view of a dataset that captions, buckets and lint share: `datasetDir/<subset>/<image>`
 * with a same-stem `.txt` caption beside each image, and `datasetDir/.lorasmith/` for lorasmith's own files.
 * Only regular files count: a symlink planted in a dataset is neither read nor written through.
 */
import { lstat, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError, errnoCode } from '../../core/errors.ts';
import { resolveInside, splitRelativePath } from '../../core/paths.ts';

/** Lower-case only, as kohya's glob on a case-sensitive filesystem finds them (reference §2.2). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp'];
export const CAPTION_EXTENSION = '.txt';
export const LORASMITH_DIR = '.lorasmith';

export interface DatasetImage {
  subset: string;
  /** `<subset>/<file>`, relative to the dataset, "/"-separated. */
  image: string;
  /** `<subset>/<stem>.txt`. */
  caption: string;
  imagePath: string;
  captionPath: string;
}

export interface DatasetScope {
  datasetDir: string;
  /** One subset folder's name; all subsets when absent. */
  subset?: string;
}

/** Python compares strings by code point; JavaScript's default sort by UTF-16 unit differs above U+FFFF. */
export function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const diff = (left[i]?.codePointAt(0) ?? 0) - (right[i]?.codePointAt(0) ?? 0);
    if (diff !== 0) return diff;
  }
  return left.length - right.length;
}

export const isImageName = (name: string): boolean =>
  !name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(name));

function entryFor(subset: string, name: string, subsetDir: string): DatasetImage {
  const stem = name.slice(0, name.length - path.extname(name).length);
  return {
    subset,
    image: `${subset}/${name}`,
    caption: `${subset}/${stem}${CAPTION_EXTENSION}`,
    imagePath: path.join(subsetDir, name),
    captionPath: path.join(subsetDir, `${stem}${CAPTION_EXTENSION}`),
  };
}

function notFound(what: string, where: string, datasetDir: string): LorasmithError {
  return new LorasmithError({
    code: 'dataset-entry-not-found',
    message: `The ${what} ${JSON.stringify(where)} is not in the dataset at ${datasetDir}.`,
    hint: `Check the name; subsets are the folders of the dataset, images are .png, .jpg, .jpeg or .webp files inside them.`,
    status: 404,
  });
}

async function datasetRoot(datasetDir: string): Promise<string> {
  try {
    return await realpath(datasetDir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') throw notFound('dataset folder', datasetDir, datasetDir);
    throw error;
  }
}

async function subsetNames(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort(compareCodePoints);
}

/** A user-named subset: one plain folder name, resolved inside the dataset. */
async function subsetDir(root: string, subset: string): Promise<string> {
  const segments = splitRelativePath(subset, 'subset name');
  if (segments.length !== 1 || subset.startsWith('.')) throw notFound('subset', subset, root);
  const dir = await resolveInside({ root, input: subset, what: 'subset name' });
  const stats = await lstat(dir).catch(() => undefined);
  if (stats?.isDirectory() !== true) throw notFound('subset', subset, root);
  return dir;
}

/** Every image of the scope, subsets in code-point order, images in code-point order within each. */
export async function listDatasetImages(scope: DatasetScope): Promise<DatasetImage[]> {
  const root = await datasetRoot(scope.datasetDir);
  const subsets = scope.subset === undefined ? await subsetNames(root) : [scope.subset];
  const images: DatasetImage[] = [];
  for (const subset of subsets) {
    const dir = await subsetDir(root, subset);
    const entries = await readdir(dir, { withFileTypes: true });
    const names = entries.filter((entry) => entry.isFile() && isImageName(entry.name)).map((entry) => entry.name);
    for (const name of names.sort(compareCodePoints)) images.push(entryFor(subset, name, dir));
  }
  return images;
}

/** A user-named image `<subset>/<file>`: refused unless it is an image file directly inside a subset. */
export async function resolveDatasetImage(params: { datasetDir: string; image: string }): Promise<DatasetImage> {
  const segments = splitRelativePath(params.image, 'image path');
  const [subset, name] = segments;
  if (segments.length !== 2 || subset === undefined || name === undefined || subset.startsWith('.') || !isImageName(name)) {
    throw notFound('image', params.image, params.datasetDir);
  }
  const dir = await subsetDir(await datasetRoot(params.datasetDir), subset);
  const found = entryFor(subset, name, dir);
  const stats = await lstat(found.imagePath).catch(() => undefined);
  if (stats?.isFile() !== true) throw notFound('image', params.image, params.datasetDir);
  return found;
}
