import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readlink, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../../core/errors.ts';
import { kohyaRunLayout, subsetLinkDir } from './layout.ts';
import { linkSubsetImages, type LinkSubsetInput } from './link-images.ts';

let root: string;
let dataset: string;
let workDir: string;
let layout: ReturnType<typeof kohyaRunLayout>;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isLorasmithError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a LorasmithError');
}

function subset(name: string, extra: Partial<LinkSubsetInput> = {}): LinkSubsetInput {
  return { datasetIndex: 0, name, sourceDir: path.join(dataset, name), linkDir: subsetLinkDir(layout, 0, name), captionExtension: '.txt', ...extra };
}

beforeEach(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'lorasmith-kohya-links-')));
  dataset = path.join(root, 'datasets', 'char');
  layout = kohyaRunLayout(path.join(root, 'runs', 'job-1'));
  workDir = layout.workDir;
  await mkdir(workDir, { recursive: true });
  const chars = path.join(dataset, 'character');
  await mkdir(path.join(chars, 'nested'), { recursive: true });
  await writeFile(path.join(chars, 'a.png'), 'png-a');
  await writeFile(path.join(chars, 'a.txt'), 'sks woman, smiling');
  await writeFile(path.join(chars, 'b.JPG'), 'jpg-b');
  await writeFile(path.join(chars, 'b.txt'), 'sks woman');
  await writeFile(path.join(chars, 'c.webp'), 'webp-c');
  await writeFile(path.join(chars, 'notes.md'), 'not an image');
  await writeFile(path.join(chars, '.hidden.png'), 'dotfile');
  await writeFile(path.join(chars, 'odd.Png'), 'mixed case: sd-scripts does not see it');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('linkSubsetImages', () => {
  it('links each image and its caption by absolute path, names kept, into the subset folder inside work/', async () => {
    const result = await linkSubsetImages([subset('character')], { workDir });
    const linkDir = subsetLinkDir(layout, 0, 'character');
    expect(result.subsets).toEqual([{ datasetIndex: 0, name: 'character', linkDir, sourceDir: path.join(dataset, 'character'), images: 3, captions: 2, uncaptioned: ['c.webp'] }]);
    expect(result.readOnlyPaths).toEqual([path.join(dataset, 'character')]);
    expect((await readdir(linkDir)).sort()).toEqual(['a.png', 'a.txt', 'b.JPG', 'b.txt', 'c.webp']);
    for (const name of ['a.png', 'a.txt', 'b.JPG']) {
      const link = path.join(linkDir, name);
      expect((await lstat(link)).isSymbolicLink()).toBe(true);
      const target = await readlink(link);
      expect(path.isAbsolute(target)).toBe(true);
      expect(target).toBe(path.join(dataset, 'character', name));
    }
    expect(await readFile(path.join(linkDir, 'a.txt'), 'utf8')).toBe('sks woman, smiling');
    // A cache file sd-scripts writes next to the listed image lands in work/, not in the dataset.
    await writeFile(path.join(linkDir, 'a_1024x1024_sdxl.npz'), 'cache');
    expect(await readdir(path.join(dataset, 'character'))).not.toContain('a_1024x1024_sdxl.npz');
  });

  it('links only the listed files when the subset names them, and is idempotent', async () => {
    const input = subset('character', { files: ['b.JPG'] });
    const first = await linkSubsetImages([input], { workDir });
    expect(first.subsets[0]).toMatchObject({ images: 1, captions: 1, uncaptioned: [] });
    await expect(linkSubsetImages([input], { workDir })).resolves.toMatchObject({ subsets: [{ images: 1 }] });
    expect((await readdir(input.linkDir)).sort()).toEqual(['b.JPG', 'b.txt']);
  });

  it('resolves a symlinked dataset folder so link targets use its real path', async () => {
    await symlink(path.join(dataset, 'character'), path.join(root, 'alias'));
    const result = await linkSubsetImages([subset('character', { sourceDir: path.join(root, 'alias') })], { workDir });
    expect(result.readOnlyPaths).toEqual([path.join(dataset, 'character')]);
    expect(await readlink(path.join(result.subsets[0]?.linkDir ?? '', 'a.png'))).toBe(path.join(dataset, 'character', 'a.png'));
  });

  it('refuses an image that is a symlink, even to a file inside the dataset', async () => {
    await symlink(path.join(dataset, 'character', 'a.png'), path.join(dataset, 'character', 'd.png'));
    expect(await codeOf(linkSubsetImages([subset('character')], { workDir }))).toBe('kohya-link-refused');
  });

  it('refuses a symlink to a file outside, a folder named like an image, a FIFO and a symlinked caption', async () => {
    const chars = path.join(dataset, 'character');
    await writeFile(path.join(root, 'secret.png'), 'outside');
    await symlink(path.join(root, 'secret.png'), path.join(chars, 'x.png'));
    expect(await codeOf(linkSubsetImages([subset('character')], { workDir }))).toBe('kohya-link-refused');
    await rm(path.join(chars, 'x.png'));

    await mkdir(path.join(chars, 'folder.png'));
    expect(await codeOf(linkSubsetImages([subset('character')], { workDir }))).toBe('kohya-link-refused');
    await rm(path.join(chars, 'folder.png'), { recursive: true });

    execFileSync('mkfifo', [path.join(chars, 'pipe.png')]);
    expect(await codeOf(linkSubsetImages([subset('character')], { workDir }))).toBe('kohya-link-refused');
    await rm(path.join(chars, 'pipe.png'));

    await rm(path.join(chars, 'c.webp'));
    await writeFile(path.join(root, 'c.txt'), 'outside caption');
    await writeFile(path.join(chars, 'c.webp'), 'webp-c');
    await symlink(path.join(root, 'c.txt'), path.join(chars, 'c.txt'));
    expect(await codeOf(linkSubsetImages([subset('character')], { workDir }))).toBe('kohya-link-refused');
  });

  it('refuses an empty caption, an empty subset, listed files that are missing or unreadable by sd-scripts, and bad names', async () => {
    await writeFile(path.join(dataset, 'character', 'c.txt'), '');
    expect(await codeOf(linkSubsetImages([subset('character')], { workDir }))).toBe('kohya-caption-empty');
    await mkdir(path.join(dataset, 'empty'));
    expect(await codeOf(linkSubsetImages([subset('empty')], { workDir }))).toBe('kohya-subset-empty');
    expect(await codeOf(linkSubsetImages([subset('character', { files: ['zzz.png'] })], { workDir }))).toBe('kohya-image-missing');
    expect(await codeOf(linkSubsetImages([subset('character', { files: ['odd.Png'] })], { workDir }))).toBe('kohya-image-unsupported');
    expect(await codeOf(linkSubsetImages([subset('character', { files: ['../x.png'] })], { workDir }))).toBe('kohya-link-refused');
    expect(await codeOf(linkSubsetImages([subset('nope')], { workDir }))).toBe('kohya-dataset-missing');
  });

  it('refuses a link folder outside work/, and a planted symlink inside work/', async () => {
    expect(await codeOf(linkSubsetImages([subset('character', { linkDir: path.join(root, 'elsewhere') })], { workDir }))).toBe('kohya-link-refused');
    await mkdir(path.join(root, 'outside'));
    await symlink(path.join(root, 'outside'), layout.imagesDir);
    expect(await codeOf(linkSubsetImages([subset('character')], { workDir }))).toBe('kohya-link-refused');
    expect(await readdir(path.join(root, 'outside'))).toEqual([]);
  });

  it('refuses to overwrite something else at a link name', async () => {
    const linkDir = subsetLinkDir(layout, 0, 'character');
    await mkdir(linkDir, { recursive: true });
    await writeFile(path.join(linkDir, 'a.png'), 'engine wrote this');
    expect(await codeOf(linkSubsetImages([subset('character')], { workDir }))).toBe('kohya-link-conflict');
  });
});
