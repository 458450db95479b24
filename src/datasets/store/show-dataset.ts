import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { existingDatasetDir } from './dataset-dir.ts';
import { imageFilesOf, listSubsetImages, subsetFolders } from './list-images.ts';
import type { ImageRecord } from './list-images.ts';
import { readDatasetMeta, subsetMetaOf } from './meta.ts';
import type { SubsetMeta } from './meta.ts';

export interface SubsetSummary extends SubsetMeta {
  name: string;
  imageCount: number;
}

export interface DatasetSummary {
  name: string;
  createdAt: string;
  subsets: SubsetSummary[];
  imageCount: number;
}

export interface DatasetDetails extends DatasetSummary {
  images: ImageRecord[];
}

/** Subsets with their metadata and image counts; no image is opened. */
export async function summarizeDataset(params: { datasetsRoot: string; name: string }): Promise<DatasetSummary> {
  const dir = await existingDatasetDir(params);
  const meta = await readDatasetMeta(dir);
  const subsets: SubsetSummary[] = [];
  for (const subset of await subsetFolders(dir)) {
    const imageCount = imageFilesOf(await readdir(path.join(dir, subset), { withFileTypes: true })).length;
    subsets.push({ name: subset, ...subsetMetaOf(meta, subset), imageCount });
  }
  return { name: params.name, createdAt: meta.createdAt, subsets, imageCount: subsets.reduce((sum, s) => sum + s.imageCount, 0) };
}

/** The summary plus every image with its header's size, type and caption presence. */
export async function showDataset(params: { datasetsRoot: string; name: string }): Promise<DatasetDetails> {
  const summary = await summarizeDataset(params);
  const dir = await existingDatasetDir(params);
  const images: ImageRecord[] = [];
  for (const subset of summary.subsets) images.push(...(await listSubsetImages({ datasetDir: dir, subset: subset.name, captionExtension: subset.captionExtension })));
  return { ...summary, images };
}
