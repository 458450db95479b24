/**
 * What a dataset holds, read from disk: subsets are the sub-folders (dot-folders and links are not), images
 * the files kohya would train on, each with its header's size and type and whether its caption exists.
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { openFileSource } from '../../formats/torch/byte-source.ts';
import { readDeclaredDimensions } from '../images/declared-dimensions.ts';
import { SNIFF_BYTES, sniffImageType } from '../images/image-types.ts';
import type { ImageType } from '../images/image-types.ts';
import { stemOf } from '../images/stored-name.ts';

/** The extensions an import stores (ARC-R06), all lower-case. */
export const STORED_IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.webp']);

export interface ImageRecord {
  subset: string;
  file: string;
  /** null when the file's header cannot be read (changed on disk since import). */
  format: ImageType | null;
  width: number | null;
  height: number | null;
  caption: boolean;
}

export async function subsetFolders(datasetDir: string): Promise<string[]> {
  const entries = await readdir(datasetDir, { withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name).sort();
}

export function imageFilesOf(entries: readonly Dirent[]): string[] {
  return entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && STORED_IMAGE_EXTENSIONS.has(path.extname(entry.name)))
    .map((entry) => entry.name)
    .sort();
}

async function describe(file: string): Promise<Pick<ImageRecord, 'format' | 'width' | 'height'>> {
  const source = await openFileSource(file);
  try {
    const sniffed = sniffImageType(await source.read(0, Math.min(SNIFF_BYTES, source.size)));
    if (sniffed.type === undefined) return { format: null, width: null, height: null };
    const dimensions = await readDeclaredDimensions({ source, type: sniffed.type }).catch(() => undefined);
    return { format: sniffed.type, width: dimensions?.width ?? null, height: dimensions?.height ?? null };
  } finally {
    await source.close();
  }
}

export async function listSubsetImages(params: { datasetDir: string; subset: string; captionExtension: string }): Promise<ImageRecord[]> {
  const dir = path.join(params.datasetDir, params.subset);
  const entries = await readdir(dir, { withFileTypes: true });
  const names = new Set(entries.filter((entry) => entry.isFile()).map((entry) => entry.name));
  const records: ImageRecord[] = [];
  for (const file of imageFilesOf(entries)) {
    records.push({
      subset: params.subset,
      file,
      ...(await describe(path.join(dir, file))),
      caption: names.has(`${stemOf(file)}${params.captionExtension}`),
    });
  }
  return records;
}
