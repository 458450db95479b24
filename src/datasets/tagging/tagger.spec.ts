import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tagImages, type TagProgress } from './tagger.ts';
import { FAKE_TAGS, solidPng, writeFakeTagger } from './testing.ts';

let dir: string;
let model: { modelPath: string; tagsCsvPath: string };
const image = (name: string) => path.join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tagger-'));
  model = await writeFakeTagger({ dir: path.join(dir, 'wd-fake-tagger'), tags: FAKE_TAGS });
  await solidPng({ file: image('red.png'), width: 64, height: 64, rgb: [255, 0, 0] });
  await solidPng({ file: image('blue.png'), width: 600, height: 600, rgb: [0, 0, 255] });
  // Padded with white to 64×64: mean B = 127.5, so blue_theme scores sigmoid(−0.0625) ≈ 0.48.
  await solidPng({ file: image('red-wide.png'), width: 64, height: 32, rgb: [255, 0, 0] });
  await writeFile(image('broken.png'), 'not a png');
});

describe('tagImages', () => {
  it('tags generated images end to end: thresholds, rating, formatting, CSV order', async () => {
    const progress: TagProgress[] = [];
    const result = await tagImages({
      ...model,
      images: [image('red.png'), image('blue.png'), image('red-wide.png')],
      options: { rating: 'first' },
      onProgress: (p) => progress.push(p),
    });
    expect(result.failed).toEqual([]);
    expect(result.tagged).toEqual([
      { image: image('red.png'), tags: ['explicit', 'red theme', 'solo', '^_^', 'hatsune miku'], caption: 'explicit, red theme, solo, ^_^, hatsune miku' },
      { image: image('blue.png'), tags: ['general', 'blue theme', 'solo', '^_^', 'hatsune miku'], caption: 'general, blue theme, solo, ^_^, hatsune miku' },
      { image: image('red-wide.png'), tags: ['explicit', 'red theme', 'blue theme', 'solo', '^_^', 'hatsune miku'], caption: 'explicit, red theme, blue theme, solo, ^_^, hatsune miku' },
    ]);
    expect(progress.map((p) => [p.done, p.total])).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it('applies the options: thresholds, exclude list, trigger word, underscores', async () => {
    const result = await tagImages({
      ...model,
      images: [image('red.png')],
      options: { generalThreshold: 0.15, characterThreshold: 0.45, exclude: ['solo'], triggerWord: 'sks girl', replaceUnderscores: false },
    });
    expect(result.tagged[0]?.tags).toEqual(['sks girl', 'red_theme', '^_^', 'long_hair', 'hatsune_miku', 'kagamine_rin_(vocaloid)']);
  });

  it('keeps input order across batches, and pads the last batch of a fixed-batch model', async () => {
    const images = [image('red.png'), image('blue.png'), image('red-wide.png'), image('red.png')];
    const fixed = await writeFakeTagger({ dir: path.join(dir, 'fixed-batch-3'), tags: FAKE_TAGS, batch: 3 });
    const dynamic = await tagImages({ ...model, images, options: { batchSize: 3 } });
    const padded = await tagImages({ ...fixed, images, options: { batchSize: 1 } });
    const single = await tagImages({ ...model, images, options: { batchSize: 1, threads: 1 } });
    expect(padded.tagged).toEqual(dynamic.tagged);
    expect(single.tagged).toEqual(dynamic.tagged);
    expect(dynamic.tagged.map((t) => path.basename(t.image))).toEqual(['red.png', 'blue.png', 'red-wide.png', 'red.png']);
  });

  it('reports an undecodable image and tags the others', async () => {
    const result = await tagImages({ ...model, images: [image('broken.png'), image('red.png')] });
    expect(result.failed).toEqual([{ image: image('broken.png'), code: 'tagger-image-unreadable', message: expect.stringContaining('broken.png') }]);
    expect(result.tagged.map((t) => t.image)).toEqual([image('red.png')]);
  });

  it('stops between images when cancelled, and before loading anything when already cancelled', async () => {
    const controller = new AbortController();
    const run = tagImages({
      ...model,
      images: [image('red.png'), image('blue.png'), image('red.png')],
      options: { batchSize: 1 },
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
    await expect(tagImages({ ...model, images: [image('red.png')], signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('refuses bad options before doing anything', async () => {
    await expect(tagImages({ ...model, images: [], options: { generalThreshold: -1 } })).rejects.toThrow();
  });
});

describe('tagImages — the model is checked before any image', () => {
  it('refuses a tag list whose length differs from the model output', async () => {
    const bad = await writeFakeTagger({ dir: path.join(dir, 'short-csv'), tags: FAKE_TAGS, csvTags: FAKE_TAGS.slice(0, -1) });
    await expect(tagImages({ ...bad, images: [image('red.png')] })).rejects.toMatchObject({
      code: 'tagger-model-invalid',
      message: expect.stringMatching(/\[N, 11\].*\[N, 10\].*10 rows/),
    });
  });

  it('refuses an NCHW model', async () => {
    const bad = await writeFakeTagger({ dir: path.join(dir, 'nchw'), tags: FAKE_TAGS, layout: 'nchw' });
    await expect(tagImages({ ...bad, images: [image('red.png')] })).rejects.toMatchObject({ code: 'tagger-model-invalid', message: expect.stringContaining('NHWC') });
  });

  it('reads the input side from the model', async () => {
    const small = await writeFakeTagger({ dir: path.join(dir, 'side-32'), tags: FAKE_TAGS, size: 32, inputName: 'images', outputName: 'scores' });
    const result = await tagImages({ ...small, images: [image('red.png')] });
    expect(result.tagged[0]?.tags).toEqual(['red theme', 'solo', '^_^', 'hatsune miku']);
  });

  it('refuses missing files and a file that is not an ONNX model', async () => {
    await expect(tagImages({ modelPath: image('none.onnx'), tagsCsvPath: model.tagsCsvPath, images: [] })).rejects.toMatchObject({ code: 'tagger-files-missing' });
    await expect(tagImages({ modelPath: model.modelPath, tagsCsvPath: image('none.csv'), images: [] })).rejects.toMatchObject({ code: 'tagger-files-missing' });
    await expect(tagImages({ modelPath: image('broken.png'), tagsCsvPath: model.tagsCsvPath, images: [] })).rejects.toMatchObject({ code: 'tagger-model-invalid' });
  });
});
