import { readdir } from 'node:fs/promises';
import { isLorasmithError } from '../../core/errors.ts';
import { checkDatasetName } from './names.ts';
import { summarizeDataset } from './show-dataset.ts';
import type { DatasetSummary } from './show-dataset.ts';

function isDatasetName(name: string): boolean {
  try {
    checkDatasetName(name);
    return true;
  } catch (error) {
    if (isLorasmithError(error)) return false;
    throw error;
  }
}

/** Every folder under `datasets/` with a valid dataset name; staging and stray folders are not datasets. */
export async function listDatasets(params: { datasetsRoot: string }): Promise<DatasetSummary[]> {
  const entries = await readdir(params.datasetsRoot, { withFileTypes: true });
  const names = entries.filter((entry) => entry.isDirectory() && isDatasetName(entry.name)).map((entry) => entry.name).sort();
  const summaries: DatasetSummary[] = [];
  for (const name of names) summaries.push(await summarizeDataset({ datasetsRoot: params.datasetsRoot, name }));
  return summaries;
}
