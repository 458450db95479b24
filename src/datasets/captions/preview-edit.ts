import { toChange, type CaptionChange } from './apply-changes.ts';
import type { DatasetScope } from './dataset-files.ts';
import type { CaptionEdit } from './edit-ops.ts';
import { planEdit } from './plan-edit.ts';

export interface CaptionEditParams extends DatasetScope {
  edit: CaptionEdit;
}

export interface CaptionPreview {
  /** Only the captions that would change, before and after. */
  changes: CaptionChange[];
  /** Images in scope, changed or not. */
  images: number;
}

/** Before/after for every caption the edit would change; nothing is written. */
export async function previewCaptionEdit(params: CaptionEditParams): Promise<CaptionPreview> {
  const plan = await planEdit(params, params.edit);
  return { changes: plan.changes.map(toChange), images: plan.images };
}
