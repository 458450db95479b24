/**
 * `datasets/<name>/.lorasmith/meta.json`: per-subset training metadata (DESIGN.md §3). Subsets are an
 * array, not an object keyed by name, so a subset called `__proto__` is just a string. Written atomically.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { LorasmithError, errnoCode } from '../../core/errors.ts';

export const META_DIR = '.lorasmith';
export const THUMBS_DIR = 'thumbs';
const META_FILE = 'meta.json';

export const subsetMetaSchema = z
  .object({
    repeats: z.number().int().min(1).max(100_000).default(1),
    classTokens: z.string().max(1000).default(''),
    isReg: z.boolean().default(false),
    /** kohya's `caption_extension`; lorasmith writes `.txt`. */
    captionExtension: z.string().regex(/^\.[a-z0-9]{1,16}$/).default('.txt'),
  })
  .strict();
export type SubsetMeta = z.infer<typeof subsetMetaSchema>;

export const DEFAULT_SUBSET_META: Readonly<SubsetMeta> = Object.freeze(subsetMetaSchema.parse({}));

export const datasetMetaSchema = z
  .object({
    version: z.literal(1),
    createdAt: z.string().max(64),
    subsets: z.array(subsetMetaSchema.extend({ name: z.string().min(1).max(400) }).strict()).max(10_000),
  })
  .strict();
export type DatasetMeta = z.infer<typeof datasetMetaSchema>;

export function metaDir(datasetDir: string): string {
  return path.join(datasetDir, META_DIR);
}

export function newDatasetMeta(now: Date = new Date()): DatasetMeta {
  return { version: 1, createdAt: now.toISOString(), subsets: [] };
}

export async function readDatasetMeta(datasetDir: string): Promise<DatasetMeta> {
  let text: string;
  try {
    text = await readFile(path.join(metaDir(datasetDir), META_FILE), 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return newDatasetMeta(new Date(0));
    throw error;
  }
  const parsed = datasetMetaSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new LorasmithError({
      code: 'dataset-meta-invalid',
      message: `The metadata of dataset folder ${path.basename(datasetDir)} (.lorasmith/meta.json) is invalid: ${z.prettifyError(parsed.error)}`,
      hint: 'Fix or delete .lorasmith/meta.json in the dataset folder; deleting it resets repeats and class tokens to defaults.',
      exitCode: 1,
    });
  }
  return parsed.data;
}

export async function writeDatasetMeta(datasetDir: string, meta: DatasetMeta): Promise<void> {
  const checked = datasetMetaSchema.parse(meta);
  await mkdir(metaDir(datasetDir), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path.join(metaDir(datasetDir), META_FILE), `${JSON.stringify(checked, null, 2)}\n`);
}

/** A subset's metadata, defaults when meta.json does not mention it. */
export function subsetMetaOf(meta: DatasetMeta, subset: string): SubsetMeta {
  const found = meta.subsets.find((entry) => entry.name === subset);
  if (found === undefined) return { ...DEFAULT_SUBSET_META };
  const { name: _name, ...rest } = found;
  return rest;
}
