/**
 * `dataset-tag`: auto-tag a dataset (or one subset) with a tagger from the library, as a task with
 * per-image progress. Images are tagged first and captions written at the end, in one undoable caption
 * edit under the dataset's caption lock, merged with the captions as they are then: so a cancel leaves
 * every caption untouched, and an edit made while the model ran is merged, not lost.
 */
import path from 'node:path';
import { z } from 'zod';
import type { TaskContext, TaskKind } from '../../tasks/task-types.ts';
import { applyChanges, type PlannedChange } from '../captions/apply-changes.ts';
import { listDatasetImages, type DatasetImage } from '../captions/dataset-files.ts';
import { withDatasetLock } from '../captions/dataset-lock.ts';
import { loadCaption } from '../captions/read-caption.ts';
import { MODEL_FILE, TAGS_FILE } from './load-tagger.ts';
import { MERGE_MODES, hasCaption, mergeCaption } from './merge-caption.ts';
import { tagImages, taggingOptionsSchema, type FailedImage } from './tagger.ts';

const absolute = (what: string) => z.string().min(1).refine((value) => path.isAbsolute(value), `${what} must be an absolute path.`);

export const tagDatasetParamsSchema = taggingOptionsSchema.extend({
  datasetDir: absolute('datasetDir'),
  subset: z.string().min(1).optional(),
  /** A tagger library entry's folder: model.onnx and selected_tags.csv. */
  modelDir: absolute('modelDir'),
  /** `skip` by default: existing captions are only touched when asked. */
  mode: z.enum(MERGE_MODES).default('skip'),
});

export type TagDatasetParams = z.infer<typeof tagDatasetParamsSchema>;

export interface TagDatasetResult {
  images: number;
  /** Images the model ran on. */
  tagged: number;
  /** Images left alone because they had a caption (mode `skip`). */
  skipped: number;
  /** Caption files written or removed. */
  changed: number;
  failed: FailedImage[];
  /** The caption undo entry, null when nothing changed. */
  undoId: string | null;
}

export async function tagDataset(params: TagDatasetParams, ctx: TaskContext): Promise<TagDatasetResult> {
  const { datasetDir, subset, modelDir, mode, ...options } = params;
  ctx.detail('listing images');
  const all = await listDatasetImages(subset === undefined ? { datasetDir } : { datasetDir, subset });
  const todo: DatasetImage[] = [];
  for (const entry of all) {
    // Every caption is read now, so one that cannot be read fails the task before the model runs, not
    // after. Skipped images are not even decoded; their captions are checked again at write time.
    const { text } = await loadCaption(entry);
    if (mode !== 'skip' || !hasCaption(text)) todo.push(entry);
  }
  const skipped = all.length - todo.length;
  ctx.progress({ done: 0, total: todo.length, message: skipped > 0 ? `${skipped} captioned images skipped` : null });
  ctx.detail('tagging');
  const byPath = new Map(todo.map((entry) => [entry.imagePath, entry]));
  const result = await tagImages({
    modelPath: path.join(modelDir, MODEL_FILE),
    tagsCsvPath: path.join(modelDir, TAGS_FILE),
    images: todo.map((entry) => entry.imagePath),
    options,
    signal: ctx.signal,
    onProgress: ({ done, total, image }) => ctx.progress({ done, total, message: byPath.get(image)?.image ?? null }),
  });
  const failed = result.failed.map((failure) => ({ ...failure, image: byPath.get(failure.image)?.image ?? failure.image }));
  for (const failure of failed) ctx.log.warn({ image: failure.image, code: failure.code }, 'image not tagged');

  ctx.detail('writing captions');
  const applied = await withDatasetLock(datasetDir, async () => {
    const changes: PlannedChange[] = [];
    for (const tagged of result.tagged) {
      const entry = byPath.get(tagged.image);
      if (entry === undefined) continue;
      const current = await loadCaption(entry);
      const existing = current.bytes === null ? null : current.text;
      const after = mergeCaption({ mode, existing, tags: tagged.tags, triggerWord: options.triggerWord });
      if (after === null || after === (existing ?? '')) continue;
      changes.push({ entry, beforeBytes: current.bytes, before: existing, after });
    }
    const label = `auto-tag with ${path.basename(modelDir)} (${mode})${subset === undefined ? '' : ` in ${subset}`}`;
    return applyChanges({ datasetDir, label, changes });
  });
  return { images: all.length, tagged: result.tagged.length, skipped, changed: applied.changes.length, failed, undoId: applied.undoId };
}

export const tagDatasetTask: TaskKind<TagDatasetParams> = {
  kind: 'dataset-tag',
  params: tagDatasetParamsSchema,
  // One model run already uses several cores; two at once would only compete for them.
  concurrency: 1,
  run: tagDataset,
};
