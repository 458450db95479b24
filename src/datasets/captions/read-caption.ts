import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { LorasmithError, errnoCode } from '../../core/errors.ts';
import { MAX_CAPTION_BYTES, decodeCaption, parseTags } from './caption-text.ts';
import type { CaptionRecord } from '../dataset-api-types.ts';
import { listDatasetImages, resolveDatasetImage, type DatasetImage, type DatasetScope } from './dataset-files.ts';

export type { CaptionRecord };

/** A caption as found on disk: the exact bytes (for undo) and its text. */
export interface LoadedCaption {
  entry: DatasetImage;
  bytes: Uint8Array | null;
  text: string;
}

/**
 * The raw bytes of a caption file (`caption` names it in messages), or null when there is none.
 * O_NOFOLLOW: a caption that is a symlink is refused rather than read, so a planted link cannot show
 * another file's content.
 */
export async function readCaptionBytes(file: string, caption: string): Promise<Uint8Array | null> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    if (errnoCode(error) === 'ELOOP') {
      throw new LorasmithError({
        code: 'caption-not-a-file',
        message: `The caption ${caption} is a symbolic link, not a file.`,
        hint: 'Replace the link with a plain .txt file.',
      });
    }
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new LorasmithError({
        code: 'caption-not-a-file',
        message: `The caption ${caption} is not a regular file.`,
        hint: 'Remove whatever has the caption’s name and write the caption again.',
      });
    }
    // Read one byte past the limit so an oversized file is caught without reading all of it.
    const buffer = Buffer.alloc(MAX_CAPTION_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return new Uint8Array(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

export async function loadCaption(entry: DatasetImage): Promise<LoadedCaption> {
  const bytes = await readCaptionBytes(entry.captionPath, entry.caption);
  return { entry, bytes, text: bytes === null ? '' : decodeCaption(bytes, entry.caption) };
}

/** Every caption of a dataset or subset, in listing order. */
export async function loadCaptions(scope: DatasetScope): Promise<LoadedCaption[]> {
  const loaded: LoadedCaption[] = [];
  for (const entry of await listDatasetImages(scope)) loaded.push(await loadCaption(entry));
  return loaded;
}

export function toRecord(loaded: LoadedCaption): CaptionRecord {
  return {
    image: loaded.entry.image,
    caption: loaded.entry.caption,
    exists: loaded.bytes !== null,
    text: loaded.text,
    tags: parseTags(loaded.text),
  };
}

/** One image's caption, as text and as tags. */
export async function readCaption(params: { datasetDir: string; image: string }): Promise<CaptionRecord> {
  return toRecord(await loadCaption(await resolveDatasetImage(params)));
}
