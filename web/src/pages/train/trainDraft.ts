/**
 * Opening the Train page with a config from elsewhere (the Jobs page's “Clone and edit”): the config waits
 * here, in memory, for the Train page to take it when it mounts. Nothing is stored: a reload starts a new run.
 */
import { navigate } from '../../router.ts';
import type { JsonObject } from './types.ts';

export interface TrainDraft {
  config: JsonObject;
  /** Shown above the form, e.g. which job it came from. */
  note: string;
}

let pending: TrainDraft | null = null;

export function openTrainWith(draft: TrainDraft): void {
  pending = draft;
  navigate('/train');
}

/** The waiting draft, if any; it stays until `clearTrainDraft` (React may call a state initialiser twice). */
export function peekTrainDraft(): TrainDraft | null {
  return pending;
}

export function clearTrainDraft(): void {
  pending = null;
}
