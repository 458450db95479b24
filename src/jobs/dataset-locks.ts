/**
 * A dataset is locked from enqueue to the end of every run that uses it (DESIGN.md §3). The locks are rows
 * beside the jobs, so the server and an in-process CLI see the same ones; `datasetLockReason` is the hook the
 * datasets domain asks before every edit.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../core/db/schema.ts';
import { jobsDb } from './job-tables.ts';

/** Why edits of `dataset` are refused now, or undefined when no unfinished run uses it. */
export async function datasetLockReason(db: Kysely<Database>, dataset: string): Promise<string | undefined> {
  const rows = await jobsDb(db)
    .selectFrom('dataset_locks')
    .innerJoin('jobs', 'jobs.id', 'dataset_locks.job_id')
    .select(['jobs.id', 'jobs.state'])
    .where('dataset_locks.dataset', '=', dataset)
    .orderBy('jobs.created_at')
    .execute();
  if (rows.length === 0) return undefined;
  const runs = rows.map((row) => `${row.id} (${row.state})`).join(', ');
  return `it is used by training run${rows.length === 1 ? '' : 's'} ${runs}; a dataset stays locked until its runs end`;
}
