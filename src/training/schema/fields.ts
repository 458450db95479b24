/**
 * Field types both run kinds share. Every number is bounded and every string length-bounded (WEB-R13): the run
 * config arrives from the API, the CLI and imported files, and ends up in engine config files.
 */
import { z } from 'zod';

export const RUN_SCHEMA_ID = 'lorasmith/run@1';

/** Library ids are UUIDs today; the bound leaves room without letting a path or a paragraph through. */
export const libraryId = z.string().min(1).max(100).regex(/^[A-Za-z0-9._:-]+$/);

/** Same rule as the dataset store (src/datasets/store/names.ts), so a name the store accepts is accepted here. */
export const datasetName = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);

export const subsetName = z.string().min(1).max(100).regex(/^[\p{L}\p{N}][\p{L}\p{N}\p{M} ._()-]{0,99}$/u);

/** Becomes a file name in the run's output folder and the library (`<name>.safetensors`, `<name>-000001…`). */
export const outputName = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);

/** kohya's `--seed` is drawn from 0..2^32 when unset; the same range for an explicit one. */
export const seed = z.number().int().min(0).max(4_294_967_295);

/** Free text that ends up in a config file or a prompt: one line, no control characters. */
export function singleLine(max: number): z.ZodString {
  // A newline would split a kohya prompt-file line; other controls have no business in a caption or a prompt.
  return z.string().max(max).regex(/^[^\u0000-\u001f\u007f]*$/u);
}
