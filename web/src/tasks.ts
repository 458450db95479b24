import { isFinalState, type TaskRecord } from './types.ts';

/** Two streams report the same task; never step back to an older record or out of a final state. */
export function laterRecord(current: TaskRecord | null, incoming: TaskRecord): TaskRecord | null {
  if (current === null || current.id !== incoming.id) return current;
  if (isFinalState(current.state) && !isFinalState(incoming.state)) return current;
  const was = Date.parse(current.updatedAt);
  const now = Date.parse(incoming.updatedAt);
  return Number.isNaN(was) || Number.isNaN(now) || now >= was ? incoming : current;
}
