/**
 * Jobs over HTTP (DESIGN.md §5): the queue, one job, its recorded events and log, SSE per job and for the
 * whole studio (cookie for the page, bearer token for the CLI, as every /api route), and the controls —
 * enqueue (rate limited as the training-start class), stop, cancel, resume, move, promote. The config names
 * library ids and dataset names; an imported config's operator paths (`import`) are taken, and a job built
 * on them is resumed, only for the bearer of the install's API secret, which is the local CLI's credential.
 */
import type {} from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { LorasmithError } from '../../core/errors.ts';
import type { JobUpdate } from '../../jobs/job-service.ts';
import { JOB_STATES, isFinalJobState, type JobRecord } from '../../jobs/job-types.ts';
import { operatorImportSchema } from '../../training/import/operator-job.ts';
import type { App, RouteContext } from '../context.ts';
import { requireAuth } from '../request-auth.ts';
import { idParams, optionalEmptyBody } from '../schemas.ts';
import { openSse } from '../sse.ts';

const tags = ['jobs'];

const gpuList = z.array(z.number().int().min(0).max(1023)).min(1).max(64);

/** `config` (lorasmith's schema), or `import`: another tool's config whose paths are operator inputs (CLI only). */
export const enqueueBody = z
  .object({
    config: z.record(z.string(), z.unknown()).optional(),
    import: operatorImportSchema.optional(),
    gpus: gpuList.optional(),
    allowUnknownGpu: z.boolean().optional(),
    allowUnsandboxed: z.boolean().optional(),
  })
  .strict()
  .refine((body) => (body.config === undefined) !== (body.import === undefined), 'give exactly one of config or import');

/**
 * Operator paths name files anywhere on this machine, so only the operator's own CLI may send them — or resume
 * a job that reads them again: the bearer of this install's API secret, never a browser session, never a named
 * token given to a script or a device. A refusal is a security event.
 */
async function requireOperatorCaller(ctx: RouteContext, request: FastifyRequest, refused: { what: string; hint: string }): Promise<void> {
  const auth = requireAuth(request.auth);
  if (auth.kind === 'bearer' && auth.apiSecret) return;
  const caller = auth.kind === 'session' ? 'a browser session' : `the named token ${JSON.stringify(auth.tokenName)}`;
  const message = `${refused.what} names files outside the workspace; the studio takes those only from the lorasmith CLI on this machine, not from ${caller}.`;
  await ctx.studio.securityEvents.record('operator-paths-refused', `${request.method} ${request.url.split('?')[0] ?? ''}: ${message}`, request.ip);
  throw new LorasmithError({ code: 'operator-paths-refused', message, hint: refused.hint, exitCode: 2, status: 403 });
}

const resumeBody = z.object({ gpus: gpuList.optional(), allowUnknownGpu: z.boolean().optional(), allowUnsandboxed: z.boolean().optional() }).strict().nullish();
const moveBody = z.object({ position: z.number().int().min(1).max(100_000) }).strict();
const promoteBody = z
  .object({ epoch: z.number().int().min(0).optional(), step: z.number().int().min(0).optional(), name: z.string().min(1).max(255).optional() })
  .strict()
  .refine((body) => [body.epoch, body.step, body.name].filter((value) => value !== undefined).length === 1, 'name exactly one of epoch, step or name');

const listQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(500).default(100), state: z.enum(JOB_STATES).optional() })
  .strict();
const historyQuery = z.object({ after: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(10_000).default(1000) }).strict();
const logsQuery = z.object({ lines: z.coerce.number().int().min(1).max(10_000).default(200) }).strict();
const streamQuery = z.object({ after: z.coerce.number().int().min(0).default(0), logs: z.enum(['0', '1']).default('0') }).strict();

const progress = z.object({
  phase: z.string().nullable(),
  step: z.number(),
  total: z.number().nullable(),
  epoch: z.number().nullable(),
  epochs: z.number().nullable(),
  itPerSec: z.number().nullable(),
  remainingS: z.number().nullable(),
  loss: z.number().nullable(),
});

export const jobRecord = z.object({
  id: z.string(),
  state: z.enum(JOB_STATES),
  engine: z.string(),
  name: z.string(),
  family: z.string(),
  datasets: z.array(z.string()),
  device: z.enum(['gpu', 'cpu', 'unknown']),
  gpuRequest: z.union([z.object({ indices: z.array(z.number()) }), z.object({ count: z.number() })]).nullable(),
  slots: z.array(z.string()),
  sandbox: z.enum(['bwrap', 'cgroup', 'unsandboxed']).nullable(),
  resumedFrom: z.string().nullable(),
  resumeState: z.string().nullable(),
  position: z.number().nullable(),
  progress,
  failure: z.object({ code: z.string(), message: z.string(), hint: z.string().optional(), lastLines: z.array(z.string()).optional() }).nullable(),
  outputModelId: z.string().nullable(),
  resumable: z.boolean(),
  config: z.record(z.string(), z.unknown()),
  seed: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});

const cursorSchema = z.record(z.string().max(4096), z.number().int()).refine((cursor) => Object.keys(cursor).length <= 1024, 'too many files');
const metricsQuery = z.object({ cursor: z.string().max(256 * 1024).optional() }).strict();
const metricsBody = z.object({
  points: z.array(z.object({ tag: z.string(), step: z.number(), value: z.number(), wallTime: z.number().optional() })),
  cursor: z.record(z.string(), z.number()),
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const jobEvent = z.object({ seq: z.number(), at: z.string(), event: z.looseObject({ kind: z.string() }) });
const stopBody = z.object({ job: jobRecord, lastSave: z.object({ checkpoint: z.string().nullable(), state: z.string().nullable() }), note: z.string() });
const checkpointsBody = z.object({ checkpoints: z.array(z.object({ name: z.string(), epoch: z.number().nullable(), step: z.number().nullable(), size: z.number() })) });
const promoteResult = z.object({ model: z.looseObject({ id: z.string(), name: z.string(), kind: z.string(), family: z.string() }), duplicate: z.boolean() });

/**
 * The JSON of what one update sends, made once for every stream it goes to (100 clients on one job: one
 * JSON.stringify per event, not 100). Keyed by the update, which every subscriber receives as the same object.
 */
function serialisedOnce(): (update: JobUpdate, data: () => unknown) => string {
  const made = new WeakMap<JobUpdate, string>();
  return (update, data) => {
    let json = made.get(update);
    if (json === undefined) {
      json = JSON.stringify(data());
      made.set(update, json);
    }
    return json;
  };
}

export function jobRoutes(app: App, ctx: RouteContext): void {
  const { studio } = ctx;
  const { jobs } = studio;
  const allJobsJson = serialisedOnce();
  const oneJobJson = serialisedOnce();
  const trainingStart = { rateLimit: { max: async () => (await studio.settings.get()).rateLimits.trainingStartPerMinute, timeWindow: 60_000 } };

  app.get('/api/jobs', { schema: { tags, querystring: listQuery, response: { 200: z.object({ jobs: z.array(jobRecord) }) } } }, async (request) => ({
    jobs: await jobs.list({ limit: request.query.limit, ...(request.query.state === undefined ? {} : { states: [request.query.state] }) }),
  }));

  app.post('/api/jobs', { schema: { tags, body: enqueueBody, response: { 200: jobRecord } }, config: trainingStart }, async (request) => {
    const { config, import: imported, gpus, allowUnknownGpu, allowUnsandboxed } = request.body;
    const options = { ...(gpus === undefined ? {} : { gpus }), ...(allowUnknownGpu === undefined ? {} : { allowUnknownGpu }), ...(allowUnsandboxed === undefined ? {} : { allowUnsandboxed }) };
    if (imported === undefined) return jobs.enqueue({ config, ...options });
    await requireOperatorCaller(ctx, request, {
      what: 'An imported config',
      hint: 'Run `lorasmith train CONFIG` on the studio’s machine, or import the files into the library and datasets and send a lorasmith run config.',
    });
    return jobs.enqueueImported({ import: imported, ...options });
  });

  // Every job's record as it changes, and every recorded event: the Jobs page's one stream.
  app.get('/api/jobs/events', { schema: { tags } }, async (request, reply) => {
    const channel = openSse(request, reply);
    const off = jobs.subscribe(null, (update) => {
      if (update.type !== 'log') channel.sendJson(update.type, allJobsJson(update, () => (update.type === 'job' ? update.job : { jobId: update.jobId, ...update.event })));
    });
    await channel.closed;
    off();
  });

  app.get('/api/jobs/:id', { schema: { tags, params: idParams, response: { 200: jobRecord } } }, async (request) => jobs.get(request.params.id));

  app.get('/api/jobs/:id/history', { schema: { tags, params: idParams, querystring: historyQuery, response: { 200: z.object({ events: z.array(jobEvent) }) } } }, async (request) => ({
    events: await jobs.events(request.params.id, { after: request.query.after, limit: request.query.limit }),
  }));

  app.get('/api/jobs/:id/logs', { schema: { tags, params: idParams, querystring: logsQuery, response: { 200: z.object({ lines: z.array(z.string()) }) } } }, async (request) => ({
    lines: await jobs.logs(request.params.id, request.query.lines),
  }));

  // Metric points after a cursor (the page keeps the cursor each answer gives and sends it back as JSON).
  app.get('/api/jobs/:id/metrics', { schema: { tags, params: idParams, querystring: metricsQuery, response: { 200: metricsBody } } }, async (request) => {
    let since: Record<string, number> = {};
    if (request.query.cursor !== undefined) {
      const parsed = cursorSchema.safeParse(safeJson(request.query.cursor));
      if (!parsed.success) throw new LorasmithError({ code: 'cursor-invalid', message: 'The metrics cursor is not one this studio gave out.', hint: 'Start again without a cursor.', status: 400 });
      since = parsed.data;
    }
    return jobs.metrics(request.params.id, since);
  });

  app.get('/api/jobs/:id/checkpoints', { schema: { tags, params: idParams, response: { 200: checkpointsBody } } }, async (request) => ({
    checkpoints: await jobs.checkpoints(request.params.id),
  }));

  /**
   * One job: its record, the recorded events after `after` (a reconnecting client loses none), then live
   * records and events (and log lines with `logs=1`); the stream ends after the final record.
   */
  app.get('/api/jobs/:id/events', { schema: { tags, params: idParams, querystring: streamQuery } }, async (request, reply) => {
    const id = request.params.id;
    const first = await jobs.get(id);
    const channel = openSse(request, reply);
    let lastSeq = request.query.after;
    let replaying = true;
    const held: JobUpdate[] = [];
    const sendRecord = (job: JobRecord, json = JSON.stringify(job)) => {
      channel.sendJson('job', json);
      if (isFinalJobState(job.state)) channel.close();
    };
    const send = (update: JobUpdate) => {
      if (update.type === 'event') {
        if (update.event.seq <= lastSeq) return;
        lastSeq = update.event.seq;
        channel.sendJson('event', oneJobJson(update, () => update.event));
      } else if (update.type === 'log') {
        if (request.query.logs === '1') channel.sendJson('log', oneJobJson(update, () => ({ lines: update.lines })));
      } else sendRecord(update.job, oneJobJson(update, () => update.job));
    };
    // Live updates wait while the recorded events are replayed, so the stream stays in order.
    const off = jobs.subscribe(id, (update) => (replaying ? held.push(update) : send(update)));
    channel.send('job', first);
    for (let page = await jobs.events(id, { after: lastSeq }); page.length > 0; page = await jobs.events(id, { after: lastSeq })) {
      for (const event of page) {
        lastSeq = event.seq;
        channel.send('event', event);
      }
    }
    replaying = false;
    for (const update of held.splice(0)) send(update);
    sendRecord(await jobs.get(id));
    await channel.closed;
    off();
  });

  app.post('/api/jobs/:id/stop', { schema: { tags, params: idParams, body: optionalEmptyBody, response: { 200: stopBody } } }, async (request) => jobs.stop(request.params.id));

  app.post('/api/jobs/:id/cancel', { schema: { tags, params: idParams, body: optionalEmptyBody, response: { 200: jobRecord } } }, async (request) => jobs.cancel(request.params.id));

  app.post('/api/jobs/:id/resume', { schema: { tags, params: idParams, body: resumeBody, response: { 200: jobRecord } }, config: trainingStart }, async (request) => {
    const body = request.body ?? {};
    const id = request.params.id;
    if (await jobs.isImported(id)) await requireOperatorCaller(ctx, request, { what: `Job ${id} runs an imported config that`, hint: `Run \`lorasmith jobs resume ${id}\` on the studio’s machine.` });
    return jobs.resume(id, {
      ...(body.gpus === undefined ? {} : { gpus: body.gpus }),
      ...(body.allowUnknownGpu === undefined ? {} : { allowUnknownGpu: body.allowUnknownGpu }),
      ...(body.allowUnsandboxed === undefined ? {} : { allowUnsandboxed: body.allowUnsandboxed }),
    });
  });

  app.post('/api/jobs/:id/move', { schema: { tags, params: idParams, body: moveBody, response: { 200: jobRecord } } }, async (request) => jobs.move(request.params.id, request.body.position));

  app.post('/api/jobs/:id/promote', { schema: { tags, params: idParams, body: promoteBody, response: { 200: promoteResult } } }, async (request) => {
    const { epoch, step, name } = request.body;
    const promoted = await jobs.promote(request.params.id, { ...(epoch === undefined ? {} : { epoch }), ...(step === undefined ? {} : { step }), ...(name === undefined ? {} : { name }) });
    return { model: { ...promoted.model }, duplicate: promoted.duplicate };
  });
}
