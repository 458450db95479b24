import { parseTags } from './caption-text.ts';
import { compareCodePoints, type DatasetScope } from './dataset-files.ts';
import { loadCaptions } from './read-caption.ts';

export interface TagFrequency {
  /** Most frequent first, ties by code point. `images`: how many captions have the tag (once each). */
  tags: Array<{ tag: string; images: number }>;
  images: number;
  /** Images with a caption that has at least one tag. */
  tagged: number;
}

/**
 * How many images carry each tag. Tags are compared exactly as written (after trimming); kohya's
 * `ss_tag_frequency` lower-cases and counts repeats within a caption, this table shows what the files say.
 */
export async function tagFrequency(scope: DatasetScope): Promise<TagFrequency> {
  const counts = new Map<string, number>();
  const captions = await loadCaptions(scope);
  let tagged = 0;
  for (const caption of captions) {
    const tags = new Set(parseTags(caption.text));
    if (tags.size > 0) tagged += 1;
    for (const tag of tags) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  }
  const tags = [...counts].map(([tag, images]) => ({ tag, images })).sort((a, b) => b.images - a.images || compareCodePoints(a.tag, b.tag));
  return { tags, images: captions.length, tagged };
}
