import { assertUnlocked, existingDatasetDir } from './dataset-dir.ts';
import type { DatasetLock } from './dataset-dir.ts';
import { readDatasetMeta, subsetMetaOf, subsetMetaSchema, writeDatasetMeta } from './meta.ts';
import type { SubsetMeta } from './meta.ts';
import { checkSubsetName } from './names.ts';
import { makeDirInside } from './new-files.ts';

/** Create a subset (its folder) if needed and set some of its metadata; the rest keeps its value. */
export async function setSubset(params: {
  datasetsRoot: string;
  name: string;
  subset: string;
  meta?: Partial<SubsetMeta>;
  isLocked?: DatasetLock;
}): Promise<SubsetMeta> {
  const dir = await existingDatasetDir(params);
  const subset = checkSubsetName(params.subset);
  await assertUnlocked(params);
  await makeDirInside({ root: dir, segments: [subset] });
  const meta = await readDatasetMeta(dir);
  const next = subsetMetaSchema.parse({ ...subsetMetaOf(meta, subset), ...params.meta });
  await writeDatasetMeta(dir, { ...meta, subsets: [...meta.subsets.filter((entry) => entry.name !== subset), { name: subset, ...next }] });
  return next;
}
