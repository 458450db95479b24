/**
 * What an auto-tagged image's caption file becomes, given what is there now. `overwrite` replaces it;
 * `append` keeps the existing tags and adds the new ones it lacks (sd-scripts' `--append_tags`); `skip`
 * leaves an existing caption alone. The trigger word ends up first in every mode that writes, even when
 * appending (sd-scripts would leave it where the old caption had it, or add it last). Files end with a
 * newline, as sd-scripts writes them.
 */
import { formatTags, parseTags } from '../captions/caption-text.ts';

export const MERGE_MODES = ['overwrite', 'append', 'skip'] as const;
export type MergeMode = (typeof MERGE_MODES)[number];

/** A caption counts as existing when its file has any text: a blank file trains like no caption. */
export function hasCaption(existing: string | null): existing is string {
  return existing !== null && existing.trim() !== '';
}

/** The new caption text, or null to leave the file as it is. */
export function mergeCaption(params: { mode: MergeMode; existing: string | null; tags: readonly string[]; triggerWord?: string | undefined }): string | null {
  const { mode, existing, tags, triggerWord } = params;
  if (mode === 'skip' && hasCaption(existing)) return null;
  const kept = mode === 'append' && hasCaption(existing) ? parseTags(existing) : [];
  const merged = [...kept, ...tags.filter((tag) => !kept.includes(tag))];
  const ordered = triggerWord === undefined ? merged : [triggerWord, ...merged.filter((tag) => tag !== triggerWord)];
  return ordered.length === 0 ? '' : `${formatTags(ordered)}\n`;
}
