/**
 * Caption undo history: `datasetDir/.lorasmith/undo/<id>.json`, one file per applied edit, holding the
 * exact prior bytes of every caption it touched (null: the file did not exist) and a hash of what it wrote.
 * The entry is written before the first caption, so an edit cut short can still be undone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { LorasmithError, errnoCode } from '../../core/errors.ts';
import { resolveInside } from '../../core/paths.ts';
import { LORASMITH_DIR } from './dataset-files.ts';

/** Enough for a session of bulk edits; older entries are dropped so the history cannot grow without end. */
export const MAX_UNDO_ENTRIES = 50;
const ID_PATTERN = /^\d{13}-[0-9a-f]{8}$/;

export interface UndoFile {
  /** `<subset>/<stem>.txt`, relative to the dataset. */
  caption: string;
  before: Uint8Array | null;
  /** Null when the edit removed the file. */
  after: Uint8Array | null;
}

interface StoredEntry {
  version: 1;
  id: string;
  createdAt: string;
  label: string;
  files: Array<{ caption: string; before: string | null; afterSha256: string | null }>;
}

export interface CaptionUndoSummary {
  id: string;
  createdAt: string;
  label: string;
  files: number;
}

// Ids must sort in the order edits were made, even two within one millisecond.
let lastStamp = 0;

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Through resolveInside, so a `.lorasmith` symlink planted in an imported dataset cannot lead writes out. */
async function undoDir(datasetDir: string): Promise<string> {
  return resolveInside({ root: datasetDir, input: `${LORASMITH_DIR}/undo`, what: 'undo folder' });
}

function unknownEntry(id: string): LorasmithError {
  return new LorasmithError({
    code: 'caption-undo-not-found',
    message: `There is no caption undo entry ${JSON.stringify(id.slice(0, 80))} in this dataset.`,
    hint: 'List the undo history and pick one of its ids; an entry is gone once it has been undone.',
    status: 404,
  });
}

async function entryPath(datasetDir: string, id: string): Promise<string> {
  if (!ID_PATTERN.test(id)) throw unknownEntry(id);
  return resolveInside({ root: await undoDir(datasetDir), input: `${id}.json`, what: 'undo entry' });
}

/** Entry ids, oldest first: ids start with a millisecond stamp. */
async function entryIds(datasetDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(await undoDir(datasetDir));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  return names
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -5))
    .filter((id) => ID_PATTERN.test(id))
    .sort();
}

async function readEntry(datasetDir: string, id: string): Promise<StoredEntry> {
  try {
    return JSON.parse(await readFile(await entryPath(datasetDir, id), 'utf8')) as StoredEntry;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw unknownEntry(id);
    throw error;
  }
}

/** Record an edit about to be applied; returns the entry's id. */
export async function recordUndo(params: { datasetDir: string; label: string; files: readonly UndoFile[]; now?: Date }): Promise<string> {
  const now = params.now ?? new Date();
  lastStamp = Math.max(now.getTime(), lastStamp + 1);
  const id = `${String(lastStamp).padStart(13, '0')}-${randomBytes(4).toString('hex')}`;
  const entry: StoredEntry = {
    version: 1,
    id,
    createdAt: now.toISOString(),
    label: params.label,
    files: params.files.map((file) => ({
      caption: file.caption,
      before: file.before === null ? null : Buffer.from(file.before).toString('base64'),
      afterSha256: file.after === null ? null : sha256(file.after),
    })),
  };
  const dir = await undoDir(params.datasetDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(await entryPath(params.datasetDir, id), JSON.stringify(entry));
  const ids = await entryIds(params.datasetDir);
  for (const old of ids.slice(0, Math.max(0, ids.length - MAX_UNDO_ENTRIES))) await dropUndo({ datasetDir: params.datasetDir, id: old });
  return id;
}

/** Newest first. */
export async function listCaptionUndo(params: { datasetDir: string }): Promise<CaptionUndoSummary[]> {
  const summaries: CaptionUndoSummary[] = [];
  for (const id of (await entryIds(params.datasetDir)).reverse()) {
    const entry = await readEntry(params.datasetDir, id);
    summaries.push({ id: entry.id, createdAt: entry.createdAt, label: entry.label, files: entry.files.length });
  }
  return summaries;
}

export interface StoredUndo {
  id: string;
  label: string;
  files: Array<{ caption: string; before: Uint8Array | null; afterSha256: string | null }>;
}

/** One entry by id, or the newest when `id` is absent. */
export async function loadUndo(params: { datasetDir: string; id?: string }): Promise<StoredUndo> {
  const id = params.id ?? (await entryIds(params.datasetDir)).at(-1);
  if (id === undefined) {
    throw new LorasmithError({
      code: 'caption-undo-empty',
      message: 'There is no caption edit to undo in this dataset.',
      hint: 'Undo is recorded for edits made in lorasmith; edits made outside it cannot be undone here.',
      status: 404,
    });
  }
  const entry = await readEntry(params.datasetDir, id);
  return {
    id: entry.id,
    label: entry.label,
    files: entry.files.map((file) => ({
      caption: file.caption,
      before: file.before === null ? null : new Uint8Array(Buffer.from(file.before, 'base64')),
      afterSha256: file.afterSha256,
    })),
  };
}

export async function dropUndo(params: { datasetDir: string; id: string }): Promise<void> {
  await rm(await entryPath(params.datasetDir, params.id), { force: true });
}
