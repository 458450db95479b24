import { rm } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { LorasmithError } from '../../core/errors.ts';
import { resolveInside, splitRelativePath } from '../../core/paths.ts';
import { CAPTION_MODE } from './apply-changes.ts';
import { CAPTION_EXTENSION } from './dataset-files.ts';
import { withDatasetLock } from './dataset-lock.ts';
import { readCaptionBytes } from './read-caption.ts';
import { dropUndo, loadUndo, sha256 } from './undo-history.ts';

export interface UndoCaptionEditParams {
  datasetDir: string;
  /** The entry to undo; the newest when absent. */
  id?: string;
  /** Restore even captions edited again since; their later edits are lost. */
  force?: boolean;
}

export interface UndoneEdit {
  id: string;
  label: string;
  restored: string[];
  /** Captions that did not exist before the edit, deleted again. */
  removed: string[];
}

const same = (a: Uint8Array | null, b: Uint8Array | null): boolean =>
  a === null || b === null ? a === b : Buffer.from(a).equals(Buffer.from(b));

/** A caption path from the undo file: treated as untrusted, it must be a `.txt` directly inside a subset. */
async function captionPath(datasetDir: string, caption: string): Promise<string> {
  const segments = splitRelativePath(caption, 'caption path');
  if (segments.length !== 2 || caption.startsWith('.') || !caption.endsWith(CAPTION_EXTENSION)) {
    throw new LorasmithError({
      code: 'caption-undo-corrupt',
      message: `The undo entry names ${JSON.stringify(caption.slice(0, 200))}, which is not a caption of this dataset.`,
      hint: 'The undo history was changed outside lorasmith; delete .lorasmith/undo/ in the dataset.',
    });
  }
  return resolveInside({ root: datasetDir, input: caption, what: 'caption path' });
}

/**
 * Put back the exact bytes every caption had before an edit (deleting captions the edit created). A
 * caption changed again since the edit is a conflict: nothing is restored unless `force` is set.
 */
export async function undoCaptionEdit(params: UndoCaptionEditParams): Promise<UndoneEdit> {
  return withDatasetLock(params.datasetDir, async () => {
    const entry = await loadUndo(params);
    const files = [];
    const conflicts: string[] = [];
    for (const file of entry.files) {
      const target = await captionPath(params.datasetDir, file.caption);
      const current = await readCaptionBytes(target, file.caption);
      // Already back at `before` counts as done: the edit may have stopped part-way.
      const asWritten = current === null ? file.afterSha256 === null : sha256(current) === file.afterSha256;
      const untouched = asWritten || same(current, file.before);
      if (!untouched) conflicts.push(file.caption);
      files.push({ ...file, target });
    }
    if (conflicts.length > 0 && params.force !== true) {
      throw new LorasmithError({
        code: 'caption-undo-conflict',
        message: `Undo of "${entry.label}" would overwrite ${conflicts.length} caption(s) changed since: ${conflicts.slice(0, 5).join(', ')}${conflicts.length > 5 ? ', …' : ''}.`,
        hint: 'Undo the newer edits first, or undo with force to discard those later changes.',
        status: 409,
        details: { conflicts },
      });
    }
    const restored: string[] = [];
    const removed: string[] = [];
    for (const file of files) {
      if (file.before === null) {
        await rm(file.target, { force: true });
        removed.push(file.caption);
      } else {
        await writeFileAtomic(file.target, file.before, CAPTION_MODE);
        restored.push(file.caption);
      }
    }
    await dropUndo({ datasetDir: params.datasetDir, id: entry.id });
    return { id: entry.id, label: entry.label, restored, removed };
  });
}
