/**
 * Staging (ARC-R05): imports build a dataset in a fresh 0700 folder under `datasets/.staging/`, on the same
 * filesystem as the store so that the finished dataset arrives with one atomic rename, and a refused or
 * crashed import leaves nothing in the store. Deletes go through it too, so a dataset vanishes at once.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { assertDatasetNameFree } from './dataset-dir.ts';
import { makeDirInside } from './new-files.ts';

export const STAGING_DIR = '.staging';

/** A new, empty, private folder inside `datasets/.staging/`. */
export async function createStagingDir(params: { datasetsRoot: string; purpose: string }): Promise<string> {
  const root = await makeDirInside({ root: params.datasetsRoot, segments: [STAGING_DIR] });
  const dir = path.join(root, `${params.purpose}-${randomBytes(8).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  // makeDirInside checked the parent; this checks the new folder itself.
  return makeDirInside({ root, segments: [path.basename(dir)] });
}

export async function removeStagingDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Move a finished staging folder into the store as dataset `name` (which must still be free). */
export async function commitStagingDir(params: { staging: string; datasetsRoot: string; name: string }): Promise<string> {
  const target = await assertDatasetNameFree({ datasetsRoot: params.datasetsRoot, name: params.name });
  await rename(params.staging, target);
  return target;
}
