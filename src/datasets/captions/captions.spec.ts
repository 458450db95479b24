import fc from 'fast-check';
import { mkdir, mkdtemp, readFile, readdir, realpath, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { applyCaptionEdit } from './apply-edit.ts';
import { formatTags, parseTags } from './caption-text.ts';
import { applyTagEdit } from './edit-ops.ts';
import { filterImagesByTag } from './filter-by-tag.ts';
import { previewCaptionEdit } from './preview-edit.ts';
import { readCaption } from './read-caption.ts';
import { tagFrequency } from './tag-frequency.ts';
import { undoCaptionEdit } from './undo-edit.ts';
import { MAX_UNDO_ENTRIES, listCaptionUndo } from './undo-history.ts';
import { writeCaption } from './write-caption.ts';

let dir: string;

/** A dataset of fake image files (captions never read the pixels) and the given caption bytes. */
async function makeDataset(files: Record<string, string | Buffer | null>): Promise<void> {
  for (const [image, caption] of Object.entries(files)) {
    const file = path.join(dir, image);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, 'not really an image');
    if (caption !== null) await writeFile(file.replace(/\.[a-z]+$/, '.txt'), caption);
  }
}

const caption = (image: string) => readFile(path.join(dir, image.replace(/\.[a-z]+$/, '.txt')), 'utf8');
const codeOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (isLorasmithError(error)) return error.code;
    throw error;
  }
  return undefined;
};

beforeEach(async () => {
  dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'lorasmith-captions-')));
});

describe('reading and writing one caption', () => {
  it('reads text and tags, and an image without a caption as empty', async () => {
    await makeDataset({ 'a/1.png': ' 1girl,  smile ,, blue sky\n', 'a/2.jpg': null });
    expect(await readCaption({ datasetDir: dir, image: 'a/1.png' })).toEqual({
      image: 'a/1.png',
      caption: 'a/1.txt',
      exists: true,
      text: ' 1girl,  smile ,, blue sky\n',
      tags: ['1girl', 'smile', 'blue sky'],
    });
    expect(await readCaption({ datasetDir: dir, image: 'a/2.jpg' })).toMatchObject({ exists: false, text: '', tags: [] });
  });

  it('writes tags or free text, and undo removes a caption it created', async () => {
    await makeDataset({ 'a/1.png': null });
    const written = await writeCaption({ datasetDir: dir, image: 'a/1.png', tags: ['sks', ' dog ', ''] });
    expect(await caption('a/1.png')).toBe('sks, dog');
    expect(written.changes).toEqual([{ image: 'a/1.png', caption: 'a/1.txt', before: null, after: 'sks, dog' }]);
    await writeCaption({ datasetDir: dir, image: 'a/1.png', text: 'a photo of sks dog' });
    expect(await caption('a/1.png')).toBe('a photo of sks dog');
    expect((await stat(path.join(dir, 'a/1.txt'))).mode & 0o777).toBe(0o644);
    await undoCaptionEdit({ datasetDir: dir });
    expect(await caption('a/1.png')).toBe('sks, dog');
    await undoCaptionEdit({ datasetDir: dir });
    expect(await readdir(path.join(dir, 'a'))).toEqual(['1.png']);
  });

  it('refuses paths outside a subset, non-images, dot folders and caption symlinks', async () => {
    await makeDataset({ 'a/1.png': 'x', '.lorasmith/x.png': null });
    await writeFile(path.join(dir, 'secret.txt'), 'secret');
    await writeFile(path.join(dir, 'a', 'linked.png'), 'img');
    await symlink(path.join(dir, 'secret.txt'), path.join(dir, 'a', 'linked.txt'));
    expect(await codeOf(readCaption({ datasetDir: dir, image: '../a/1.png' }))).toBe('path-refused');
    expect(await codeOf(readCaption({ datasetDir: dir, image: 'a/1.txt' }))).toBe('dataset-entry-not-found');
    expect(await codeOf(readCaption({ datasetDir: dir, image: '.lorasmith/x.png' }))).toBe('dataset-entry-not-found');
    expect(await codeOf(readCaption({ datasetDir: dir, image: 'a/nope.png' }))).toBe('dataset-entry-not-found');
    expect(await codeOf(readCaption({ datasetDir: dir, image: 'a/linked.png' }))).toBe('caption-not-a-file');
    expect(await codeOf(readCaption({ datasetDir: path.join(dir, 'missing'), image: 'a/1.png' }))).toBe('dataset-entry-not-found');
  });

  it('refuses captions that are not UTF-8 or over 64 KiB, for reading and writing', async () => {
    await makeDataset({ 'a/1.png': Buffer.from([0x66, 0xff, 0x66]), 'a/2.png': 'x'.repeat(64 * 1024 + 1), 'a/3.png': null });
    expect(await codeOf(readCaption({ datasetDir: dir, image: 'a/1.png' }))).toBe('caption-not-utf8');
    expect(await codeOf(readCaption({ datasetDir: dir, image: 'a/2.png' }))).toBe('caption-too-large');
    expect(await codeOf(writeCaption({ datasetDir: dir, image: 'a/3.png', text: 'é'.repeat(40_000) }))).toBe('caption-too-large');
  });
});

describe('bulk edits: preview, apply, undo', () => {
  beforeEach(async () => {
    await makeDataset({
      'a/1.png': 'smile, 1girl, smile\n',
      'a/2.png': 'dog, sks, grass',
      'a/3.webp': null,
      'b/1.jpg': 'Smile, cat',
      'b/skip.gif': 'gif is not an image kohya reads',
    });
  });

  it('previews without writing, then applies and records one undo entry', async () => {
    const edit = { op: 'add-trigger', trigger: 'sks' } as const;
    const preview = await previewCaptionEdit({ datasetDir: dir, edit });
    expect(preview.images).toBe(4);
    expect(preview.changes).toEqual([
      { image: 'a/1.png', caption: 'a/1.txt', before: 'smile, 1girl, smile\n', after: 'sks, smile, 1girl, smile\n' },
      { image: 'a/2.png', caption: 'a/2.txt', before: 'dog, sks, grass', after: 'sks, dog, grass' },
      { image: 'a/3.webp', caption: 'a/3.txt', before: null, after: 'sks' },
      { image: 'b/1.jpg', caption: 'b/1.txt', before: 'Smile, cat', after: 'sks, Smile, cat' },
    ]);
    expect(await caption('a/1.png')).toBe('smile, 1girl, smile\n');
    const applied = await applyCaptionEdit({ datasetDir: dir, edit });
    expect(applied.changes).toEqual(preview.changes);
    expect(await caption('a/3.webp')).toBe('sks');
    expect(await listCaptionUndo({ datasetDir: dir })).toEqual([
      { id: applied.undoId, createdAt: expect.any(String), label: 'add trigger "sks"', files: 4 },
    ]);
  });

  it('undo restores the exact prior bytes and removes captions that did not exist', async () => {
    const odd = Buffer.from('\ufeffsmile,\r\n1girl , ,\r\nsecond line', 'utf8');
    await writeFile(path.join(dir, 'a/1.txt'), odd);
    const applied = await applyCaptionEdit({ datasetDir: dir, edit: { op: 'add-trigger', trigger: 'sks' } });
    const undone = await undoCaptionEdit({ datasetDir: dir, id: applied.undoId ?? '' });
    expect(undone.removed).toEqual(['a/3.txt']);
    expect(undone.restored).toHaveLength(3);
    expect(await readFile(path.join(dir, 'a/1.txt'))).toEqual(odd);
    expect(await readdir(path.join(dir, 'a'))).not.toContain('3.txt');
    expect(await listCaptionUndo({ datasetDir: dir })).toEqual([]);
    expect(await codeOf(undoCaptionEdit({ datasetDir: dir }))).toBe('caption-undo-empty');
    expect(await codeOf(undoCaptionEdit({ datasetDir: dir, id: '../../escape' }))).toBe('caption-undo-not-found');
  });

  it('undo refuses to overwrite a caption changed since, unless forced', async () => {
    const first = await applyCaptionEdit({ datasetDir: dir, subset: 'a', edit: { op: 'dedupe' } });
    await writeFile(path.join(dir, 'a/1.txt'), 'edited by hand');
    expect(await codeOf(undoCaptionEdit({ datasetDir: dir, id: first.undoId ?? '' }))).toBe('caption-undo-conflict');
    expect(await caption('a/1.png')).toBe('edited by hand');
    await undoCaptionEdit({ datasetDir: dir, id: first.undoId ?? '', force: true });
    expect(await caption('a/1.png')).toBe('smile, 1girl, smile\n');
  });

  it('undoes edits in any order when they touch different files', async () => {
    const onA = await applyCaptionEdit({ datasetDir: dir, subset: 'a', edit: { op: 'sort' } });
    const onB = await applyCaptionEdit({ datasetDir: dir, subset: 'b', edit: { op: 'remove-tags', tags: ['cat'] } });
    expect((await listCaptionUndo({ datasetDir: dir })).map((entry) => entry.id)).toEqual([onB.undoId, onA.undoId]);
    await undoCaptionEdit({ datasetDir: dir, id: onA.undoId ?? '' });
    expect(await caption('a/1.png')).toBe('smile, 1girl, smile\n');
    expect(await caption('b/1.jpg')).toBe('Smile');
  });

  it('an edit that empties a caption removes the file (kohya stops on empty files); undo brings it back', async () => {
    const applied = await applyCaptionEdit({ datasetDir: dir, subset: 'b', edit: { op: 'remove-tags', tags: ['smile', 'cat'], ignoreCase: true } });
    expect(applied.changes).toEqual([{ image: 'b/1.jpg', caption: 'b/1.txt', before: 'Smile, cat', after: '' }]);
    expect(await readdir(path.join(dir, 'b'))).not.toContain('1.txt');
    await undoCaptionEdit({ datasetDir: dir });
    expect(await caption('b/1.jpg')).toBe('Smile, cat');
    expect((await writeCaption({ datasetDir: dir, image: 'a/3.webp', text: '  ' })).changes).toEqual([]);
    expect(await codeOf(writeCaption({ datasetDir: dir, image: 'a/3.webp', text: 'a\u0000b' }))).toBe('caption-not-text');
  });

  it('an edit that changes nothing records no undo entry', async () => {
    const applied = await applyCaptionEdit({ datasetDir: dir, edit: { op: 'remove-tags', tags: ['absent'] } });
    expect(applied).toEqual({ undoId: null, changes: [] });
    expect(await listCaptionUndo({ datasetDir: dir })).toEqual([]);
  });

  it('scopes an edit to one subset and refuses unknown subsets', async () => {
    const preview = await previewCaptionEdit({ datasetDir: dir, subset: 'b', edit: { op: 'remove-tags', tags: ['smile'], ignoreCase: true } });
    expect(preview.changes).toEqual([{ image: 'b/1.jpg', caption: 'b/1.txt', before: 'Smile, cat', after: 'cat' }]);
    expect(await codeOf(previewCaptionEdit({ datasetDir: dir, subset: 'zzz', edit: { op: 'dedupe' } }))).toBe('dataset-entry-not-found');
    expect(await codeOf(previewCaptionEdit({ datasetDir: dir, subset: '../a', edit: { op: 'dedupe' } }))).toBe('path-refused');
    expect(await codeOf(previewCaptionEdit({ datasetDir: dir, subset: '.lorasmith', edit: { op: 'dedupe' } }))).toBe('dataset-entry-not-found');
  });

  it('replaces literally, without interpreting $ patterns', async () => {
    const preview = await previewCaptionEdit({ datasetDir: dir, edit: { op: 'replace', find: 'smile', replacement: '$& grin' } });
    expect(preview.changes.map((c) => c.after)).toEqual(['$& grin, 1girl, $& grin\n']);
  });

  it('replaces with a regex over the text or tag by tag, with capture groups', async () => {
    const text = await previewCaptionEdit({ datasetDir: dir, subset: 'a', edit: { op: 'replace', find: '(\\w+), (\\w+)$', replacement: '$2 $1', regex: true, flags: 'm' } });
    expect(text.changes.map((c) => c.after)).toEqual(['smile, smile 1girl\n', 'dog, grass sks']);
    const tags = await previewCaptionEdit({ datasetDir: dir, edit: { op: 'replace', find: '^smile$', replacement: '', regex: true, flags: 'i', target: 'tags' } });
    expect(tags.changes.map((c) => c.after)).toEqual(['1girl\n', 'cat']);
  });

  it('stops a catastrophic regex in its worker and changes nothing', async () => {
    await writeFile(path.join(dir, 'a/2.txt'), `${'a'.repeat(40)}!`);
    const started = Date.now();
    const error = await applyCaptionEdit({ datasetDir: dir, edit: { op: 'replace', find: '(a+)+$', replacement: 'x', regex: true, timeBudgetMs: 300 } }).catch((e: unknown) => e);
    expect(isLorasmithError(error) && error.code).toBe('caption-regex-timeout');
    expect(isLorasmithError(error) && error.hint).toMatch(/backtrack/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await caption('a/2.png')).toBe(`${'a'.repeat(40)}!`);
    expect(await listCaptionUndo({ datasetDir: dir })).toEqual([]);
  });

  it('refuses invalid patterns, flags and empty edits before reading anything', async () => {
    const replace = (find: string, flags?: string) =>
      previewCaptionEdit({ datasetDir: dir, edit: { op: 'replace', find, replacement: '', regex: true, ...(flags === undefined ? {} : { flags }) } });
    expect(await codeOf(replace('(unclosed'))).toBe('caption-regex-invalid');
    expect(await codeOf(replace('a', 'gy'))).toBe('caption-regex-invalid');
    expect(await codeOf(previewCaptionEdit({ datasetDir: dir, edit: { op: 'add-trigger', trigger: 'a, b' } }))).toBe('caption-edit-invalid');
    expect(await codeOf(previewCaptionEdit({ datasetDir: dir, edit: { op: 'sort', keepTokens: -1 } }))).toBe('caption-edit-invalid');
  });

  it('counts tag frequency per image and filters by tags', async () => {
    const table = await tagFrequency({ datasetDir: dir });
    expect(table).toEqual({
      images: 4,
      tagged: 3,
      tags: [
        { tag: '1girl', images: 1 },
        { tag: 'Smile', images: 1 },
        { tag: 'cat', images: 1 },
        { tag: 'dog', images: 1 },
        { tag: 'grass', images: 1 },
        { tag: 'sks', images: 1 },
        { tag: 'smile', images: 1 },
      ],
    });
    expect((await filterImagesByTag({ datasetDir: dir, all: ['smile'] })).map((r) => r.image)).toEqual(['a/1.png']);
    expect((await filterImagesByTag({ datasetDir: dir, subset: 'a', none: ['sks'] })).map((r) => r.image)).toEqual(['a/1.png', 'a/3.webp']);
  });
});

describe('undo history', () => {
  it(`keeps the newest ${MAX_UNDO_ENTRIES} entries`, async () => {
    await makeDataset({ 'a/1.png': null });
    const ids: Array<string | null> = [];
    for (let i = 0; i <= MAX_UNDO_ENTRIES; i++) ids.push((await writeCaption({ datasetDir: dir, image: 'a/1.png', text: `v${i}` })).undoId);
    const listed = await listCaptionUndo({ datasetDir: dir });
    expect(listed).toHaveLength(MAX_UNDO_ENTRIES);
    expect(listed.map((entry) => entry.id)).toEqual(ids.slice(1).reverse());
  });

  it('serialises concurrent edits of one dataset so each stays undoable', async () => {
    await makeDataset({ 'a/1.png': 'x', 'a/2.png': 'y' });
    await Promise.all([
      applyCaptionEdit({ datasetDir: dir, edit: { op: 'add-trigger', trigger: 'one' } }),
      applyCaptionEdit({ datasetDir: dir, edit: { op: 'add-trigger', trigger: 'two' } }),
    ]);
    expect(await caption('a/1.png')).toBe('two, one, x');
    await undoCaptionEdit({ datasetDir: dir });
    await undoCaptionEdit({ datasetDir: dir });
    expect([await caption('a/1.png'), await caption('a/2.png')]).toEqual(['x', 'y']);
  });

  it('refuses an undo folder that a symlink leads out of the dataset', async () => {
    await makeDataset({ 'a/1.png': null });
    const outside = await realpath(await mkdtemp(path.join(os.tmpdir(), 'lorasmith-outside-')));
    await symlink(outside, path.join(dir, '.lorasmith'));
    expect(await codeOf(writeCaption({ datasetDir: dir, image: 'a/1.png', text: 'x' }))).toBe('path-refused');
    expect(await readdir(outside)).toEqual([]);
    expect(await readdir(path.join(dir, 'a'))).toEqual(['1.png']);
  });
});

describe('tag edits', () => {
  const tags = ['sks', 'b', 'a', 'B', 'a', 'c'];

  it('sort leaves the first keepTokens alone; dedupe keeps the first occurrence', () => {
    expect(applyTagEdit(tags, { op: 'sort', keepTokens: 2 })).toEqual(['sks', 'b', 'B', 'a', 'a', 'c']);
    expect(applyTagEdit(tags, { op: 'dedupe' })).toEqual(['sks', 'b', 'a', 'B', 'c']);
    expect(applyTagEdit(tags, { op: 'dedupe', ignoreCase: true })).toEqual(['sks', 'b', 'a', 'c']);
    expect(applyTagEdit(tags, { op: 'add-trigger', trigger: ' c ' })).toEqual(['c', 'sks', 'b', 'a', 'B', 'a']);
  });

  it('sort never moves the kept tokens and is idempotent', () => {
    const tag = fc.string({ minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.array(tag, { maxLength: 12 }), fc.nat(14), (list, keep) => {
        const sorted = applyTagEdit(list, { op: 'sort', keepTokens: keep });
        expect(sorted.slice(0, keep)).toEqual(list.slice(0, keep));
        expect(applyTagEdit(sorted, { op: 'sort', keepTokens: keep })).toEqual(sorted);
        expect([...sorted].sort()).toEqual([...list].sort());
      }),
    );
  });

  it('parseTags ∘ formatTags is the identity for trimmed tags without commas', () => {
    const tag = fc.string({ minLength: 1, maxLength: 8 }).map((s) => s.replace(/,/g, '').trim()).filter((s) => s !== '');
    fc.assert(
      fc.property(fc.array(tag), (list) => {
        expect(parseTags(formatTags(list))).toEqual(list);
      }),
    );
  });
});
