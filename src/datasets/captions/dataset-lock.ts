import path from 'node:path';

const tails = new Map<string, Promise<unknown>>();

/**
 * Run caption writes of one dataset one after another within this process, so two bulk edits (two browser
 * tabs, CLI and UI) cannot interleave their writes and leave an undo entry that no longer matches the files.
 */
export async function withDatasetLock<T>(datasetDir: string, run: () => Promise<T>): Promise<T> {
  const key = path.resolve(datasetDir);
  const current = (tails.get(key) ?? Promise.resolve()).then(run, run);
  const tail = current.catch(() => undefined);
  tails.set(key, tail);
  try {
    return await current;
  } finally {
    if (tails.get(key) === tail) tails.delete(key);
  }
}
