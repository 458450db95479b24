import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KAOMOJI, formatTagName, mcutThreshold, selectTags, tagOptionsSchema, type TagOptionsInput } from './postprocess.ts';
import type { TagLabel } from './selected-tags.ts';

const labels: TagLabel[] = [
  { index: 0, name: 'general', category: 'rating' },
  { index: 1, name: 'sensitive', category: 'rating' },
  { index: 2, name: 'questionable', category: 'rating' },
  { index: 3, name: 'explicit', category: 'rating' },
  { index: 4, name: 'long_hair', category: 'general' },
  { index: 5, name: 'solo', category: 'general' },
  { index: 6, name: '^_^', category: 'general' },
  { index: 7, name: 'hatsune_miku', category: 'character' },
  { index: 8, name: 'smile', category: 'general' },
  { index: 9, name: 'kagamine_rin_(vocaloid)', category: 'character' },
];

const select = (scores: number[], options: TagOptionsInput = {}) => selectTags({ labels, scores: Float32Array.from(scores), options: tagOptionsSchema.parse(options) });
//               ratings ───────────────  long  solo   ^_^  miku  smile  rin
const scores = [0.1, 0.6, 0.2, 0.05, 0.35, 0.9, 0.34, 0.85, 0.5, 0.84];

describe('selectTags', () => {
  it('defaults: general ≥ 0.35, character ≥ 0.85, no rating; general then character, CSV order', () => {
    expect(select(scores)).toEqual(['long hair', 'solo', 'smile', 'hatsune miku']);
  });

  it('the bounds are inclusive as in sd-scripts (float32 scores compared with the float32 threshold)', () => {
    expect(select(scores, { generalThreshold: 0.9, characterThreshold: 0.84 })).toEqual(['solo', 'hatsune miku', 'kagamine rin (vocaloid)']);
  });

  it("sd-scripts' own character default (0.35) is one option away", () => {
    expect(select(scores, { characterThreshold: 0.35 })).toContain('kagamine rin (vocaloid)');
  });

  it('rating: the argmax of the rating rows, first or last; the first of equal maxima', () => {
    expect(select(scores, { rating: 'first' })[0]).toBe('sensitive');
    expect(select(scores, { rating: 'last' }).at(-1)).toBe('sensitive');
    const tied = [0.7, 0.7, 0, 0, ...scores.slice(4)];
    expect(select(tied, { rating: 'first' })[0]).toBe('general');
  });

  it('keeps kaomoji and names of at most 3 characters; can keep every underscore', () => {
    expect(select(scores, { generalThreshold: 0.3 })).toContain('^_^');
    expect(select(scores, { replaceUnderscores: false })).toEqual(['long_hair', 'solo', 'smile', 'hatsune_miku']);
  });

  it('excludes tags written either way, ratings included, after formatting', () => {
    expect(select(scores, { exclude: ['long_hair', 'hatsune miku', ' sensitive '], rating: 'first' })).toEqual(['solo', 'smile']);
  });

  it('puts the trigger word first, once, even when the model found it or the exclude list names it', () => {
    expect(select(scores, { triggerWord: 'solo', rating: 'first' })).toEqual(['solo', 'sensitive', 'long hair', 'smile', 'hatsune miku']);
    expect(select(scores, { triggerWord: 'sks', exclude: ['sks'] })[0]).toBe('sks');
  });

  it('MCut cuts at the largest gap: > the midpoint; characters never below 0.15', () => {
    // general scores 0.35, 0.9, 0.34, 0.5 → sorted 0.9, 0.5, 0.35, 0.34 → largest gap 0.9–0.5 → cut 0.7
    expect(select(scores, { generalMcut: true })).toEqual(['solo', 'hatsune miku']);
    // character 0.85 and 0.84 → cut 0.845 (≥ 0.15)
    expect(select(scores, { characterMcut: true, characterThreshold: 0.99 })).toContain('hatsune miku');
    const low = [...scores.slice(0, 7), 0.12, 0.5, 0.01];
    expect(select(low, { characterMcut: true })).not.toContain('hatsune miku');
  });
});

describe('mcutThreshold', () => {
  it('is the midpoint of the largest gap, in float32, undefined below two scores', () => {
    expect(mcutThreshold([0.1, 0.9, 0.8])).toBe(Math.fround(Math.fround(0.8) + Math.fround(0.1)) / 2);
    expect(mcutThreshold([0.5])).toBeUndefined();
  });

  it('always lies between the highest and lowest score', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 50 }), (values) => {
        const cut = mcutThreshold(values) ?? Number.NaN;
        const f32 = values.map(Math.fround);
        expect(cut).toBeGreaterThanOrEqual(Math.min(...f32));
        expect(cut).toBeLessThanOrEqual(Math.max(...f32));
      }),
    );
  });
});

describe('formatTagName', () => {
  it('keeps all 19 kaomoji, including the 4 that sd-scripts’ length rule would break', () => {
    expect(KAOMOJI.size).toBe(19);
    for (const face of KAOMOJI) expect(formatTagName(face, true)).toBe(face);
    expect(formatTagName('a_b', true)).toBe('a_b');
    expect(formatTagName('name_(series)', true)).toBe('name (series)');
  });
});

describe('tagOptionsSchema', () => {
  it('defaults, and refuses a bad threshold, trigger or unknown key', () => {
    expect(tagOptionsSchema.parse({})).toMatchObject({ generalThreshold: 0.35, characterThreshold: 0.85, rating: 'none', replaceUnderscores: true, exclude: [] });
    expect(tagOptionsSchema.safeParse({ generalThreshold: 1.5 }).success).toBe(false);
    expect(tagOptionsSchema.safeParse({ triggerWord: 'a, b' }).success).toBe(false);
    expect(tagOptionsSchema.safeParse({ treshold: 0.3 }).success).toBe(false);
    expect(tagOptionsSchema.parse({ triggerWord: '  sks  ' }).triggerWord).toBe('sks');
  });
});
