/**
 * The fastify app: guard first, then rate limits, security headers, the routes, the static web UI.
 * Thin: every route calls a domain service of the studio.
 */
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import Fastify from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LorasmithError } from '../core/errors.ts';
import { LORASMITH_VERSION } from '../core/version.ts';
import type { Settings } from '../core/settings.ts';
import type { Studio } from '../studio/studio.ts';
import { AuthBackoff, createAuthFailureRecorder } from './auth-backoff.ts';
import type { App, RouteContext } from './context.ts';
import { sessionCookieName } from './cookies.ts';
import { createErrorHandler } from './error-handler.ts';
import { createGuard } from './guard.ts';
import { studioOrigins } from './origins.ts';
import { accessRoutes } from './routes/access-routes.ts';
import { datasetRoutes } from './routes/dataset-routes.ts';
import { engineRoutes } from './routes/engine-routes.ts';
import { eventRoutes } from './routes/event-routes.ts';
import { hubRoutes } from './routes/hub-routes.ts';
import { modelRoutes } from './routes/model-routes.ts';
import { notificationRoutes } from './routes/notification-routes.ts';
import { taskRoutes } from './routes/task-routes.ts';
import { jobRoutes } from './routes/job-routes.ts';
import { jobViewRoutes } from './routes/job-view-routes.ts';
import { trainRoutes } from './routes/train-routes.ts';
import { uploadRoutes } from './routes/upload-routes.ts';
import { workspaceRoutes } from './routes/workspace-routes.ts';

export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));
/** Client-side routes of the web app; the server answers them with index.html. */
const WEB_PAGES = new Set(['/', '/models', '/datasets', '/train', '/jobs', '/generate', '/tools', '/settings']);

export interface BuildAppParams {
  studio: Studio;
  settings: Settings;
  port: number;
  tls?: { cert: Buffer; key: Buffer };
  publicNames?: readonly string[];
  webDist?: string;
}

export interface BuiltApp {
  app: App;
  context: RouteContext;
}

export async function buildApp(params: BuildAppParams): Promise<BuiltApp> {
  const { studio, settings } = params;
  const tls = params.tls !== undefined;
  const origins = studioOrigins({ port: params.port, tls, publicNames: params.publicNames ?? [] });
  const context: RouteContext = {
    studio,
    origins,
    cookieName: sessionCookieName(params.port),
    tls,
    exposed: (params.publicNames ?? []).length > 0,
    startedAt: new Date().toISOString(),
    recordAuthFailure: createAuthFailureRecorder({ backoff: new AuthBackoff(), settings: studio.settings, events: studio.securityEvents }),
  };

  // Node checks header and request timeouts on an interval (30 s by default): check every second so a
  // client that drips its headers is cut off close to headersTimeout.
  const connectionLimits = { maxHeaderSize: 16 * 1024, headersTimeout: settings.server.headersTimeoutMs, connectionsCheckingInterval: 1000 };
  const app = Fastify({
    logger: false,
    bodyLimit: settings.server.bodyLimitBytes,
    requestTimeout: settings.server.requestTimeoutMs,
    connectionTimeout: 0,
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    ...(params.tls === undefined ? { http: connectionLimits } : { https: { ...connectionLimits, cert: params.tls.cert, key: params.tls.key } }),
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(createErrorHandler(studio.log));
  app.decorateRequest('auth', null);

  // JSON only (WEB-R04): text/plain is parsed by default in fastify, so it goes; `__proto__` and
  // `constructor.prototype` keys are errors (WEB-R13); an empty body reads as "no body".
  app.removeContentTypeParser(['text/plain', 'application/json']);
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else jsonParser(request, typeof body === 'string' ? body : body.toString('utf8'), done);
  });

  app.addHook('onRequest', createGuard({ studio, origins, cookieName: context.cookieName, recordAuthFailure: context.recordAuthFailure }));
  app.addHook('onResponse', async (request, reply) => {
    // Method, route pattern and status only: the raw URL can hold a pairing code (LOG-R02).
    studio.log.debug({ method: request.method, route: request.routeOptions.url ?? '(unmatched)', status: reply.statusCode }, 'request');
  });

  await app.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'self'"], baseUri: ["'none'"], formAction: ["'self'"], frameAncestors: ["'none'"], objectSrc: ["'none'"] } },
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
    strictTransportSecurity: tls,
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });

  await app.register(fastifyRateLimit, {
    global: true,
    max: async () => (await studio.settings.get()).rateLimits.generalPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => request.auth?.key ?? `ip:${request.ip}`,
    allowList: (request) => !request.url.startsWith('/api/'),
    onExceeded: (request, key) => {
      void studio.securityEvents.record('rate-limited', `${request.method} ${request.routeOptions.url ?? '(unmatched)'} over the limit for ${key}`, request.ip);
    },
    errorResponseBuilder: (_request, limit) =>
      new LorasmithError({ code: 'rate-limited', message: `Too many requests; limit ${limit.max} per minute.`, hint: `Retry in ${limit.after}.`, status: 429, exitCode: 2 }),
  });

  await app.register(fastifySwagger, {
    openapi: { openapi: '3.0.3', info: { title: 'lorasmith studio API', version: LORASMITH_VERSION }, components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: context.cookieName } } }, security: [{ bearer: [] }, { session: [] }] },
    transform: jsonSchemaTransform,
  });

  accessRoutes(app, context);
  workspaceRoutes(app, context);
  taskRoutes(app, context);
  eventRoutes(app, context);
  uploadRoutes(app, context);
  modelRoutes(app, context);
  hubRoutes(app, context);
  datasetRoutes(app, context);
  trainRoutes(app, context);
  jobRoutes(app, context);
  jobViewRoutes(app, context);
  // The server holds the workspace lock (serve.ts takes it before building the app): it supervises the runs,
  // reattaching those a previous server left, from the moment it is ready.
  app.addHook('onReady', async () => studio.jobs.supervise());
  engineRoutes(app, context);
  notificationRoutes(app, context);
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const webDist = params.webDist ?? WEB_DIST;
  const haveWeb = existsSync(webDist);
  if (haveWeb) {
    await app.register(fastifyStatic, { root: webDist, dotfiles: 'deny', index: ['index.html'], wildcard: true });
  }
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (request.method === 'GET' && WEB_PAGES.has(path)) {
      if (!haveWeb) return reply.code(503).type('text/plain; charset=utf-8').send('The web UI is not built. Run `npm run build:web`.\n');
      return reply.header('cache-control', 'no-store').sendFile('index.html');
    }
    return reply.code(404).send({ error: { code: 'not-found', message: `Nothing at ${request.method} ${path.slice(0, 200)}.`, hint: 'See /api/openapi.json for the API.' } });
  });

  return { app, context };
}
