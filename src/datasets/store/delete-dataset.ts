import { rename } from 'node:fs/promises';
import path from 'node:path';
import { assertUnlocked, existingDatasetDir } from './dataset-dir.ts';
import type { DatasetLock } from './dataset-dir.ts';
import { createStagingDir, removeStagingDir } from './staging.ts';

/** The dataset leaves the store in one rename, then its files are removed from staging. */
export async function deleteDataset(params: { datasetsRoot: string; name: string; isLocked?: DatasetLock }): Promise<void> {
  const dir = await existingDatasetDir(params);
  await assertUnlocked(params);
  const trash = await createStagingDir({ datasetsRoot: params.datasetsRoot, purpose: 'delete' });
  await rename(dir, path.join(trash, 'dataset'));
  await removeStagingDir(trash);
}
