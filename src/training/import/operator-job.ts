/**
 * An imported config as a queued job (DESIGN.md §6.3, issue 7 point 6): what a job keeps of it, and how the
 * job turns that back into operator inputs. The job keeps the request — the config file's text, its name,
 * its folder and the format it was read as — not the scan: the inputs are imported, resolved and scanned again
 * when the run is enqueued and again when it starts (`prepareOperatorImport`), so what the engine gets is what
 * was scanned then, and the manifest's hashes (`operatorInputFiles`) show whether anything changed in between.
 * Only the CLI names operator paths: over HTTP the route takes a request only with the install's API secret.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { LorasmithError } from '../../core/errors.ts';
import type { RunResolver } from '../validate/index.ts';
import { RUN_FAMILIES, type RunFamily } from '../schema/index.ts';
import { importConfig } from './import-config.ts';
import { prepareOperatorInputs, type OperatorRun } from './operator-inputs.ts';
import { IMPORT_FORMATS, type ImportFailure, type ImportFormat, type ImportSuccess } from './types.ts';

/** A run config is a few KiB; the CLI refuses larger files before reading them. */
export const MAX_IMPORT_TEXT = 1024 * 1024;

/** What a job keeps of an imported config (the `operator` column, JSON). */
export interface OperatorImport {
  /** The config file's text as the operator's file held it. */
  text: string;
  /** Its file name (detection and messages). */
  fileName: string;
  /** Absolute: relative paths in the file are taken from here. */
  baseDir: string;
  /** The format it was read as (fixed at enqueue, so a start reads it the same way). */
  from: ImportFormat;
  family?: RunFamily;
}

export const operatorImportSchema = z
  .object({
    text: z.string().min(1).max(MAX_IMPORT_TEXT),
    fileName: z.string().min(1).max(255),
    baseDir: z.string().min(1).max(4096).refine((dir) => path.isAbsolute(dir), 'an absolute folder'),
    from: z.enum(IMPORT_FORMATS),
    family: z.enum(RUN_FAMILIES).optional(),
  })
  .strict();

const IMPORT_HINTS: Record<string, string> = {
  'resume-refused': 'Remove `resume` from the file and run it again; to continue from a LoRA file use network_weights. A lorasmith run is resumed from its own job.',
  'format-unknown': `Name the format: --from ${IMPORT_FORMATS.join('|')}.`,
  'parse-failed': 'Fix the file’s syntax, or name its format with --from.',
  'already-lorasmith': 'Drop --from.',
  'not-a-lora-run': 'lorasmith imports LoRA training configs; write this run in lorasmith’s schema instead.',
};

/** An importer's refusal (a `resume` state folder among them) as the error the CLI and the API report. */
export function importFailureError(file: string, failure: ImportFailure): LorasmithError {
  const code = failure.error.code;
  return new LorasmithError({
    code,
    message: `${file}: ${failure.error.message}`,
    hint: IMPORT_HINTS[code] ?? 'See `lorasmith train --help`.',
    exitCode: code === 'resume-refused' || code === 'not-a-lora-run' ? 1 : 2,
    status: 422,
  });
}

/** Import the kept config again: the same text read as the same format gives the same config and paths. */
export function reimport(request: OperatorImport): ImportSuccess {
  const result = importConfig({ text: request.text, fileName: request.fileName, from: request.from, ...(request.family === undefined ? {} : { family: request.family }) });
  if (!result.ok) throw importFailureError(path.join(request.baseDir, request.fileName), result);
  return result;
}

/**
 * Import, resolve and scan a job's operator inputs for the run folder `runDir` (a checkpoint converts into
 * `<runDir>/inputs/`). Throws `operator-input-refused` naming the first refused input (an unsafe or missing
 * file); warnings (a skipped folder) stay in the result.
 */
export async function prepareOperatorImport(request: OperatorImport, runDir: string): Promise<OperatorRun> {
  const operator = await prepareOperatorInputs({ imported: reimport(request), baseDir: request.baseDir, runDir });
  const refused = operator.issues.filter((issue) => issue.severity === 'error');
  const first = refused[0];
  if (first !== undefined) {
    throw new LorasmithError({
      code: 'operator-input-refused',
      message: `${refused.length === 1 ? 'An input' : `${refused.length} inputs`} of ${request.fileName} cannot be used; ${first.path === '' ? '' : `${first.path}: `}${first.message}`,
      hint: first.hint || 'Check the run with `lorasmith train CONFIG --dry-run`.',
      exitCode: 1,
      status: 422,
      details: { issues: operator.issues },
    });
  }
  return operator;
}

/** Validation's view with the operator inputs first: their placeholders resolve to the files they stand for. */
export function operatorResolver(base: RunResolver, operator: OperatorRun): RunResolver {
  const { models, datasets } = operator.sources;
  return {
    model: async (id) => {
      const outside = models.get(id);
      return outside === undefined ? base.model(id) : { kind: outside.kind, family: outside.family };
    },
    dataset: async (name) => {
      const outside = datasets.get(name);
      return outside === undefined ? base.dataset(name) : { imageCount: outside.subsets.reduce((sum, subset) => sum + subset.files.length, 0) };
    },
  };
}

/** One operator input's files for the run manifest: absolute paths, hashed at enqueue and again at start. */
export interface OperatorInputFiles {
  field: string;
  role: string;
  /** The file or folder the config named. */
  path: string;
  files: string[];
}

/**
 * The files each operator input stands for: a model file itself (the original, which a converted copy is made
 * from), the prompt file, the dataset config, and every image (with its caption) of the subsets an image
 * folder or a dataset config names.
 */
export async function operatorInputFiles(operator: OperatorRun): Promise<OperatorInputFiles[]> {
  const byDir = new Map<string, { files: string[]; captionExtension: string }>();
  for (const source of operator.sources.datasets.values()) for (const subset of source.subsets) byDir.set(subset.dir, subset);
  const out: OperatorInputFiles[] = [];
  for (const input of operator.inputs) {
    // A dataset config is read by lorasmith and its subsets' folders are linked: both are inputs.
    const files: string[] = input.use === 'link-images' ? [] : [input.path];
    for (const subset of input.subsets ?? []) {
      const found = byDir.get(subset.dir);
      if (found === undefined) continue;
      const present = new Set(await readdir(subset.dir));
      for (const image of found.files) {
        files.push(path.join(subset.dir, image));
        const caption = `${path.parse(image).name}${found.captionExtension}`;
        if (present.has(caption)) files.push(path.join(subset.dir, caption));
      }
    }
    out.push({ field: input.field, role: input.role, path: input.path, files: files.sort() });
  }
  return out;
}
