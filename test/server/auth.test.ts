/** Pairing, sessions, bearer tokens and the auth-failure backoff (WEB-R05, R11), against the real server. */
import { execFileSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/http.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio | undefined;
afterEach(async () => {
  await studio?.stop();
  studio = undefined;
});

const json = { 'content-type': 'application/json' };

describe('pairing and sessions', () => {
  it('a pairing code works once and leads to a code-free URL with a strict, HttpOnly cookie', async () => {
    studio = await startTestStudio();
    const first = await rawRequest({ url: studio.running.pairingUrl, headers: { 'sec-fetch-site': 'none' } });
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const cookie = first.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toMatch(new RegExp(`^lorasmith_session_${studio.running.port}=`));
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect(cookie).not.toContain('Secure');
    const second = await rawRequest({ url: studio.running.pairingUrl });
    expect(second.status).toBe(401);
    expect(second.headers['set-cookie']).toBeUndefined();
  });

  it('the session gives the page its CSRF token; the secret appears in no URL, redirect or log', async () => {
    studio = await startTestStudio();
    const cookie = await studio.pair();
    const session = (await studio.asPage({ path: '/api/session' }, cookie)).json<{ csrfToken: string; sessionId: string }>();
    expect(session.csrfToken.length).toBeGreaterThan(20);
    const secret = await studio.apiSecret();
    expect(studio.running.pairingUrl).not.toContain(secret);
    expect(studio.logLines.join('\n')).not.toContain(secret);
    expect(studio.logLines.join('\n')).not.toContain(new URL(studio.running.pairingUrl).searchParams.get('code'));
  });

  it('an expired pairing code gets 401', async () => {
    studio = await startTestStudio();
    const { code } = await studio.running.studio.pairing.issue(60);
    await studio.running.studio.db.updateTable('pairing_codes').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).execute();
    const response = await rawRequest({ url: `${studio.url}/pair?code=${code}` });
    expect(response.status).toBe(401);
  });

  it('`pair` over the bearer API pairs a second browser while the first session keeps working; no bearer, no code', async () => {
    studio = await startTestStudio();
    const firstCookie = await studio.pair();
    const issued = await studio.asBearer({ path: '/api/pairings', method: 'POST' });
    expect(issued.status).toBe(200);
    const secondCookie = await studio.pair(issued.json<{ url: string }>().url);
    expect(secondCookie).not.toBe(firstCookie);
    for (const cookie of [firstCookie, secondCookie]) expect((await studio.asPage({ path: '/api/session' }, cookie)).status).toBe(200);
    // A session cookie cannot mint pairing codes, and neither can a wrong token.
    expect((await studio.asPage({ path: '/api/pairings', method: 'POST' }, firstCookie)).status).toBe(403);
    expect((await studio.asBearer({ path: '/api/pairings', method: 'POST' }, 'lsm_wrong')).status).toBe(401);
  });

  it('sessions are listed, survive a restart, and a revoked one gets 401 at once', async () => {
    studio = await startTestStudio();
    const cookie = await studio.pair();
    await studio.restart();
    const listed = (await studio.asPage({ path: '/api/sessions' }, cookie)).json<{ sessions: Array<{ id: string; current: boolean }> }>();
    expect(listed.sessions).toHaveLength(1);
    expect(listed.sessions[0]?.current).toBe(true);
    const id = listed.sessions[0]?.id ?? '';
    expect((await studio.asBearer({ path: `/api/sessions/${id}`, method: 'DELETE' })).status).toBe(204);
    expect((await studio.asPage({ path: '/api/session' }, cookie)).status).toBe(401);
  });

  it('an expired session stops working', async () => {
    studio = await startTestStudio();
    const cookie = await studio.pair();
    await studio.running.studio.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).execute();
    expect((await studio.asPage({ path: '/api/session' }, cookie)).status).toBe(401);
  });
});

describe('bearer tokens', () => {
  it('every /api route needs the session or a token', async () => {
    studio = await startTestStudio();
    await studio.running.studio.settings.update({ rateLimits: { authFailuresPerMinute: 1000 } });
    const document = (await studio.asBearer({ path: '/api/openapi.json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
    for (const [route, methods] of Object.entries(document.paths)) {
      for (const method of Object.keys(methods)) {
        const url = `${studio.url}${route.replace(/\{[^}]+\}/g, 'x')}`;
        // As the studio's own page would send it, minus the cookie: the guard's origin checks pass, auth must not.
        const headers = { ...json, 'sec-fetch-site': 'same-origin', ...(method === 'get' ? {} : { origin: studio.origin }) };
        const response = await rawRequest({ url, method: method.toUpperCase(), headers, ...(method === 'get' ? {} : { body: '{}' }) });
        expect(response.status, `${method} ${route}`).toBe(401);
      }
    }
  });

  it('after `token rotate` the old secret gets 401 and the new one works, while the studio runs', async () => {
    studio = await startTestStudio();
    const old = await studio.apiSecret();
    const home = studio.home;
    execFileSync(process.execPath, [path.resolve('src/cli/main.ts'), 'token', 'rotate'], { env: { ...process.env, LORASMITH_HOME: home } });
    expect((await studio.asBearer({ path: '/api/health' }, old)).status).toBe(401);
    const fresh = await studio.apiSecret();
    expect(fresh).not.toBe(old);
    expect((await studio.asBearer({ path: '/api/health' }, fresh)).status).toBe(200);
    expect(((await stat(path.join(home, 'api-secret'))).mode & 0o777).toString(8)).toBe('600');
  });

  it('a created token authenticates a script and gets 401 once removed', async () => {
    studio = await startTestStudio();
    const created = (await studio.asBearer({ path: '/api/tokens', method: 'POST', headers: json, body: '{"name":"nightly"}' })).json<{ token: string }>();
    expect((await studio.asBearer({ path: '/api/health' }, created.token)).status).toBe(200);
    const listed = (await studio.asBearer({ path: '/api/tokens' })).json<{ tokens: Array<{ name: string; lastUsedAt: string | null }> }>();
    expect(listed.tokens).toEqual([expect.objectContaining({ name: 'nightly', lastUsedAt: expect.any(String) })]);
    expect(JSON.stringify(listed)).not.toContain(created.token);
    expect((await studio.asBearer({ path: '/api/tokens/nightly', method: 'DELETE' })).status).toBe(204);
    expect((await studio.asBearer({ path: '/api/health' }, created.token)).status).toBe(401);
  });
});

describe('rate limits (WEB-R11)', () => {
  it('a fresh workspace has the reference defaults', async () => {
    studio = await startTestStudio();
    const settings = (await studio.asBearer({ path: '/api/settings' })).json<{ rateLimits: Record<string, number> }>();
    expect(settings.rateLimits).toEqual({
      generalPerMinute: 300,
      authFailuresPerMinute: 5,
      authBackoffMinutes: 15,
      downloadStartPerMinute: 10,
      trainingStartPerMinute: 2,
      concurrentDownloads: 3,
    });
  });

  it('WEB-A10: the general limit answers 429 with Retry-After, keyed per credential', async () => {
    studio = await startTestStudio();
    await studio.asBearer({ path: '/api/settings', method: 'PATCH', headers: json, body: '{"rateLimits":{"generalPerMinute":5}}' });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await studio.asBearer({ path: '/api/health' })).status);
    expect(statuses.slice(0, 4).every((status) => status === 200)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    const limited = await studio.asBearer({ path: '/api/health' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json<{ error: { code: string } }>().error.code).toBe('rate-limited');
    const events = (await studio.asBearer({ path: '/api/security-events' }, (await studio.running.studio.tokens.create('reader')).token)).json<{ events: Array<{ kind: string }> }>().events;
    expect(events.some((event) => event.kind === 'rate-limited')).toBe(true);
    // Another credential has its own budget.
    const other = (await studio.running.studio.tokens.create('other')).token;
    expect((await studio.asBearer({ path: '/api/health' }, other)).status).toBe(200);
  });

  it('WEB-A07: repeated bad credentials start a backoff that never blocks a valid token or cookie', async () => {
    studio = await startTestStudio();
    const cookie = await studio.pair();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await studio.asBearer({ path: '/api/health' }, `lsm_guess${i}`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    const blocked = await studio.asBearer({ path: '/api/health' }, 'lsm_guess-again');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(800);
    expect((await studio.asBearer({ path: '/api/health' })).status).toBe(200);
    expect((await studio.asPage({ path: '/api/session' }, cookie)).status).toBe(200);
    const events = (await studio.asBearer({ path: '/api/security-events' })).json<{ events: Array<{ kind: string }> }>().events;
    expect(events.filter((event) => event.kind === 'auth-failed').length).toBeGreaterThanOrEqual(6);
    expect(events.some((event) => event.kind === 'auth-backoff')).toBe(true);
  });

  it('wrong pairing codes count as failed credentials; a valid code still pairs during the backoff', async () => {
    studio = await startTestStudio();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await rawRequest({ url: `${studio.url}/pair?code=lsp_wrong${i}` })).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
    expect((await studio.pair()).startsWith('lorasmith_session_')).toBe(true);
  });
});
