/** Pairing, browser sessions, API tokens and the security event log (WEB-R05, §6 of the issue). */
import { z } from 'zod';
import { LorasmithError } from '../../core/errors.ts';
import { sessionCookie } from '../cookies.ts';
import type { App, RouteContext } from '../context.ts';
import { requireAuth } from '../request-auth.ts';
import { optionalEmptyBody, idParams, limitQuery, nameParams, pairingBody, securityEvent, sessionBody, sessionInfo, tokenCreateBody, tokenInfo } from '../schemas.ts';

const tags = ['access'];

export function accessRoutes(app: App, ctx: RouteContext): void {
  const { studio } = ctx;

  // Outside /api: a top-level navigation from the printed URL. The code is spent here, a session cookie
  // is set, and the browser is sent on to a URL without the code (it never stays in history).
  app.get('/pair', { schema: { hide: true, querystring: z.object({ code: z.string().max(200) }).strict() } }, async (request, reply) => {
    if (!(await studio.pairing.redeem(request.query.code))) {
      const { retryAfterSeconds } = await ctx.recordAuthFailure('a pairing code was unknown, spent or expired', request.ip);
      if (retryAfterSeconds > 0) reply.header('retry-after', String(retryAfterSeconds));
      return reply
        .code(retryAfterSeconds > 0 ? 429 : 401)
        .type('text/plain; charset=utf-8')
        .send('This pairing link is no longer valid. Run `lorasmith pair` for a new one.\n');
    }
    const settings = await studio.settings.get();
    const { secret } = await studio.sessions.create({ ttlHours: settings.server.sessionTtlHours, userAgent: request.headers['user-agent'] ?? null });
    reply.header('set-cookie', sessionCookie({ name: ctx.cookieName, value: secret, maxAgeSeconds: settings.server.sessionTtlHours * 3600, secure: ctx.tls }));
    reply.header('cache-control', 'no-store');
    return reply.redirect('/', 303);
  });

  app.get('/api/session', { schema: { tags, response: { 200: sessionBody } } }, async (request) => {
    const auth = requireAuth(request.auth);
    if (auth.kind !== 'session') {
      throw new LorasmithError({ code: 'session-required', message: 'Only a browser session has a session record.', hint: 'Use the studio page.', status: 400 });
    }
    return { sessionId: auth.session.id, csrfToken: auth.session.csrfToken, expiresAt: auth.session.expiresAt };
  });

  app.post('/api/pairings', { schema: { tags, body: optionalEmptyBody, response: { 200: pairingBody } } }, async (request) => {
    const auth = requireAuth(request.auth);
    if (auth.kind !== 'bearer') {
      throw new LorasmithError({ code: 'bearer-required', message: 'Pairing codes are issued only to the CLI or a token holder.', hint: 'Run `lorasmith pair` in a terminal.', status: 403 });
    }
    const { code, expiresAt } = await studio.pairing.issue((await studio.settings.get()).server.pairingCodeTtlSeconds);
    return { url: `${ctx.origins.baseUrl}/pair?code=${code}`, expiresAt };
  });

  app.get('/api/sessions', { schema: { tags, response: { 200: z.object({ sessions: z.array(sessionInfo) }) } } }, async (request) => {
    const auth = requireAuth(request.auth);
    const sessions = await studio.sessions.list();
    return { sessions: sessions.map((s) => ({ ...s, current: auth.kind === 'session' && auth.session.id === s.id })) };
  });

  app.delete('/api/sessions/:id', { schema: { tags, params: idParams } }, async (request, reply) => {
    await studio.sessions.revoke(request.params.id);
    await studio.securityEvents.record('session-revoked', `session ${request.params.id} revoked`, request.ip);
    return reply.code(204).send();
  });

  app.get('/api/tokens', { schema: { tags, response: { 200: z.object({ tokens: z.array(tokenInfo) }) } } }, async () => ({
    tokens: await studio.tokens.list(),
  }));

  app.post('/api/tokens', { schema: { tags, body: tokenCreateBody, response: { 200: z.object({ name: z.string(), token: z.string() }) } } }, async (request) => {
    const created = await studio.tokens.create(request.body.name);
    await studio.securityEvents.record('token-created', `token ${created.name} created`, request.ip);
    return created;
  });

  app.delete('/api/tokens/:name', { schema: { tags, params: nameParams } }, async (request, reply) => {
    await studio.tokens.remove(request.params.name);
    await studio.securityEvents.record('token-removed', `token ${request.params.name} removed`, request.ip);
    return reply.code(204).send();
  });

  app.get('/api/security-events', { schema: { tags, querystring: limitQuery, response: { 200: z.object({ events: z.array(securityEvent) }) } } }, async (request) => ({
    events: await studio.securityEvents.list(request.query.limit),
  }));
}
