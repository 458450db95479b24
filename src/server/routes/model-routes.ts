/**
 * The model library over HTTP: records (with every file of a multi-file entry), the header view (tensors,
 * metadata) of the main file, Civitai identification by SHA-256, removal. Imports come as uploads.
 */
import type {} from '@fastify/rate-limit';
import { z } from 'zod';
import { describeHeader } from '../../formats/describe-header.ts';
import { scanFile } from '../../formats/scan-file.ts';
import { LorasmithError } from '../../core/errors.ts';
import { identifyLibraryModel } from '../../hub/identify.ts';
import type { App, RouteContext } from '../context.ts';
import { idParams, optionalEmptyBody } from '../schemas.ts';

const tags = ['models'];

const modelRecord = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.string(),
  family: z.string(),
  variant: z.string().nullable(),
  predictionType: z.string(),
  format: z.enum(['safetensors', 'gguf', 'onnx']),
  verdict: z.literal('safe'),
  warnings: z.array(z.string()),
  size: z.number(),
  tensorCount: z.number(),
  parameterCount: z.number(),
  hashes: z.object({ sha256: z.string(), autoV2: z.string(), autoV1: z.string().nullable(), sshsModelHash: z.string().nullable() }),
  lora: z
    .object({
      naming: z.string(),
      algorithm: z.string(),
      dora: z.boolean(),
      networkModule: z.string().nullable(),
      rank: z.number().nullable(),
      convRank: z.number().nullable(),
      alpha: z.number().nullable(),
      targets: z.record(z.string(), z.number()),
    })
    .nullable(),
  source: z.object({
    type: z.string(),
    converted: z.object({ from: z.string(), originalName: z.string(), originalSha256: z.string() }).nullable(),
    provenance: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  }),
  evidence: z.array(z.string()),
  createdAt: z.string(),
  files: z.array(z.object({ path: z.string(), size: z.number().nullable(), sha256: z.string().nullable(), main: z.boolean() })),
  civitai: z
    .object({
      found: z.boolean(),
      sha256: z.string(),
      checkedAt: z.string(),
      modelId: z.number().nullable(),
      versionId: z.number().nullable(),
      modelName: z.string().nullable(),
      versionName: z.string().nullable(),
      modelType: z.string().nullable(),
      baseModel: z.string().nullable(),
      trainedWords: z.array(z.string()),
      license: z
        .object({ allowCommercialUse: z.array(z.string()), allowNoCredit: z.boolean().nullable(), allowDerivatives: z.boolean().nullable(), allowDifferentLicense: z.boolean().nullable() })
        .nullable(),
      url: z.string().nullable(),
    })
    .nullable(),
});

const modelHeader = z.object({
  format: z.string(),
  tensors: z.array(z.object({ name: z.string(), dtype: z.string(), shape: z.array(z.number()), bytes: z.number() })),
  metadata: z.record(z.string(), z.string()),
  dtypes: z.record(z.string(), z.object({ count: z.number(), bytes: z.number() })),
});

export function modelRoutes(app: App, ctx: RouteContext): void {
  const { library, settings, hubContext } = ctx.studio;

  app.get('/api/models', { schema: { tags, response: { 200: z.object({ models: z.array(modelRecord) }) } } }, async () => ({ models: await library.list() }));

  app.get('/api/models/:id', { schema: { tags, params: idParams, response: { 200: modelRecord } } }, async (request) => library.get(request.params.id));

  // Header only: the file is re-validated on every read, so a file changed on disk is caught (ST-R10).
  app.get('/api/models/:id/header', { schema: { tags, params: idParams, response: { 200: modelHeader } } }, async (request) => {
    const scan = await scanFile({ path: await library.fileOf(request.params.id) });
    if (scan.verdict !== 'safe' || scan.details === undefined) {
      throw new LorasmithError({
        code: 'model-changed',
        message: `The library file no longer passes its scan (${scan.verdict}).`,
        hint: 'Remove it from the library and import it again.',
        status: 409,
      });
    }
    const header = describeHeader(scan.details);
    return { format: scan.format, tensors: header.tensors, metadata: header.metadata, dtypes: header.dtypes };
  });

  // Civitai by the main file's SHA-256; the answer stays on the record. Rate limited like a download start.
  app.post(
    '/api/models/:id/identify',
    {
      schema: { tags, params: idParams, body: optionalEmptyBody, response: { 200: modelRecord } },
      config: { rateLimit: { max: async () => (await settings.get()).rateLimits.downloadStartPerMinute, timeWindow: 60_000 } },
    },
    async (request) => identifyLibraryModel({ hub: await hubContext(), library, id: request.params.id }),
  );

  app.delete('/api/models/:id', { schema: { tags, params: idParams } }, async (request, reply) => {
    await library.remove(request.params.id);
    return reply.code(204).send();
  });
}
