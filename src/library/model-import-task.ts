/**
 * `model-import`: the library import as a task, so uploads and the CLI show its steps (scanning,
 * converting, fingerprinting, hashing, storing) and byte progress, and a restart reports it truthfully.
 */
import { z } from 'zod';
import type { SecurityEvents } from '../access/security-events.ts';
import type { Workspace } from '../core/workspace.ts';
import type { TaskKind } from '../tasks/task-types.ts';
import { importModel, type ImportModelResult } from './import-model.ts';
import type { ModelLibrary } from './model-library.ts';

const MODEL_KINDS = ['checkpoint', 'lora', 'vae', 'text-encoder', 'embedding', 'tagger', 'other'] as const;

export const modelImportParamsSchema = z
  .object({
    /** A file in quarantine, placed there by our own code (an upload or the CLI's copy), never by a client. */
    file: z.string().min(1),
    name: z.string().min(1).max(1024),
    source: z.enum(['local', 'upload']),
    expectedKind: z.enum(MODEL_KINDS).optional(),
    keepOriginal: z.boolean().default(false),
  })
  .strict();
export type ModelImportParams = z.infer<typeof modelImportParamsSchema>;

export function modelImportTask(deps: { workspace: Workspace; library: ModelLibrary; securityEvents: SecurityEvents }): TaskKind<ModelImportParams> {
  return {
    kind: 'model-import',
    params: modelImportParamsSchema,
    concurrency: 1,
    async run(params, ctx): Promise<ImportModelResult> {
      return importModel({
        ...deps,
        file: params.file,
        name: params.name,
        source: { type: params.source },
        ...(params.expectedKind === undefined ? {} : { expectedKind: params.expectedKind }),
        keepOriginal: params.keepOriginal,
        step: (step) => ctx.detail(step),
        progress: (done, total) => ctx.progress({ done, total, message: 'hashing' }),
        signal: ctx.signal,
      });
    },
  };
}
