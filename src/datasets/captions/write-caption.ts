import { applyChanges, type AppliedEdit } from './apply-changes.ts';
import { formatTags } from './caption-text.ts';
import { resolveDatasetImage } from './dataset-files.ts';
import { withDatasetLock } from './dataset-lock.ts';
import { loadCaption } from './read-caption.ts';

export type WriteCaptionParams = { datasetDir: string; image: string } & ({ text: string } | { tags: readonly string[] });

/**
 * Set one image's caption, as free text or as tags (joined with ", "); undoable like a bulk edit. A blank
 * caption removes the file (see CaptionChange).
 */
export async function writeCaption(params: WriteCaptionParams): Promise<AppliedEdit> {
  const entry = await resolveDatasetImage(params);
  const after = 'text' in params ? params.text : formatTags(params.tags.map((tag) => tag.trim()).filter((tag) => tag !== ''));
  return withDatasetLock(params.datasetDir, async () => {
    const current = await loadCaption(entry);
    const unchanged = current.bytes === null ? after.trim() === '' : current.text === after;
    const changes = unchanged ? [] : [{ entry, beforeBytes: current.bytes, before: current.bytes === null ? null : current.text, after }];
    return applyChanges({ datasetDir: params.datasetDir, label: `edit caption of ${entry.image}`, changes });
  });
}
