import { applyChanges, type AppliedEdit } from './apply-changes.ts';
import { withDatasetLock } from './dataset-lock.ts';
import { describeEdit } from './edit-ops.ts';
import { planEdit } from './plan-edit.ts';
import type { CaptionEditParams } from './preview-edit.ts';

/**
 * Apply a bulk edit and record its undo entry. The edit is planned again from the files as they are now,
 * under the dataset's lock, so what is written never rests on a stale preview.
 */
export async function applyCaptionEdit(params: CaptionEditParams): Promise<AppliedEdit> {
  return withDatasetLock(params.datasetDir, async () => {
    const plan = await planEdit(params, params.edit);
    const label = `${describeEdit(params.edit)}${params.subset === undefined ? '' : ` in ${params.subset}`}`;
    return applyChanges({ datasetDir: params.datasetDir, label, changes: plan.changes });
  });
}
