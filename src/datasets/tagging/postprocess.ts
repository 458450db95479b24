/**
 * From a model's scores to caption tags, as sd-scripts' `run_batch` does (reference §A5) with the issue's
 * changes: character threshold 0.85 by default (the model cards' advice) instead of sd-scripts' 0.35;
 * optional MCut from SmilingWolf's Space; kaomoji kept whole when underscores become spaces.
 *
 * Order, as sd-scripts: general tags in CSV order, then character tags in CSV order; the rating (argmax
 * of the rating rows) first or last when asked; the trigger word before everything. Scores compare with
 * `>=` as sd-scripts does, except under MCut, which compares with `>` as the Space does. Parentheses are
 * not escaped: escaping is for A1111 prompts, and sd-scripts training captions are unescaped.
 */
import { z } from 'zod';
import type { TagLabel } from './selected-tags.ts';

export const DEFAULT_GENERAL_THRESHOLD = 0.35;
export const DEFAULT_CHARACTER_THRESHOLD = 0.85;
/** The Space's floor for the character MCut threshold. */
const CHARACTER_MCUT_FLOOR = 0.15;

/** Kaomoji whose underscores are part of the face (the Space's list, from toriato). */
export const KAOMOJI: ReadonlySet<string> = new Set([
  '0_0', '(o)_(o)', '+_+', '+_-', '._.', '<o>_<o>', '<|>_<|>', '=_=', '>_<', '3_3', '6_9', '>_o', '@_@', '^_^', 'o_o', 'u_u', 'x_x', '|_|', '||_||',
]);

const probability = z.number().min(0).max(1);

export const tagOptionsSchema = z
  .object({
    generalThreshold: probability.default(DEFAULT_GENERAL_THRESHOLD),
    characterThreshold: probability.default(DEFAULT_CHARACTER_THRESHOLD),
    /** Replace a category's threshold by its MCut threshold (the largest gap between sorted scores). */
    generalMcut: z.boolean().default(false),
    characterMcut: z.boolean().default(false),
    /** sd-scripts' `--use_rating_tags` (first) and `--use_rating_tags_as_last_tag` (last). */
    rating: z.enum(['none', 'first', 'last']).default('none'),
    /** `long_hair` → `long hair`, except kaomoji and, as sd-scripts, names of at most 3 characters. */
    replaceUnderscores: z.boolean().default(true),
    /** Tags never written (sd-scripts' `--undesired_tags`), written either way: `long_hair` or `long hair`. */
    exclude: z.array(z.string().max(1024)).max(10_000).default([]),
    /** Put first in every caption (sd-scripts' `--always_first_tags`, but always first, even when appending). */
    triggerWord: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .refine((word) => !/[,\r\n]/.test(word), 'A trigger word cannot contain a comma or a line break.')
      .optional(),
  })
  .strict();

export type TagOptions = z.infer<typeof tagOptionsSchema>;
export type TagOptionsInput = z.input<typeof tagOptionsSchema>;

/** How a tag name is written into a caption. */
export function formatTagName(name: string, replaceUnderscores: boolean): string {
  if (!replaceUnderscores || KAOMOJI.has(name) || [...name].length <= 3) return name;
  return name.replaceAll('_', ' ');
}

/**
 * The Space's `mcut_threshold` in float32, as numpy computes it on the model's float32 output. Undefined
 * for fewer than two scores, where there is no gap to cut.
 */
export function mcutThreshold(scores: readonly number[]): number | undefined {
  if (scores.length < 2) return undefined;
  const sorted = Float32Array.from(scores).sort().reverse();
  let best = 0;
  let bestGap = -Infinity;
  for (let t = 0; t + 1 < sorted.length; t++) {
    const gap = Math.fround((sorted[t] ?? 0) - (sorted[t + 1] ?? 0));
    if (gap > bestGap) {
      bestGap = gap;
      best = t;
    }
  }
  return Math.fround((sorted[best] ?? 0) + (sorted[best + 1] ?? 0)) / 2;
}

/** Which scores of one category pass: `>=` a fixed threshold, or `>` the MCut threshold. */
function passes(params: { scores: readonly number[]; threshold: number; mcut: boolean; floor: number }): (score: number) => boolean {
  const cut = params.mcut ? mcutThreshold(params.scores) : undefined;
  if (cut === undefined) {
    // sd-scripts compares numpy float32 scores with a Python float; numpy ≥ 2 (NEP 50, what its unpinned
    // requirement installs now) does that in float32, so a score of float32(0.35) passes 0.35. (numpy 1.x
    // compared in float64; the two differ only within float32 rounding of the threshold.)
    const threshold = Math.fround(params.threshold);
    return (score) => score >= threshold;
  }
  const threshold = Math.max(params.floor, cut);
  return (score) => score > threshold;
}

/** The caption tags for one image's scores (one per label, in label order). */
export function selectTags(params: { labels: readonly TagLabel[]; scores: ArrayLike<number>; options: TagOptions }): string[] {
  const { labels, scores, options } = params;
  const format = (name: string) => formatTagName(name, options.replaceUnderscores);
  const excluded = new Set(options.exclude.map((tag) => format(tag.trim())));
  const scoreOf = (label: TagLabel) => scores[label.index] ?? 0;
  const ofCategory = (category: TagLabel['category']) => labels.filter((label) => label.category === category);

  const picked = (category: 'general' | 'character', threshold: number, mcut: boolean, floor: number): string[] => {
    const rows = ofCategory(category);
    const pass = passes({ scores: rows.map(scoreOf), threshold, mcut, floor });
    return rows.filter((label) => pass(scoreOf(label))).map((label) => format(label.name));
  };
  const tags = [
    ...picked('general', options.generalThreshold, options.generalMcut, 0),
    ...picked('character', options.characterThreshold, options.characterMcut, CHARACTER_MCUT_FLOOR),
  ];

  if (options.rating !== 'none') {
    // numpy's argmax: the first of equal maxima.
    const best = ofCategory('rating').reduce<TagLabel | undefined>((top, label) => (top === undefined || scoreOf(label) > scoreOf(top) ? label : top), undefined);
    if (best !== undefined) {
      if (options.rating === 'first') tags.unshift(format(best.name));
      else tags.push(format(best.name));
    }
  }
  if (options.triggerWord !== undefined) tags.unshift(options.triggerWord);

  const seen = new Set<string>();
  return tags.filter((tag) => {
    if (seen.has(tag) || (excluded.has(tag) && tag !== options.triggerWord)) return false;
    seen.add(tag);
    return true;
  });
}
