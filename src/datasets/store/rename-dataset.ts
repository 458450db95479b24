import { rename } from 'node:fs/promises';
import { assertDatasetNameFree, assertUnlocked, existingDatasetDir } from './dataset-dir.ts';
import type { DatasetLock } from './dataset-dir.ts';

export async function renameDataset(params: { datasetsRoot: string; name: string; newName: string; isLocked?: DatasetLock }): Promise<void> {
  const from = await existingDatasetDir(params);
  await assertUnlocked(params);
  const to = await assertDatasetNameFree({ datasetsRoot: params.datasetsRoot, name: params.newName });
  await rename(from, to);
}
