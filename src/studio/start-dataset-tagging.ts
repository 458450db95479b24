/**
 * Auto-tagging joins two domains: a dataset (by name) and a tagger from the library (by id). Clients name
 * both by id; only here do they become the absolute folders the `dataset-tag` task reads.
 */
import path from 'node:path';
import { z } from 'zod';
import { LorasmithError } from '../core/errors.ts';
import { existingDatasetDir } from '../datasets/store/index.ts';
import { MERGE_MODES } from '../datasets/tagging/merge-caption.ts';
import type { TaskRecord } from '../tasks/task-types.ts';
import type { Studio } from './studio.ts';

export const taggingRequestSchema = z
  .object({
    modelId: z.string().min(1).max(100),
    subset: z.string().min(1).max(200).optional(),
    generalThreshold: z.number().min(0).max(1).optional(),
    characterThreshold: z.number().min(0).max(1).optional(),
    exclude: z.array(z.string().min(1).max(200)).max(1000).optional(),
    triggerWord: z.string().min(1).max(200).optional(),
    mode: z.enum(MERGE_MODES).default('skip'),
  })
  .strict();
export type TaggingRequest = z.infer<typeof taggingRequestSchema>;

export async function startDatasetTagging(studio: Pick<Studio, 'datasets' | 'library' | 'tasks'>, dataset: string, request: TaggingRequest): Promise<TaskRecord> {
  const model = await studio.library.get(request.modelId);
  if (model.kind !== 'tagger') {
    throw new LorasmithError({
      code: 'not-a-tagger',
      message: `${model.name} is a ${model.kind}, not a tagger.`,
      hint: 'Import a WD14 tagger folder (model.onnx + selected_tags.csv) with `lorasmith models import FOLDER`.',
    });
  }
  const datasetDir = await existingDatasetDir({ datasetsRoot: studio.datasets.root, name: dataset });
  const locked = await studio.datasets.isLocked(dataset);
  if (locked !== undefined) throw new LorasmithError({ code: 'dataset-locked', message: `Dataset ${JSON.stringify(dataset)} cannot be changed now: ${locked}.`, hint: 'Wait for the run to end.', status: 409 });
  const { modelId: _modelId, ...options } = request;
  return studio.tasks.start('dataset-tag', { ...options, datasetDir, modelDir: path.dirname(await studio.library.fileOf(model.id)) });
}
