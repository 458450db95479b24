import type { PlannedChange } from './apply-changes.ts';
import { formatTags, parseTags, retag } from './caption-text.ts';
import type { DatasetScope } from './dataset-files.ts';
import { applyTagEdit, checkEdit, type CaptionEdit } from './edit-ops.ts';
import { loadCaptions, type LoadedCaption } from './read-caption.ts';
import { replaceWithRegex } from './regex-replace.ts';

type ReplaceEdit = Extract<CaptionEdit, { op: 'replace' }>;

async function replaceAll(edit: ReplaceEdit, inputs: readonly string[]): Promise<string[]> {
  if (edit.regex === true) {
    return replaceWithRegex({
      pattern: edit.find,
      replacement: edit.replacement,
      inputs,
      ...(edit.flags === undefined ? {} : { flags: edit.flags }),
      ...(edit.timeBudgetMs === undefined ? {} : { timeBudgetMs: edit.timeBudgetMs }),
    });
  }
  // split/join, not String.replaceAll: a literal replacement must not interpret `$&` or `$1`.
  return inputs.map((input) => input.split(edit.find).join(edit.replacement));
}

/** The new text of every caption, in order; all regex work happens in one worker call. */
async function newTexts(captions: readonly LoadedCaption[], edit: CaptionEdit): Promise<string[]> {
  if (edit.op !== 'replace') return captions.map((caption) => retag(caption.text, applyTagEdit(parseTags(caption.text), edit)));
  if (edit.target !== 'tags') return replaceAll(edit, captions.map((caption) => caption.text));
  const tagLists = captions.map((caption) => parseTags(caption.text));
  const replaced = await replaceAll(edit, tagLists.flat());
  let next = 0;
  return captions.map((caption, i) => {
    const count = tagLists[i]?.length ?? 0;
    const mapped = replaced.slice(next, next + count);
    next += count;
    // Re-parse: a replacement may empty a tag (removed) or contain commas (several tags).
    return retag(caption.text, parseTags(formatTags(mapped)));
  });
}

/** What an edit would change over a dataset or subset, reading current files; writes nothing. */
export async function planEdit(scope: DatasetScope, edit: CaptionEdit): Promise<{ changes: PlannedChange[]; images: number }> {
  checkEdit(edit);
  const captions = await loadCaptions(scope);
  const texts = await newTexts(captions, edit);
  const changes: PlannedChange[] = [];
  captions.forEach((caption, i) => {
    const after = texts[i] ?? caption.text;
    // A missing caption that stays blank is not a change: blank captions are never written.
    if (caption.bytes === null ? after.trim() === '' : after === caption.text) return;
    changes.push({ entry: caption.entry, beforeBytes: caption.bytes, before: caption.bytes === null ? null : caption.text, after });
  });
  return { changes, images: captions.length };
}
