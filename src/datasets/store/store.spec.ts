import { mkdir, mkdtemp, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { jpegImage, pngImage } from '../images/testing.ts';
import { createDataset } from './create-dataset.ts';
import { deleteDataset } from './delete-dataset.ts';
import { listDatasets } from './list-datasets.ts';
import { readDatasetMeta } from './meta.ts';
import { checkDatasetName, checkSubsetName, parseKohyaFolderName } from './names.ts';
import { makeDirInside } from './new-files.ts';
import { renameDataset } from './rename-dataset.ts';
import { setSubset } from './set-subset.ts';
import { showDataset } from './show-dataset.ts';

let datasetsRoot: string;
beforeEach(async () => {
  datasetsRoot = path.join(await mkdtemp(path.join(os.tmpdir(), 'lorasmith-store-')), 'datasets');
  await mkdir(datasetsRoot);
});

describe('names', () => {
  it.each(['dog', 'my-dog_v2.1', 'A1'])('accepts dataset name %j', (name) => expect(checkDatasetName(name)).toBe(name));
  it.each(['', '.hidden', '-flag', 'a b', 'a/b', '..', 'con', 'CON.txt', 'x'.repeat(65), 'é', 'a\u0000'])('refuses dataset name %j', (name) => {
    expect(() => checkDatasetName(name)).toThrow(expect.objectContaining({ code: 'dataset-name-invalid' }));
  });
  it.each(['10_sks dog', 'main', 'Hund (Bello)', '犬'])('accepts subset name %j', (name) => expect(checkSubsetName(name)).toBe(name));
  it.each(['.lorasmith', 'a/b', 'trailing.', 'lpt1', 'e\u0301', 'x\u202e'])('refuses subset name %j', (name) => {
    expect(() => checkSubsetName(name)).toThrow(expect.objectContaining({ code: 'subset-name-invalid' }));
  });
  it('parses kohya N_class folder names', () => {
    expect(parseKohyaFolderName('10_sks dog')).toEqual({ repeats: 10, classTokens: 'sks dog' });
    expect(parseKohyaFolderName('10')).toEqual({ repeats: 10, classTokens: '' });
    expect(parseKohyaFolderName('3_a_b')).toEqual({ repeats: 3, classTokens: 'a_b' });
    expect(parseKohyaFolderName('0_x')).toBeUndefined();
    expect(parseKohyaFolderName('dogs')).toBeUndefined();
  });
});

describe('dataset store', () => {
  it('creates, lists, shows, renames and deletes', async () => {
    await createDataset({ datasetsRoot, name: 'dogs', now: new Date('2026-01-02T03:04:05Z') });
    await expect(createDataset({ datasetsRoot, name: 'dogs' })).rejects.toMatchObject({ code: 'dataset-exists' });
    await setSubset({ datasetsRoot, name: 'dogs', subset: '10_sks dog', meta: { repeats: 10, classTokens: 'sks dog' } });
    const subsetDir = path.join(datasetsRoot, 'dogs', '10_sks dog');
    await writeFile(path.join(subsetDir, 'a.png'), await pngImage(20, 10));
    await writeFile(path.join(subsetDir, 'a.txt'), 'caption');
    await writeFile(path.join(subsetDir, 'b.jpg'), await jpegImage(30, 40));
    await writeFile(path.join(subsetDir, 'notes.md'), 'not an image');
    await mkdir(path.join(datasetsRoot, '.staging'));

    const [summary] = await listDatasets({ datasetsRoot });
    expect(summary).toEqual({
      name: 'dogs',
      createdAt: '2026-01-02T03:04:05.000Z',
      subsets: [{ name: '10_sks dog', repeats: 10, classTokens: 'sks dog', isReg: false, captionExtension: '.txt', imageCount: 2 }],
      imageCount: 2,
    });
    const shown = await showDataset({ datasetsRoot, name: 'dogs' });
    expect(shown.images).toEqual([
      { subset: '10_sks dog', file: 'a.png', format: 'png', width: 20, height: 10, caption: true },
      { subset: '10_sks dog', file: 'b.jpg', format: 'jpeg', width: 30, height: 40, caption: false },
    ]);

    await createDataset({ datasetsRoot, name: 'cats' });
    await expect(renameDataset({ datasetsRoot, name: 'dogs', newName: 'cats' })).rejects.toMatchObject({ code: 'dataset-exists' });
    await renameDataset({ datasetsRoot, name: 'dogs', newName: 'hounds' });
    await deleteDataset({ datasetsRoot, name: 'cats' });
    expect((await listDatasets({ datasetsRoot })).map((d) => d.name)).toEqual(['hounds']);
    expect(await readdir(path.join(datasetsRoot, '.staging'))).toEqual([]);
    await expect(showDataset({ datasetsRoot, name: 'dogs' })).rejects.toMatchObject({ code: 'dataset-not-found' });
  });

  it('refuses edits of a locked dataset with the reason', async () => {
    await createDataset({ datasetsRoot, name: 'dogs' });
    const isLocked = (name: string) => (name === 'dogs' ? 'job 3 uses it' : undefined);
    // Started one at a time: a rejection created before it is awaited would be reported as unhandled.
    for (const attempt of [
      () => renameDataset({ datasetsRoot, name: 'dogs', newName: 'x', isLocked }),
      () => deleteDataset({ datasetsRoot, name: 'dogs', isLocked }),
      () => setSubset({ datasetsRoot, name: 'dogs', subset: 'main', meta: { isReg: true }, isLocked: async () => 'job 3 uses it' }),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'dataset-locked', message: expect.stringMatching(/job 3 uses it/) });
    }
    expect(await readdir(path.join(datasetsRoot, 'dogs'))).toEqual(['.lorasmith']);
  });

  it('keeps subset metadata in .lorasmith/meta.json and validates it', async () => {
    await createDataset({ datasetsRoot, name: 'dogs' });
    await setSubset({ datasetsRoot, name: 'dogs', subset: 'reg', meta: { isReg: true } });
    await setSubset({ datasetsRoot, name: 'dogs', subset: 'reg', meta: { repeats: 2 } });
    const meta = await readDatasetMeta(path.join(datasetsRoot, 'dogs'));
    expect(meta.subsets).toEqual([{ name: 'reg', repeats: 2, classTokens: '', isReg: true, captionExtension: '.txt' }]);
    await expect(setSubset({ datasetsRoot, name: 'dogs', subset: 'reg', meta: { repeats: 0 } })).rejects.toThrow();
    const file = path.join(datasetsRoot, 'dogs', '.lorasmith', 'meta.json');
    await writeFile(file, JSON.stringify({ ...meta, extra: 1 }));
    await expect(readDatasetMeta(path.join(datasetsRoot, 'dogs'))).rejects.toMatchObject({ code: 'dataset-meta-invalid' });
    expect(JSON.parse(await readFile(file, 'utf8'))).toHaveProperty('extra');
  });

  it('makeDirInside refuses a symlink planted where a folder goes (ARC-A05)', async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), 'lorasmith-outside-'));
    await symlink(outside, path.join(datasetsRoot, 'planted'));
    await expect(makeDirInside({ root: datasetsRoot, segments: ['planted', 'sub'] })).rejects.toMatchObject({ code: 'path-refused' });
    expect(await readdir(outside)).toEqual([]);
  });
});
