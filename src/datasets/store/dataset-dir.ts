/** Where a dataset lives, and the errors for one that is missing, taken or locked. */
import { lstat } from 'node:fs/promises';
import { LorasmithError, errnoCode } from '../../core/errors.ts';
import { resolveInside } from '../../core/paths.ts';
import { checkDatasetName } from './names.ts';

/**
 * The lock hook (DESIGN.md §3: a dataset is locked from enqueue to the end of every run that uses it): the
 * reason it is locked, or undefined when edits are allowed. The jobs module provides it.
 */
export type DatasetLock = (name: string) => string | undefined | Promise<string | undefined>;

export function datasetDirOf(params: { datasetsRoot: string; name: string }): Promise<string> {
  return resolveInside({ root: params.datasetsRoot, input: checkDatasetName(params.name), what: 'dataset path' });
}

export function datasetNotFound(name: string): LorasmithError {
  return new LorasmithError({
    code: 'dataset-not-found',
    message: `There is no dataset named ${JSON.stringify(name)}.`,
    hint: 'List datasets with `lorasmith dataset list`.',
    status: 404,
  });
}

export function datasetExists(name: string): LorasmithError {
  return new LorasmithError({
    code: 'dataset-exists',
    message: `A dataset named ${JSON.stringify(name)} already exists.`,
    hint: 'Pick another name, or rename or delete the existing dataset first.',
    status: 409,
  });
}

/** The dataset's folder, which must exist and be a real folder. */
export async function existingDatasetDir(params: { datasetsRoot: string; name: string }): Promise<string> {
  const dir = await datasetDirOf(params);
  try {
    if ((await lstat(dir)).isDirectory()) return dir;
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  throw datasetNotFound(params.name);
}

export async function assertUnlocked(params: { name: string; isLocked?: DatasetLock | undefined }): Promise<void> {
  const reason = await params.isLocked?.(params.name);
  if (reason === undefined) return;
  throw new LorasmithError({
    code: 'dataset-locked',
    message: `Dataset ${JSON.stringify(params.name)} cannot be changed now: ${reason}.`,
    hint: 'Wait until the runs that use it have finished, or stop them, then try again.',
    status: 409,
  });
}

/**
 * The new name's folder must not exist. Checked before a rename, which would silently replace an empty
 * folder of that name, and before an import starts, so it fails before any work.
 */
export async function assertDatasetNameFree(params: { datasetsRoot: string; name: string }): Promise<string> {
  const dir = await datasetDirOf(params);
  try {
    await lstat(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return dir;
    throw error;
  }
  throw datasetExists(params.name);
}
