import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { buildTestZip } from '../../formats/zip/testing.ts';
import type { TestZipEntry } from '../../formats/zip/testing.ts';
import { animatedGif, avifImage, bmpImage, isoImage, jpegImage, pngImage, tiffImage } from '../images/testing.ts';
import { readDatasetMeta } from '../store/meta.ts';
import { showDataset } from '../store/show-dataset.ts';
import { DEFAULT_DATASET_IMPORT_LIMITS } from './import-limits.ts';
import { importZip } from './import-zip.ts';

let root: string;
let datasetsRoot: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'lorasmith-import-zip-'));
  datasetsRoot = path.join(root, 'datasets');
  await mkdir(datasetsRoot);
});

async function runImport(entries: TestZipEntry[], name = 'ds') {
  const zipPath = path.join(root, 'upload.zip');
  await writeFile(zipPath, buildTestZip({ entries }));
  return importZip({ zipPath, datasetsRoot, name, limits: DEFAULT_DATASET_IMPORT_LIMITS, concurrency: 2 });
}

/** Everything under datasets/ apart from the empty staging folder. */
async function storeContents(): Promise<string[]> {
  const entries = await readdir(datasetsRoot, { recursive: true });
  return entries.filter((entry) => entry !== '.staging').sort();
}

async function refusal(entries: TestZipEntry[]): Promise<{ code: string; message: string }> {
  try {
    await runImport(entries);
  } catch (error) {
    if (!isLorasmithError(error)) throw error;
    expect(await storeContents()).toEqual([]);
    return { code: error.code, message: error.message };
  }
  throw new Error('the import was accepted');
}

const arcR06Entries = async (): Promise<TestZipEntry[]> => [
  { name: 'a.png', data: await pngImage(), method: 0 },
  { name: 'a.txt', data: 'sks dog, grass' },
  { name: '__MACOSX/._a.png', data: 'apple double' },
  { name: '.DS_Store', data: 'finder' },
  { name: 'Thumbs.db', data: 'windows' },
  { name: 'desktop.ini', data: '[.ShellClassInfo]' },
  { name: 'notes.pdf', data: '%PDF-1.4 notes' },
  { name: 'inner.zip', data: buildTestZip({ entries: [{ name: 'x.png', data: 'x' }] }), method: 0 },
  { name: 'bad.png', data: 'this is text, not a png' },
];

describe('importZip: the ARC-R06 archive', () => {
  it('imports a.png with its caption into subset main and reports the other seven', async () => {
    const report = await runImport(await arcR06Entries());
    expect(report.images).toEqual([
      { subset: 'main', file: 'a.png', source: 'a.png', format: 'png', width: 32, height: 24, caption: true, reencoded: false },
    ]);
    expect(report.subsets).toEqual([{ name: 'main', repeats: 1, classTokens: '', imageCount: 1 }]);
    expect(report.skipped.map((s) => s.path).sort()).toEqual(['.DS_Store', 'Thumbs.db', '__MACOSX/._a.png', 'bad.png', 'desktop.ini', 'inner.zip', 'notes.pdf']);
    for (const skipped of report.skipped) expect(skipped.reason.length).toBeGreaterThan(10);
    expect(report.skipped.find((s) => s.path === 'inner.zip')?.reason).toMatch(/nested archive/);
    expect(report.skipped.find((s) => s.path === 'bad.png')?.reason).toMatch(/unrecognised format.*Accepted:/);
    const dir = path.join(datasetsRoot, 'ds');
    expect((await readdir(dir, { recursive: true })).sort()).toEqual(['.lorasmith', '.lorasmith/meta.json', '.lorasmith/thumbs', '.lorasmith/thumbs/main', '.lorasmith/thumbs/main/a.webp', 'main', 'main/a.png', 'main/a.txt']);
    expect(await readFile(path.join(dir, 'main', 'a.txt'), 'utf8')).toBe('sks dog, grass');
    expect((await readdir(path.join(datasetsRoot, '.staging'))).length).toBe(0);
  });

  it('refuses the whole import when the same zip also holds ../x, leaving nothing behind', async () => {
    const refused = await refusal([...(await arcR06Entries()), { name: '../x', data: 'escape' }]);
    expect(refused.code).toBe('archive.entry_name');
    expect(refused.message).toMatch(/"\.\.\/x"/);
  });

  it('refuses a zip with only bad.png and notes.pdf (no valid image)', async () => {
    const refused = await refusal([
      { name: 'bad.png', data: 'this is text, not a png' },
      { name: 'notes.pdf', data: '%PDF-1.4 notes' },
    ]);
    expect(refused.code).toBe('dataset-import-empty');
  });

  it('refuses c.gif next to c.png (the stems collide after conversion)', async () => {
    const refused = await refusal([
      { name: 'c.png', data: await pngImage() },
      { name: 'c.gif', data: await animatedGif() },
    ]);
    expect(refused.code).toBe('dataset-import-collision');
  });

  it('refuses an archive with a symlink entry, a bad CRC or a lying size, leaving nothing behind', async () => {
    const png = await pngImage();
    expect((await refusal([{ name: 'a.png', data: png }, { name: 'link', data: '/etc', unixMode: 0o120777 }])).code).toBe('archive.entry_type');
    expect((await refusal([{ name: 'a.png', data: png }, { name: 'b.png', data: png, crc32: 7 }])).code).toBe('archive.crc_mismatch');
    expect((await refusal([{ name: 'a.png', data: png }, { name: 'notes.pdf', data: 'x'.repeat(50), declaredSize: 10 }])).code).toBe('archive.size_mismatch');
  });
});

describe('importZip: layout and conversions', () => {
  it('maps kohya folders to subsets with repeats and class tokens, dropping a wrapping folder', async () => {
    const report = await runImport([
      { name: 'img/', data: '', method: 0 },
      { name: 'img/10_sks dog/one.PNG', data: await pngImage(20, 10, 1) },
      { name: 'img/10_sks dog/one.txt', data: 'sks dog on grass' },
      { name: 'img/1_dog/two.jpg', data: await jpegImage(30, 20) },
      { name: 'img/1_dog/deeper/three.png', data: await pngImage(8, 8, 3) },
    ]);
    expect(report.subsets).toEqual([
      { name: '10_sks dog', repeats: 10, classTokens: 'sks dog', imageCount: 1 },
      { name: '1_dog', repeats: 1, classTokens: 'dog', imageCount: 1 },
    ]);
    expect(report.images.map((i) => `${i.subset}/${i.file}:${i.caption}`)).toEqual(['10_sks dog/one.png:true', '1_dog/two.jpg:false']);
    expect(report.skipped).toEqual([{ path: 'img/1_dog/deeper/three.png', reason: expect.stringMatching(/more than one folder deep/) }]);
    const meta = await readDatasetMeta(path.join(datasetsRoot, 'ds'));
    expect(meta.subsets).toEqual([
      { name: '10_sks dog', repeats: 10, classTokens: 'sks dog', isReg: false, captionExtension: '.txt' },
      { name: '1_dog', repeats: 1, classTokens: 'dog', isReg: false, captionExtension: '.txt' },
    ]);
    const shown = await showDataset({ datasetsRoot, name: 'ds' });
    expect(shown.images).toEqual([
      { subset: '10_sks dog', file: 'one.png', format: 'png', width: 20, height: 10, caption: true },
      { subset: '1_dog', file: 'two.jpg', format: 'jpeg', width: 30, height: 20, caption: false },
    ]);
  });

  it('renames by content, converts GIF/BMP/TIFF/AVIF, bakes orientation and skips HEIC and SVG with the message', async () => {
    const report = await runImport([
      { name: 'a.PNG', data: await pngImage() },
      { name: 'b.jpg', data: await pngImage(10, 10, 2) },
      { name: 'anim.gif', data: await animatedGif(16, 12, 3) },
      { name: 'bmp.bmp', data: bmpImage(9, 7) },
      { name: 'tif.tiff', data: await tiffImage() },
      { name: 'avif.avif', data: await avifImage() },
      { name: 'rot.jpg', data: await jpegImage(40, 20, 6) },
      { name: 'phone.heic', data: isoImage('heic', 64, 64) },
      { name: 'logo.svg', data: '<svg xmlns="http://www.w3.org/2000/svg"/>' },
    ]);
    expect(report.images.map((i) => [i.file, i.format, i.width, i.height, i.reencoded])).toEqual([
      ['a.png', 'png', 32, 24, false],
      ['b.png', 'png', 10, 10, false],
      ['anim.png', 'png', 16, 12, true],
      ['bmp.png', 'png', 9, 7, true],
      ['tif.png', 'png', 32, 24, true],
      ['avif.png', 'png', 32, 24, true],
      ['rot.jpg', 'jpeg', 20, 40, true],
    ]);
    expect(report.skipped.map((s) => s.path)).toEqual(['phone.heic', 'logo.svg']);
    expect(report.skipped[0]?.reason).toMatch(/HEIC.*Accepted: PNG, JPEG and WebP/);
    expect(report.skipped[1]?.reason).toMatch(/SVG.*Accepted:/);
    const rotated = await sharp(path.join(datasetsRoot, 'ds', 'main', 'rot.jpg')).metadata();
    expect([rotated.width, rotated.height, rotated.orientation]).toEqual([20, 40, undefined]);
  });

  it('refuses a name that is taken, before reading the archive', async () => {
    await mkdir(path.join(datasetsRoot, 'ds'));
    await expect(runImport([{ name: 'a.png', data: await pngImage() }])).rejects.toMatchObject({ code: 'dataset-exists' });
  });

  it('leaves nothing behind when cancelled', async () => {
    const zipPath = path.join(root, 'upload.zip');
    await writeFile(zipPath, buildTestZip({ entries: [{ name: 'a.png', data: await pngImage() }] }));
    const controller = new AbortController();
    const attempt = importZip({ zipPath, datasetsRoot, name: 'ds', limits: DEFAULT_DATASET_IMPORT_LIMITS, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(attempt).rejects.toMatchObject({ code: 'cancelled' });
    expect(await storeContents()).toEqual([]);
  });
});

describe('archive comments', () => {
  /** A zip as GitHub and many tools write it: an archive comment after the end record. */
  function withComment(zip: Buffer, comment: string): Buffer {
    const out = Buffer.concat([zip, Buffer.from(comment, 'utf8')]);
    out.writeUInt16LE(Buffer.byteLength(comment), zip.length - 2);
    return out;
  }

  it('a dataset zip with a comment imports; bytes after the comment are still refused', async () => {
    const zip = buildTestZip({ entries: [{ name: 'a.png', data: await pngImage() }] });
    const zipPath = path.join(root, 'commented.zip');
    await writeFile(zipPath, withComment(zip, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4 (a commit id, as GitHub writes)'));
    const report = await importZip({ zipPath, datasetsRoot, name: 'commented', limits: DEFAULT_DATASET_IMPORT_LIMITS, concurrency: 2 });
    expect(report.images.map((image) => image.file)).toEqual(['a.png']);
    const trailing = Buffer.concat([withComment(zip, 'ok'), Buffer.from('junk')]);
    await writeFile(zipPath, trailing);
    await expect(importZip({ zipPath, datasetsRoot, name: 'trailing', limits: DEFAULT_DATASET_IMPORT_LIMITS, concurrency: 2 })).rejects.toMatchObject({ code: expect.stringMatching(/^(zip|archive)\./) });
  });
});

