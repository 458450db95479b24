/**
 * The hubs over HTTP: search, a Hugging Face repo's files at a commit (size, LFS SHA-256, the Hub's own
 * scan status — informational only), a Civitai version (these three kept a few minutes in the hub
 * cache), and pulls as tasks (`POST /api/pulls`, rate
 * limited as the download-start class), with confirm / discard of a pull awaiting confirmation.
 * Every query and body is a strict zod schema; tokens never leave the server.
 */
import type {} from '@fastify/rate-limit';
import { z } from 'zod';
import type { HubContext } from '../../hub/hub-context.ts';
import { confirmPull, discardPull, PULL_TASK_KIND } from '../../hub/pull-task.ts';
import { parseSource } from '../../hub/parse-source.ts';
import { civitaiVersionListing, repoFileListing, searchHub } from '../../hub/search.ts';
import type { App, RouteContext } from '../context.ts';
import { optionalEmptyBody, taskRecord } from '../schemas.ts';

const tags = ['hub'];

export interface HubRouteOptions {
  /** The hub context of a request (tests inject the double's network); default from the studio's secrets and the environment. */
  hub?: () => Promise<HubContext>;
}

const searchQuery = z
  .object({
    provider: z.enum(['hf', 'civitai']),
    q: z.string().max(200).default(''),
    type: z.string().min(1).max(100).optional(),
    baseModel: z.string().min(1).max(200).optional(),
    sort: z.enum(['downloads', 'recent', 'likes', 'rating']).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    nsfw: z.enum(['true', 'false']).default('false'),
  })
  .strict();

const hfSummary = z.object({ id: z.string(), downloads: z.number(), likes: z.number(), updatedAt: z.string(), gated: z.boolean(), private: z.boolean(), tags: z.array(z.string()), pipelineTag: z.string().nullable() });
const civitaiSummary = z.object({
  id: z.number(),
  name: z.string(),
  type: z.string().nullable(),
  nsfw: z.boolean(),
  creator: z.string().nullable(),
  downloads: z.number(),
  versions: z.array(z.object({ id: z.number(), name: z.string().nullable(), baseModel: z.string().nullable() })),
});
const searchBody = z.union([z.object({ provider: z.literal('hf'), results: z.array(hfSummary) }), z.object({ provider: z.literal('civitai'), results: z.array(civitaiSummary) })]);

const filesQuery = z
  .object({
    repo: z.string().min(1).max(200),
    revision: z.string().min(1).max(200).default('main'),
    path: z.string().max(1024).default(''),
  })
  .strict();
const filesBody = z.object({
  repo: z.string(),
  revision: z.string(),
  commit: z.string(),
  files: z.array(
    z.object({
      path: z.string(),
      size: z.number(),
      lfsSha256: z.string().nullable(),
      gitBlobId: z.string().nullable(),
      xet: z.boolean(),
      hubScanStatus: z.string().nullable(),
      source: z.string(),
    }),
  ),
});

const versionParams = z.object({ id: z.coerce.number().int().min(1).max(2 ** 31 - 1) }).strict();
const civitaiFile = z.object({
  id: z.number(),
  name: z.string(),
  type: z.string().nullable(),
  sizeKB: z.number(),
  primary: z.boolean(),
  format: z.string().nullable(),
  fp: z.string().nullable(),
  pickleScanResult: z.string().nullable(),
  virusScanResult: z.string().nullable(),
  hashes: z.record(z.string(), z.string()),
  source: z.string(),
});
const versionBody = z.object({
  id: z.number(),
  modelId: z.number(),
  name: z.string().nullable(),
  modelName: z.string().nullable(),
  modelType: z.string().nullable(),
  baseModel: z.string().nullable(),
  trainedWords: z.array(z.string()),
  files: z.array(civitaiFile),
});

const pullRequestBody = z
  .object({
    source: z.string().trim().min(1).max(4096),
    kind: z.enum(['checkpoint', 'lora', 'vae', 'text-encoder', 'embedding', 'tagger', 'other']).optional(),
    include: z.array(z.string().min(1).max(256)).max(32).optional(),
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/).optional(),
    acceptUnverified: z.boolean().optional(),
  })
  .strict()
  .refine((body) => !(body.sha256 !== undefined && body.acceptUnverified === true), { message: 'give either sha256 or acceptUnverified, not both' });
const taskIdParams = z.object({ taskId: z.string().uuid() }).strict();

export function hubRoutes(app: App, ctx: RouteContext, options: HubRouteOptions = {}): void {
  const { studio } = ctx;
  const hub = options.hub ?? studio.hubContext;

  app.get('/api/hub/search', { schema: { tags, querystring: searchQuery, response: { 200: searchBody } } }, async (request) => {
    const query = request.query;
    const results = await searchHub(await hub(), {
      provider: query.provider,
      query: query.q,
      ...(query.type === undefined ? {} : { type: query.type }),
      ...(query.baseModel === undefined ? {} : { baseModel: query.baseModel }),
      ...(query.sort === undefined ? {} : { sort: query.sort }),
      limit: query.limit,
      nsfw: query.nsfw === 'true',
    });
    return query.provider === 'hf' ? { provider: 'hf' as const, results: results as z.infer<typeof hfSummary>[] } : { provider: 'civitai' as const, results: results as z.infer<typeof civitaiSummary>[] };
  });

  app.get('/api/hub/hf/files', { schema: { tags, querystring: filesQuery, response: { 200: filesBody } } }, async (request) => {
    const { repo, revision, path } = request.query;
    return repoFileListing(await hub(), { repo, revision, path });
  });

  app.get('/api/hub/civitai/versions/:id', { schema: { tags, params: versionParams, response: { 200: versionBody } } }, async (request) => {
    const version = await civitaiVersionListing(await hub(), request.params.id);
    return { ...version, files: version.files.map((file) => ({ ...file, hashes: { ...file.hashes } as Record<string, string> })) };
  });

  app.post(
    '/api/pulls',
    {
      schema: { tags, body: pullRequestBody, response: { 200: taskRecord } },
      config: { rateLimit: { max: async () => (await studio.settings.get()).rateLimits.downloadStartPerMinute, timeWindow: 60_000 } },
    },
    async (request) => {
      parseSource(request.body.source, (await hub()).parseOptions);
      return studio.tasks.start(PULL_TASK_KIND, request.body);
    },
  );

  app.post(
    '/api/pulls/:taskId/confirm',
    {
      schema: { tags, params: taskIdParams, body: optionalEmptyBody, response: { 200: taskRecord } },
      config: { rateLimit: { max: async () => (await studio.settings.get()).rateLimits.downloadStartPerMinute, timeWindow: 60_000 } },
    },
    async (request) => confirmPull({ tasks: studio.tasks, workspace: studio.workspace, taskId: request.params.taskId }),
  );

  app.post('/api/pulls/:taskId/discard', { schema: { tags, params: taskIdParams, body: optionalEmptyBody } }, async (request, reply) => {
    await discardPull({ tasks: studio.tasks, workspace: studio.workspace, taskId: request.params.taskId });
    return reply.code(204).send();
  });
}
