import { mkdir } from 'node:fs/promises';
import { errnoCode } from '../../core/errors.ts';
import { datasetDirOf, datasetExists } from './dataset-dir.ts';
import { newDatasetMeta, writeDatasetMeta } from './meta.ts';

/** An empty dataset: its folder and `.lorasmith/meta.json`. */
export async function createDataset(params: { datasetsRoot: string; name: string; now?: Date }): Promise<string> {
  const dir = await datasetDirOf(params);
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') throw datasetExists(params.name);
    throw error;
  }
  await writeDatasetMeta(dir, newDatasetMeta(params.now));
  return dir;
}
