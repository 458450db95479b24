import type { DatasetScope } from './dataset-files.ts';
import { loadCaptions, toRecord, type CaptionRecord } from './read-caption.ts';

export interface FilterByTagParams extends DatasetScope {
  /** Every one of these tags must be present. */
  all?: readonly string[];
  /** None of these may be present. */
  none?: readonly string[];
}

/** Images whose caption has all of `all` and none of `none` (exact tags); with neither, every image. */
export async function filterImagesByTag(params: FilterByTagParams): Promise<CaptionRecord[]> {
  const all = (params.all ?? []).map((tag) => tag.trim());
  const none = (params.none ?? []).map((tag) => tag.trim());
  return (await loadCaptions(params))
    .map(toRecord)
    .filter((record) => {
      const tags = new Set(record.tags);
      return all.every((tag) => tags.has(tag)) && !none.some((tag) => tags.has(tag));
    });
}
