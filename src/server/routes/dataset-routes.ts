/** Datasets over HTTP: ids (dataset name, `subset/file`) in, never paths (WEB-R09). */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CaptionEdit } from '../../datasets/captions/index.ts';
import { LorasmithError } from '../../core/errors.ts';
import { startDatasetTagging, taggingRequestSchema } from '../../studio/start-dataset-tagging.ts';
import { taskRecord } from '../schemas.ts';
import type { App, RouteContext } from '../context.ts';

const tags = ['datasets'];
const name = z.string().min(1).max(200);
const nameParams = z.object({ name }).strict();
const imageParams = z.object({ name, subset: z.string().min(1).max(200), file: z.string().min(1).max(255) }).strict();

const subsetSummary = z.object({ name: z.string(), repeats: z.number(), classTokens: z.string(), isReg: z.boolean(), captionExtension: z.string(), imageCount: z.number() });
const datasetSummary = z.object({ name: z.string(), createdAt: z.string(), imageCount: z.number(), subsets: z.array(subsetSummary), locked: z.string().nullable() });
const datasetDetails = datasetSummary.extend({
  images: z.array(z.object({ subset: z.string(), file: z.string(), format: z.string().nullable(), width: z.number().nullable(), height: z.number().nullable(), caption: z.boolean() })),
});
const change = z.object({ image: z.string(), caption: z.string(), before: z.string().nullable(), after: z.string() });
const appliedEdit = z.object({ undoId: z.string().nullable(), changes: z.array(change) });

const tag = z.string().min(1).max(500);
const captionEdit = z.discriminatedUnion('op', [
  z.object({ op: z.literal('add-trigger'), trigger: tag }).strict(),
  z.object({ op: z.literal('remove-tags'), tags: z.array(tag).min(1).max(1000), ignoreCase: z.boolean().optional() }).strict(),
  z
    .object({
      op: z.literal('replace'),
      find: z.string().min(1).max(1000),
      replacement: z.string().max(1000),
      regex: z.boolean().optional(),
      flags: z.string().regex(/^[gimsu]{0,5}$/).optional(),
      target: z.enum(['text', 'tags']).optional(),
    })
    .strict(),
  z.object({ op: z.literal('dedupe'), ignoreCase: z.boolean().optional() }).strict(),
  z.object({ op: z.literal('sort'), keepTokens: z.number().int().min(0).max(100).optional() }).strict(),
]);
const editBody = z.object({ subset: z.string().min(1).max(200).optional(), edit: captionEdit }).strict();

const planBody = z
  .object({
    resolution: z.number().int().min(64).max(8192),
    enableBucket: z.boolean(),
    minBucketReso: z.number().int().min(64).max(8192),
    maxBucketReso: z.number().int().min(64).max(8192),
    bucketResoSteps: z.number().int().min(8).max(512),
    bucketNoUpscale: z.boolean(),
    batchSize: z.number().int().min(1).max(1024),
    gradientAccumulationSteps: z.number().int().min(1).max(1024),
    maxTrainEpochs: z.number().int().min(1).max(100_000).optional(),
    maxTrainSteps: z.number().int().min(1).max(10_000_000).optional(),
  })
  .strict();
const lintBody = z
  .object({
    resolution: z.number().int().min(64).max(8192),
    trigger: z.string().max(200).optional(),
    maxTokenLength: z.union([z.literal(75), z.literal(150), z.literal(225)]).optional(),
  })
  .strict();

const IMAGE_TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };

export function datasetRoutes(app: App, ctx: RouteContext): void {
  const { datasets } = ctx.studio;
  const image = (params: { subset: string; file: string }) => `${params.subset}/${params.file}`;

  app.get('/api/datasets', { schema: { tags, response: { 200: z.object({ datasets: z.array(datasetSummary) }) } } }, async () => ({ datasets: await datasets.list() }));
  app.post('/api/datasets', { schema: { tags, body: z.object({ name }).strict(), response: { 200: datasetSummary } } }, async (request) => datasets.create(request.body.name));
  app.get('/api/datasets/:name', { schema: { tags, params: nameParams, response: { 200: datasetDetails } } }, async (request) => datasets.show(request.params.name));
  app.patch('/api/datasets/:name', { schema: { tags, params: nameParams, body: z.object({ name }).strict(), response: { 200: datasetSummary } } }, async (request) =>
    datasets.rename(request.params.name, request.body.name),
  );
  app.delete('/api/datasets/:name', { schema: { tags, params: nameParams } }, async (request, reply) => {
    await datasets.remove(request.params.name);
    return reply.code(204).send();
  });
  app.put(
    '/api/datasets/:name/subsets/:subset',
    {
      schema: {
        tags,
        params: z.object({ name, subset: z.string().min(1).max(200) }).strict(),
        body: z.object({ repeats: z.number().int().min(1).max(100_000).optional(), classTokens: z.string().max(1000).optional(), isReg: z.boolean().optional() }).strict(),
        response: { 200: datasetSummary },
      },
    },
    async (request) => datasets.setSubset(request.params.name, request.params.subset, request.body),
  );

  for (const [route, resolve, cache] of [
    ['images', (n: string, i: string) => datasets.imageFile(n, i), 'private, max-age=60'],
    ['thumbs', (n: string, i: string) => datasets.thumbnailFile(n, i), 'private, max-age=300'],
  ] as const) {
    app.get(`/api/datasets/:name/${route}/:subset/:file`, { schema: { tags, params: imageParams } }, async (request, reply) => {
      const file = await resolve(request.params.name, image(request.params));
      const type = IMAGE_TYPES[path.extname(file).toLowerCase()];
      if (type === undefined) throw new LorasmithError({ code: 'not-found', message: 'No such image.', hint: 'Reload the dataset.', status: 404 });
      return reply.header('cache-control', cache).type(type).send(createReadStream(file));
    });
  }

  const captionRecord = z.object({ image: z.string(), caption: z.string(), exists: z.boolean(), text: z.string(), tags: z.array(z.string()) });
  app.get('/api/datasets/:name/captions/:subset/:file', { schema: { tags, params: imageParams, response: { 200: captionRecord } } }, async (request) =>
    datasets.caption(request.params.name, image(request.params)),
  );
  app.put(
    '/api/datasets/:name/captions/:subset/:file',
    { schema: { tags, params: imageParams, body: z.union([z.object({ text: z.string().max(65_536) }).strict(), z.object({ tags: z.array(tag).max(1000) }).strict()]), response: { 200: appliedEdit } } },
    async (request) => datasets.writeCaption(request.params.name, image(request.params), request.body),
  );
  app.post('/api/datasets/:name/captions/preview', { schema: { tags, params: nameParams, body: editBody, response: { 200: z.object({ changes: z.array(change), images: z.number() }) } } }, async (request) =>
    datasets.previewEdit(request.params.name, request.body.edit as CaptionEdit, request.body.subset),
  );
  app.post('/api/datasets/:name/captions/apply', { schema: { tags, params: nameParams, body: editBody, response: { 200: appliedEdit } } }, async (request) =>
    datasets.applyEdit(request.params.name, request.body.edit as CaptionEdit, request.body.subset),
  );
  app.get(
    '/api/datasets/:name/captions/undo',
    { schema: { tags, params: nameParams, response: { 200: z.object({ entries: z.array(z.object({ id: z.string(), label: z.string(), createdAt: z.string(), files: z.number() })) }) } } },
    async (request) => ({ entries: await datasets.undoList(request.params.name) }),
  );
  app.post(
    '/api/datasets/:name/captions/undo',
    { schema: { tags, params: nameParams, body: z.object({ id: z.string().max(100).optional() }).strict().nullish(), response: { 200: z.object({ id: z.string(), label: z.string(), restored: z.number(), removed: z.number() }) } } },
    async (request) => {
      const undone = await datasets.undo(request.params.name, request.body?.id);
      return { id: undone.id, label: undone.label, restored: undone.restored.length, removed: undone.removed.length };
    },
  );
  app.get(
    '/api/datasets/:name/tags',
    { schema: { tags, params: nameParams, querystring: z.object({ subset: z.string().max(200).optional() }).strict(), response: { 200: z.object({ tags: z.array(z.object({ tag: z.string(), images: z.number() })), images: z.number(), tagged: z.number() }) } } },
    async (request) => datasets.tags(request.params.name, request.query.subset),
  );
  const tagList = z.string().max(10_000).optional().transform((value) => (value === undefined || value === '' ? undefined : value.split(',').map((t) => t.trim()).filter((t) => t !== '')));
  app.get(
    '/api/datasets/:name/filter',
    { schema: { tags, params: nameParams, querystring: z.object({ all: tagList, none: tagList }).strict(), response: { 200: z.object({ images: z.array(z.string()) }) } } },
    async (request) => ({
      images: await datasets.filter(request.params.name, { ...(request.query.all ? { all: request.query.all } : {}), ...(request.query.none ? { none: request.query.none } : {}) }),
    }),
  );
  app.post('/api/datasets/:name/lint', { schema: { tags, params: nameParams, body: lintBody } }, async (request) =>
    datasets.lint(request.params.name, {
      resolution: request.body.resolution,
      enableBucket: true,
      minBucketReso: 256,
      maxBucketReso: Math.max(1024, request.body.resolution * 2),
      bucketResoSteps: 64,
      bucketNoUpscale: false,
      batchSize: 1,
      gradientAccumulationSteps: 1,
      ...(request.body.trigger === undefined ? {} : { trigger: request.body.trigger }),
      ...(request.body.maxTokenLength === undefined ? {} : { maxTokenLength: request.body.maxTokenLength }),
    }),
  );
  app.post(
    '/api/datasets/:name/plan',
    {
      schema: {
        tags,
        params: nameParams,
        body: planBody,
        response: { 200: z.object({ buckets: z.array(z.object({ width: z.number(), height: z.number(), images: z.number() })), steps: z.object({ batchesPerEpoch: z.number(), stepsPerEpoch: z.number(), maxTrainSteps: z.number(), epochs: z.number() }) }) },
      },
    },
    async (request) => datasets.plan(request.params.name, request.body),
  );

  app.post('/api/datasets/:name/tag', { schema: { tags, params: nameParams, body: taggingRequestSchema, response: { 200: taskRecord } } }, async (request) =>
    startDatasetTagging(ctx.studio, request.params.name, request.body),
  );
}
