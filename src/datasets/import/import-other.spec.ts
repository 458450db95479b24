import { mkdir, mkdtemp, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CompletedUpload } from '../../uploads/upload-service.ts';
import { buildTestZip } from '../../formats/zip/testing.ts';
import { bmpImage, isoImage, jpegImage, pngImage } from '../images/testing.ts';
import { createDataset } from '../store/create-dataset.ts';
import { readDatasetMeta } from '../store/meta.ts';
import { importCaptions } from './import-captions.ts';
import { importFolder } from './import-folder.ts';
import { DEFAULT_DATASET_IMPORT_LIMITS as limits } from './import-limits.ts';
import { importUploadedImage, importUploadedZip } from './import-uploads.ts';
import { parseCaptionList } from './parse-caption-list.ts';

let root: string;
let datasetsRoot: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lorasmith-import-'));
  datasetsRoot = path.join(root, 'datasets');
  await mkdir(datasetsRoot);
});

const storeContents = async () => (await readdir(datasetsRoot, { recursive: true })).filter((entry) => entry !== '.staging').sort();

async function upload(name: string, data: Uint8Array | string, kind: CompletedUpload['kind'] = 'image'): Promise<CompletedUpload> {
  const file = path.join(root, `${name}.part`);
  await writeFile(file, data);
  return { id: 'u1', owner: 'o', name, kind, size: data.length, sha256: '0'.repeat(64), file, target: null };
}

describe('importFolder', () => {
  it('imports like an archive, reporting links and junk, never following a link', async () => {
    const folder = path.join(root, 'photos');
    await mkdir(path.join(folder, '5_ohwx cat'), { recursive: true });
    await writeFile(path.join(folder, '5_ohwx cat', 'a.PNG'), await pngImage());
    await writeFile(path.join(folder, '5_ohwx cat', 'a.txt'), 'ohwx cat');
    await writeFile(path.join(folder, '.DS_Store'), 'junk');
    await writeFile(path.join(root, 'outside.png'), await pngImage());
    await symlink(path.join(root, 'outside.png'), path.join(folder, '5_ohwx cat', 'link.png'));
    const report = await importFolder({ folderPath: folder, datasetsRoot, name: 'cats', limits });
    expect(report.images.map((i) => `${i.subset}/${i.file}:${i.caption}`)).toEqual(['5_ohwx cat/a.png:true']);
    expect(report.subsets).toEqual([{ name: '5_ohwx cat', repeats: 5, classTokens: 'ohwx cat', imageCount: 1 }]);
    expect(report.skipped.map((s) => [s.path, s.reason])).toEqual(
      expect.arrayContaining([
        ['5_ohwx cat/link.png', 'a symbolic link (links are not followed)'],
        ['.DS_Store', expect.stringMatching(/operating-system/)],
      ]),
    );
  });

  it('refuses a file name with a control character, leaving nothing behind', async () => {
    const folder = path.join(root, 'photos');
    await mkdir(folder);
    await writeFile(path.join(folder, 'a.png'), await pngImage());
    await writeFile(path.join(folder, 'b\u0007.png'), await pngImage());
    await expect(importFolder({ folderPath: folder, datasetsRoot, name: 'x', limits })).rejects.toMatchObject({ code: 'archive.entry_name' });
    expect(await storeContents()).toEqual([]);
  });

  it('refuses a folder given as a symlink', async () => {
    await mkdir(path.join(root, 'real'));
    await symlink(path.join(root, 'real'), path.join(root, 'alias'));
    await expect(importFolder({ folderPath: path.join(root, 'alias'), datasetsRoot, name: 'x', limits })).rejects.toMatchObject({ code: 'folder-not-found' });
  });
});

describe('upload pipelines', () => {
  it('importUploadedZip imports and removes the upload, also when refused', async () => {
    const good = await upload('set.zip', buildTestZip({ entries: [{ name: 'a.png', data: await pngImage() }] }), 'zip');
    const report = await importUploadedZip({ uploadedFile: good.file, datasetsRoot, name: 'set', limits });
    expect(report.images).toHaveLength(1);
    await expect(readFile(good.file)).rejects.toMatchObject({ code: 'ENOENT' });
    const bad = await upload('bad.zip', buildTestZip({ entries: [{ name: '../x', data: 'x' }] }), 'zip');
    await expect(importUploadedZip({ uploadedFile: bad.file, datasetsRoot, name: 'bad', limits })).rejects.toMatchObject({ code: 'archive.entry_name' });
    await expect(readFile(bad.file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('importUploadedImage adds an image to a subset, converting by content', async () => {
    await createDataset({ datasetsRoot, name: 'ds' });
    const added = await importUploadedImage({ upload: await upload('scan.BMP', bmpImage(5, 4)), datasetsRoot, dataset: 'ds', subset: '3_sks dog', limits });
    expect(added).toMatchObject({ subset: '3_sks dog', file: 'scan.png', format: 'png', width: 5, height: 4, reencoded: true, caption: false });
    expect((await readDatasetMeta(path.join(datasetsRoot, 'ds'))).subsets).toEqual([{ name: '3_sks dog', repeats: 3, classTokens: 'sks dog', isReg: false, captionExtension: '.txt' }]);
    expect(await readdir(path.join(datasetsRoot, 'ds', '.lorasmith', 'thumbs', '3_sks dog'))).toEqual(['scan.webp']);
  });

  it('importUploadedImage refuses a stem collision, an undecodable HEIC, and a locked dataset', async () => {
    await createDataset({ datasetsRoot, name: 'ds' });
    await importUploadedImage({ upload: await upload('c.png', await pngImage()), datasetsRoot, dataset: 'ds', limits });
    await expect(importUploadedImage({ upload: await upload('c.gif', await jpegImage()), datasetsRoot, dataset: 'ds', limits })).rejects.toMatchObject({ code: 'image-name-collision' });
    const heic = importUploadedImage({ upload: await upload('p.heic', isoImage('heic', 8, 8)), datasetsRoot, dataset: 'ds', limits });
    await expect(heic).rejects.toMatchObject({ code: 'image-refused', message: expect.stringMatching(/HEIC.*Accepted:/) });
    const locked = importUploadedImage({ upload: await upload('d.png', await pngImage()), datasetsRoot, dataset: 'ds', limits, isLocked: () => 'job 7 is training on it' });
    await expect(locked).rejects.toMatchObject({ code: 'dataset-locked', message: expect.stringMatching(/job 7 is training on it/) });
    expect(await readdir(path.join(datasetsRoot, 'ds', 'main'))).toEqual(['c.png']);
  });
});

describe('caption lists', () => {
  it('parses CSV with quoting and JSONL, rejecting unknown keys', () => {
    expect(parseCaptionList({ format: 'csv', text: 'file,caption\na.png,"sks dog, ""good"" boy"\r\nb.png,"two\nlines"\n' })).toEqual([
      { line: 2, file: 'a.png', text: 'sks dog, "good" boy' },
      { line: 3, file: 'b.png', text: 'two\nlines' },
    ]);
    expect(parseCaptionList({ format: 'jsonl', text: '{"file":"a.png","text":"x"}\n\n' })).toEqual([{ line: 1, file: 'a.png', text: 'x' }]);
    expect(() => parseCaptionList({ format: 'jsonl', text: '{"file":"a.png","text":"x","__proto__":{"p":1}}' })).toThrow(expect.objectContaining({ code: 'caption-list-invalid' }));
    expect(() => parseCaptionList({ format: 'csv', text: 'name,text\na,b' })).toThrow(expect.objectContaining({ code: 'caption-list-invalid' }));
  });

  it('writes captions next to matching images and reports the rest', async () => {
    await createDataset({ datasetsRoot, name: 'ds' });
    await importUploadedImage({ upload: await upload('a.png', await pngImage()), datasetsRoot, dataset: 'ds', limits });
    await importUploadedImage({ upload: await upload('b.png', await pngImage()), datasetsRoot, dataset: 'ds', subset: 'extra', limits });
    const list = path.join(root, 'captions.jsonl');
    await writeFile(list, ['{"file":"A.PNG","text":"first"}', '{"file":"extra/b.png","text":"second"}', '{"file":"missing.png","text":"x"}'].join('\n'));
    const result = await importCaptions({ datasetsRoot, name: 'ds', listPath: list, format: 'jsonl', limits });
    expect(result.written).toEqual([
      { subset: 'main', image: 'a.png', caption: 'a.txt' },
      { subset: 'extra', image: 'b.png', caption: 'b.txt' },
    ]);
    expect(result.skipped).toEqual([{ path: 'line 3: missing.png', reason: 'no image of the dataset has this name' }]);
    expect(await readFile(path.join(datasetsRoot, 'ds', 'main', 'a.txt'), 'utf8')).toBe('first');
    await writeFile(list, '{"file":"../a.png","text":"x"}');
    await expect(importCaptions({ datasetsRoot, name: 'ds', listPath: list, format: 'jsonl', limits })).rejects.toMatchObject({ code: 'archive.entry_name' });
  });
});
