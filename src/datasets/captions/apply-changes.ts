import { rm } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { encodeCaption } from './caption-text.ts';
import type { DatasetImage } from './dataset-files.ts';
import { recordUndo } from './undo-history.ts';

/**
 * One caption's before and after, as a preview shows it. `before` is null when there was no caption file;
 * an `after` that is blank removes the file, because kohya stops on an empty caption file but trains an
 * image without one (class tokens or an empty caption).
 */
export interface CaptionChange {
  image: string;
  caption: string;
  before: string | null;
  after: string;
}

/** A change with what apply needs: where to write, and the exact prior bytes for undo. */
export interface PlannedChange {
  entry: DatasetImage;
  beforeBytes: Uint8Array | null;
  before: string | null;
  after: string;
}

export interface AppliedEdit {
  /** Null when nothing changed, so there is nothing to undo. */
  undoId: string | null;
  changes: CaptionChange[];
}

export const toChange = (planned: PlannedChange): CaptionChange => ({
  image: planned.entry.image,
  caption: planned.entry.caption,
  before: planned.before,
  after: planned.after,
});

/** Caption files are dataset content the engine reads, not secrets: group/other may read them. */
export const CAPTION_MODE = 0o644;

/** Record an undo entry, then write every caption atomically. Call under withDatasetLock. */
export async function applyChanges(params: { datasetDir: string; label: string; changes: readonly PlannedChange[] }): Promise<AppliedEdit> {
  const changes = params.changes.map(toChange);
  if (params.changes.length === 0) return { undoId: null, changes };
  // Encode everything first: an oversized result refuses the whole edit before any file is touched.
  const encoded = params.changes.map((planned) => ({
    planned,
    bytes: planned.after.trim() === '' ? null : encodeCaption(planned.after, planned.entry.caption),
  }));
  const undoId = await recordUndo({
    datasetDir: params.datasetDir,
    label: params.label,
    files: encoded.map(({ planned, bytes }) => ({ caption: planned.entry.caption, before: planned.beforeBytes, after: bytes })),
  });
  for (const { planned, bytes } of encoded) {
    if (bytes === null) await rm(planned.entry.captionPath, { force: true });
    else await writeFileAtomic(planned.entry.captionPath, bytes, CAPTION_MODE);
  }
  return { undoId, changes };
}
