import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../../core/errors.ts';
import { kohyaDatasetConfigSchema } from './dataset-toml-schema.ts';
import { kohyaRunLayout } from './layout.ts';
import { parseTomlTyped } from './toml-format.ts';
import { renderDatasetToml, type RenderDatasetTomlInput } from './write-dataset-toml.ts';
import type { KohyaDatasetInput } from './types.ts';

const layout = kohyaRunLayout('/ws/runs/job-1');

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isLorasmithError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a LorasmithError');
}

const REALISTIC: RenderDatasetTomlInput = {
  script: 'sdxl_train_network.py',
  general: {
    shuffle_caption: true,
    caption_extension: '.txt',
    keep_tokens: 1,
    enable_bucket: true,
    bucket_no_upscale: true,
    bucket_reso_steps: 64,
    min_bucket_reso: 256,
    max_bucket_reso: 2048,
    caption_dropout_rate: 0,
    network_multiplier: 1,
    validation_split: 0,
  },
  datasets: [
    {
      resolution: 1024,
      batch_size: 2,
      subsets: [
        { name: 'character', source_dir: '/ws/datasets/char/character', num_repeats: 10, class_tokens: 'sks woman' },
        { name: 'reg', source_dir: '/ws/datasets/char/reg', num_repeats: 1, is_reg: true, class_tokens: 'woman', shuffle_caption: false },
      ],
    },
    {
      resolution: [768, 1024],
      batch_size: 1,
      face_crop_aug_range: [2, 4],
      token_warmup_step: 0,
      subsets: [{ name: 'character', source_dir: '/ws/datasets/char/character', num_repeats: 2, flip_aug: true, caption_tag_dropout_rate: 0.1, alpha_mask: true }],
    },
  ],
};

function rawLines(text: string, key: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${key} = `))
    .map((line) => line.slice(key.length + 3));
}

describe('renderDatasetToml', () => {
  it('writes [general], [[datasets]] and [[datasets.subsets]] that pass the transcription of sd-scripts\' schema', () => {
    const { text, document, subsets } = renderDatasetToml(REALISTIC, layout);
    const parsed = parseTomlTyped(text);
    const checked = kohyaDatasetConfigSchema.safeParse(parsed);
    expect(checked.success, JSON.stringify(checked.error?.issues)).toBe(true);
    expect(parsed).toEqual(document);
    expect(text.match(/^\[general\]$/gm)).toHaveLength(1);
    expect(text.match(/^\[\[datasets\]\]$/gm)).toHaveLength(2);
    expect(text.match(/^\[\[datasets\.subsets\]\]$/gm)).toHaveLength(3);

    // Number typing: float keys with a decimal point, int keys without.
    expect(rawLines(text, 'network_multiplier')).toEqual(['1.0']);
    expect(rawLines(text, 'validation_split')).toEqual(['0.0']);
    expect(rawLines(text, 'caption_dropout_rate')).toEqual(['0.0']);
    expect(rawLines(text, 'caption_tag_dropout_rate')).toEqual(['0.1']);
    expect(rawLines(text, 'token_warmup_step')).toEqual(['0.0']);
    expect(rawLines(text, 'face_crop_aug_range')).toEqual(['[2.0, 4.0]']);
    expect(rawLines(text, 'resolution')).toEqual(['1024', '[768, 1024]']);
    expect(rawLines(text, 'num_repeats')).toEqual(['10', '1', '2']);
    expect(rawLines(text, 'batch_size')).toEqual(['2', '1']);
    expect(rawLines(text, 'keep_tokens')).toEqual(['1']);

    // image_dir is the per-run link folder, named after the subset; the same source twice gets two folders.
    expect(rawLines(text, 'image_dir')).toEqual([
      '"/ws/runs/job-1/work/images/0/character"',
      '"/ws/runs/job-1/work/images/0/reg"',
      '"/ws/runs/job-1/work/images/1/character"',
    ]);
    expect(subsets.map((s) => [s.datasetIndex, s.name, s.linkDir, s.captionExtension, s.isReg])).toEqual([
      [0, 'character', '/ws/runs/job-1/work/images/0/character', '.txt', false],
      [0, 'reg', '/ws/runs/job-1/work/images/0/reg', '.txt', true],
      [1, 'character', '/ws/runs/job-1/work/images/1/character', '.txt', false],
    ]);
  });

  it("names the dataset folders themselves as image_dir with 'sources' (an export has no run folder)", () => {
    const { text, document, subsets } = renderDatasetToml(REALISTIC, 'sources');
    expect(rawLines(text, 'image_dir')).toEqual(['"/ws/datasets/char/character"', '"/ws/datasets/char/reg"', '"/ws/datasets/char/character"']);
    expect(subsets.map((s) => [s.name, s.sourceDir, s.linkDir, s.isReg])).toEqual([
      ['character', '/ws/datasets/char/character', '/ws/datasets/char/character', false],
      ['reg', '/ws/datasets/char/reg', '/ws/datasets/char/reg', true],
      ['character', '/ws/datasets/char/character', '/ws/datasets/char/character', false],
    ]);
    // Everything else is what a launch writes.
    const launch = renderDatasetToml(REALISTIC, layout).document;
    const withoutDirs = (doc: Record<string, unknown>): unknown => JSON.parse(JSON.stringify(doc, (key, value: unknown) => (key === 'image_dir' ? undefined : typeof value === 'bigint' ? Number(value) : value)));
    expect(withoutDirs(document)).toEqual(withoutDirs(launch));
  });

  it('keeps the subset-only keys on subsets', () => {
    const { document } = renderDatasetToml(REALISTIC, layout);
    const datasets = document.datasets as Array<Record<string, unknown>>;
    const reg = (datasets[0]?.subsets as Array<Record<string, unknown>>)[1];
    expect(reg).toMatchObject({ is_reg: true, class_tokens: 'woman', num_repeats: 1n });
    expect((datasets[1]?.subsets as Array<Record<string, unknown>>)[0]).toMatchObject({ alpha_mask: true });
    expect(document.general).not.toHaveProperty('is_reg');
  });

  it('falls back to the training args for resolution and caption_extension, as sd-scripts does', () => {
    const { subsets, text } = renderDatasetToml(
      { script: 'train_network.py', datasets: [{ subsets: [{ name: 'a', source_dir: '/d/a' }] }], args: { resolution: '512,768', caption_extension: '.cap' } },
      layout,
    );
    expect(text).not.toMatch(/^resolution/m);
    expect(subsets[0]?.captionExtension).toBe('.cap');
    const plain = renderDatasetToml({ script: 'train_network.py', datasets: [{ resolution: 512, subsets: [{ name: 'a', source_dir: '/d/a' }] }] }, layout);
    expect(plain.subsets[0]?.captionExtension).toBe('.caption');
  });

  it('refuses what sd-scripts would reject or assert on', () => {
    const one = (dataset: Partial<KohyaDatasetInput>, script: RenderDatasetTomlInput['script'] = 'train_network.py') =>
      errorOf(() => renderDatasetToml({ script, datasets: [{ subsets: [{ name: 'a', source_dir: '/d/a' }], ...dataset }] }, layout));
    expect(one({}).message).toMatch(/resolution is required/);
    expect(one({ resolution: 512, enable_bucket: true, bucket_reso_steps: 32 }).message).toMatch(/multiple of 64/);
    expect(() => renderDatasetToml({ script: 'sdxl_train_network.py', datasets: [{ resolution: 1024, enable_bucket: true, bucket_reso_steps: 32, subsets: [{ name: 'a', source_dir: '/d/a' }] }] }, layout)).not.toThrow();
    expect(one({ resolution: 512, enable_bucket: true, min_bucket_reso: 640 }).message).toMatch(/min_bucket_reso/);
    expect(one({ resolution: 1536, enable_bucket: true }).message).toMatch(/max_bucket_reso \(1024\)/);
    expect(() => renderDatasetToml({ script: 'train_network.py', datasets: [{ resolution: 1536, enable_bucket: false, subsets: [{ name: 'a', source_dir: '/d/a' }] }] }, layout)).not.toThrow();
    expect(one({ resolution: 512.5 }).message).toMatch(/whole number/);
    expect(one({ resolution: 512, batch_size: 0 }).message).toMatch(/at least 1/);
    expect(one({ resolution: 512, validation_split: 1 }).message).toMatch(/below 1/);
    expect(one({ resolution: 512, face_crop_aug_range: [4, 2] }).message).toMatch(/low ≤ high/);
    expect(one({ resolution: 512, caption_extension: 'txt' }).message).toMatch(/start with "\."/);
    expect(one({ resolution: 512, resize_interpolation: 'fancy' as 'area' }).message).toMatch(/not one of/);
    expect(one({ resolution: 512, subsets: [] }).message).toMatch(/no subset/);
    expect(one({ resolution: 512, subsets: [{ name: 'a', source_dir: '/d/a' }, { name: 'a', source_dir: '/d/b' }] }).message).toMatch(/same name/);
    expect(one({ resolution: 512, subsets: [{ name: '../x', source_dir: '/d/a' }] }).message).toMatch(/plain file name/);
    expect(one({ resolution: 512, subsets: [{ name: 'a', source_dir: 'relative' }] }).message).toMatch(/absolute/);
    expect(one({ resolution: 512, subsets: [{ name: 'a', source_dir: '/d/a', num_repeats: 0 }] }).message).toMatch(/num_repeats must be at least 1/);
    expect(one({ resolution: 512, subsets: [{ name: 'a', source_dir: '/d/a', image_dir: '/elsewhere' } as never] }).message).toMatch(/image_dir is set by the adapter/);
    // Subset-only keys on a dataset, and keys sd-scripts does not know.
    expect(one({ resolution: 512, is_reg: true } as never).message).toMatch(/does not accept "is_reg" here/);
    expect(one({ resolution: 512, caption_separtor: ',' } as never).message).toMatch(/does not accept "caption_separtor"/);
    expect(errorOf(() => renderDatasetToml({ script: 'train_network.py', datasets: [] }, layout)).message).toMatch(/no dataset/);
  });

  it('escapes free text (class tokens, separators) so the file reads back unchanged', () => {
    const tricky = 'sks "dog"\n[[datasets]]\nresolution = 1 \\ \u0001';
    const { text, document } = renderDatasetToml(
      { script: 'train_network.py', general: { keep_tokens_separator: '|||', caption_prefix: 'a, ' }, datasets: [{ resolution: 512, subsets: [{ name: 'a b (1)', source_dir: '/d/a b', class_tokens: tricky }] }] },
      layout,
    );
    const parsed = parseTomlTyped(text);
    expect(parsed).toEqual(document);
    expect((parsed.datasets as Array<{ subsets: Array<{ class_tokens: string }> }>)[0]?.subsets[0]?.class_tokens).toBe(tricky);
    expect(parsed.datasets).toHaveLength(1);
  });
});

describe('kohyaDatasetConfigSchema (transcription of config_util.py)', () => {
  const ok = (toml: string) => kohyaDatasetConfigSchema.safeParse(parseTomlTyped(toml)).success;
  const base = '[[datasets]]\nresolution = 512\n[[datasets.subsets]]\nimage_dir = "/x"\n';

  it('accepts a minimal document', () => {
    expect(ok(base)).toBe(true);
  });

  it('has no int↔float coercion, as voluptuous', () => {
    expect(ok('[general]\nvalidation_split = 0\n' + base)).toBe(false);
    expect(ok('[general]\nvalidation_split = 0.0\n' + base)).toBe(true);
    expect(ok('[general]\nnetwork_multiplier = 1\n' + base)).toBe(false);
    expect(ok('[general]\nbatch_size = 2.0\n' + base)).toBe(false);
    expect(ok('[general]\nmin_bucket_reso = "256"\n' + base)).toBe(false);
    expect(ok('[general]\nface_crop_aug_range = [2, 4]\n' + base)).toBe(false);
    expect(ok('[general]\nface_crop_aug_range = [2.0, 4.0]\n' + base)).toBe(true);
    expect(ok('[general]\ncaption_dropout_rate = 0\n' + base)).toBe(true);
    expect(ok('[general]\ncaption_dropout_rate = 0.5\n' + base)).toBe(true);
    expect(ok('[[datasets]]\nresolution = "512"\n[[datasets.subsets]]\nimage_dir = "/x"\n')).toBe(false);
    expect(ok('[[datasets]]\nresolution = [512, 768]\n[[datasets.subsets]]\nimage_dir = "/x"\n')).toBe(true);
  });

  it('rejects extra keys, subset-only keys above subsets, and subsets without image_dir', () => {
    expect(ok('foo = 1\n' + base)).toBe(false);
    expect(ok(base + 'caption_separtor = ","\n')).toBe(false);
    expect(ok('[general]\nalpha_mask = true\n' + base)).toBe(false);
    expect(ok('[general]\nis_reg = true\n' + base)).toBe(false);
    expect(ok('[[datasets]]\nresolution = 512\n[[datasets.subsets]]\nnum_repeats = 1\n')).toBe(false);
  });
});
