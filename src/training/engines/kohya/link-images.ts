/**
 * Per-run image folders (DESIGN.md §3, kohya-sd-scripts.md §2.2): sd-scripts writes its latent and
 * text-encoder caches next to each image path it lists, never resolving symlinks, and looks for captions
 * there too. So each subset's `image_dir` is a folder in `<run>/work/images/` holding absolute symlinks to
 * the read-only dataset images and their captions (names kept); the caches land in the run, and the sandbox
 * binds the dataset read-only at the same absolute path so the links resolve.
 *
 * Only regular files are linked: a symlink, folder, FIFO or device where an image or caption is expected
 * is refused, so a link can never lead the engine outside the dataset.
 */
import { lstat, mkdir, readdir, readlink, realpath, symlink } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError, errnoCode } from '../../../core/errors.ts';

/** sd-scripts' image extensions: all lower- or all upper-case only (`library/train_util.py:104`). */
export const KOHYA_IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.bmp'].flatMap((ext) => [ext, ext.toUpperCase()]);

export interface LinkSubsetInput {
  datasetIndex: number;
  name: string;
  /** Absolute dataset folder (read-only). */
  sourceDir: string;
  /** The per-run link folder, inside `workDir`. */
  linkDir: string;
  /** Image names to link; every image of the folder when absent. */
  files?: string[];
  /** With the dot, e.g. `.txt`. */
  captionExtension: string;
}

export interface LinkedSubset {
  datasetIndex: number;
  name: string;
  linkDir: string;
  /** The dataset folder after resolving symlinks: link targets start with it. */
  sourceDir: string;
  images: number;
  captions: number;
  /** Images without a caption file (sd-scripts uses class_tokens, or an empty caption with a warning). */
  uncaptioned: string[];
}

export interface LinkImagesResult {
  subsets: LinkedSubset[];
  /** Dataset folders the sandbox must bind read-only at the same path. */
  readOnlyPaths: string[];
}

function refuse(code: string, message: string, hint: string, details?: Record<string, unknown>): LorasmithError {
  return new LorasmithError({ code, message, hint, exitCode: 2, status: 400, ...(details === undefined ? {} : { details }) });
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

function isImageName(name: string): boolean {
  return !name.startsWith('.') && KOHYA_IMAGE_EXTENSIONS.includes(path.extname(name));
}

/** `os.path.splitext(name)[0]` */
function stem(name: string): string {
  const ext = path.extname(name);
  return ext === '' ? name : name.slice(0, -ext.length);
}

/**
 * Create `dir` under `root` one level at a time, refusing any level that is not a plain directory: work/ is
 * engine-writable, so a planted symlink there must never be followed (not even by mkdir).
 */
async function makeRealDir(root: string, dir: string): Promise<void> {
  let current = root;
  for (const segment of path.relative(root, dir).split(path.sep)) {
    current = path.join(current, segment);
    try {
      await mkdir(current);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
    const info = await lstat(current);
    if (!info.isDirectory() || info.isSymbolicLink()) {
      throw refuse('kohya-link-refused', `The run folder ${current} is not a plain directory.`, 'Something replaced part of the run folder; start a new run.', { path: current });
    }
  }
}

async function regularFile(file: string, what: string, subset: string): Promise<{ size: number } | undefined> {
  let info;
  try {
    info = await lstat(file);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  if (!info.isFile()) {
    const kind = info.isSymbolicLink() ? 'a symbolic link' : info.isDirectory() ? 'a folder' : 'not a regular file';
    throw refuse('kohya-link-refused', `The ${what} ${file} of subset "${subset}" is ${kind}; only regular files are used for training.`, 'Replace it with a regular file, or remove it from the dataset.', { path: file });
  }
  return { size: info.size };
}

/** Link `target` at `link`, or accept an existing link to the same target (a repeated prepare). */
async function linkOnce(target: string, link: string): Promise<void> {
  try {
    await symlink(target, link);
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
    const info = await lstat(link);
    if (!info.isSymbolicLink() || (await readlink(link)) !== target) {
      throw refuse('kohya-link-conflict', `${link} already exists and is not the expected link.`, 'Start a new run; a run folder is never reused for other data.', { path: link });
    }
  }
}

/** Build every subset's link folder. Returns counts per subset and the dataset folders to bind read-only. */
export async function linkSubsetImages(subsets: readonly LinkSubsetInput[], options: { workDir: string }): Promise<LinkImagesResult> {
  const workDir = path.resolve(options.workDir);
  const result: LinkedSubset[] = [];
  const sources = new Set<string>();
  for (const subset of subsets) {
    const linkDir = path.resolve(subset.linkDir);
    if (!isInside(workDir, linkDir)) throw refuse('kohya-link-refused', `The link folder ${linkDir} is not inside the run's work folder.`, 'This is a bug in lorasmith; please report it.');
    if (!path.isAbsolute(subset.sourceDir)) throw refuse('kohya-link-refused', `The dataset folder ${subset.sourceDir} is not an absolute path.`, 'Pass the dataset folder as an absolute path.');
    let sourceDir: string;
    try {
      sourceDir = await realpath(subset.sourceDir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') throw refuse('kohya-dataset-missing', `The dataset folder ${subset.sourceDir} of subset "${subset.name}" does not exist.`, 'Check the dataset; it may have been moved or deleted.');
      throw error;
    }
    if (!(await lstat(sourceDir)).isDirectory()) throw refuse('kohya-dataset-missing', `${subset.sourceDir} is not a folder.`, 'Point the subset at its dataset folder.');
    if (isInside(sourceDir, workDir) || isInside(workDir, sourceDir) || sourceDir === workDir) {
      throw refuse('kohya-link-refused', `The dataset folder ${sourceDir} overlaps the run's work folder.`, 'Datasets live outside run folders.');
    }

    let names: string[];
    if (subset.files !== undefined) {
      names = [...new Set(subset.files)];
      for (const name of names) {
        if (name.includes('/') || name.includes('\0') || name === '.' || name === '..' || name.length === 0) {
          throw refuse('kohya-link-refused', `The image name ${JSON.stringify(name)} of subset "${subset.name}" is not a plain file name.`, 'List images by their file names inside the subset folder.');
        }
        if (!isImageName(name)) {
          throw refuse('kohya-image-unsupported', `${name} in subset "${subset.name}" does not have an extension sd-scripts reads (${KOHYA_IMAGE_EXTENSIONS.join(' ')}).`, 'Convert the image, or rename its extension to all lower case.');
        }
      }
    } else {
      names = (await readdir(sourceDir)).filter(isImageName);
    }
    names.sort();
    if (names.length === 0) {
      throw refuse('kohya-subset-empty', `Subset "${subset.name}" has no images sd-scripts can read in ${sourceDir}.`, `Add images (${KOHYA_IMAGE_EXTENSIONS.filter((e) => e === e.toLowerCase()).join(' ')}), or remove the subset.`);
    }

    await makeRealDir(workDir, linkDir);
    let captions = 0;
    const uncaptioned: string[] = [];
    const captionNames = new Set<string>();
    for (const name of names) {
      const image = path.join(sourceDir, name);
      if ((await regularFile(image, 'image', subset.name)) === undefined) {
        throw refuse('kohya-image-missing', `The image ${image} of subset "${subset.name}" does not exist.`, 'Check the dataset; the file may have been removed.', { path: image });
      }
      await linkOnce(image, path.join(linkDir, name));
      const captionName = `${stem(name)}${subset.captionExtension}`;
      if (captionNames.has(captionName)) continue;
      const caption = path.join(sourceDir, captionName);
      const info = await regularFile(caption, 'caption', subset.name);
      if (info === undefined) {
        uncaptioned.push(name);
        continue;
      }
      if (info.size === 0) {
        throw refuse('kohya-caption-empty', `The caption ${caption} is empty; sd-scripts stops on an empty caption file.`, 'Write a caption, or delete the empty file to train with the class tokens.', { path: caption });
      }
      captionNames.add(captionName);
      await linkOnce(caption, path.join(linkDir, captionName));
      captions++;
    }
    sources.add(sourceDir);
    result.push({ datasetIndex: subset.datasetIndex, name: subset.name, linkDir, sourceDir, images: names.length, captions, uncaptioned });
  }
  return { subsets: result, readOnlyPaths: [...sources] };
}
