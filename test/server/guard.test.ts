/** Host, Origin, Sec-Fetch-Site, content types, upgrades, CORS and headers against the real server (WEB-R02..R09). */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/http.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let cookie: string;

beforeAll(async () => {
  studio = await startTestStudio();
  cookie = await studio.pair();
});
afterAll(async () => studio.stop());

describe('Host allowlist (WEB-R02)', () => {
  it('WEB-A01: a rebinding Host is refused before routing, even with a valid token', async () => {
    const response = await studio.asBearer({ path: '/api/health', headers: { host: `rebind.attacker.test:${studio.running.port}` } });
    expect(response.status).toBe(403);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('host-refused');
  });

  it.each(['0.0.0.0', 'evil.test', 'foo.localhost', '127.0.0.1.nip.io'])('Host %s with the right port is refused', async (name) => {
    const response = await studio.asBearer({ path: '/api/health', headers: { host: `${name}:${studio.running.port}` } });
    expect(response.status).toBe(403);
  });

  it('the right name with another port is refused', async () => {
    const response = await studio.asBearer({ path: '/api/health', headers: { host: `127.0.0.1:${studio.running.port + 1}` } });
    expect(response.status).toBe(403);
  });

  it.each(['127.0.0.1', 'localhost', '[::1]', 'LOCALHOST'])('Host %s:PORT is served', async (name) => {
    const response = await studio.asBearer({ path: '/api/health', headers: { host: `${name}:${studio.running.port}` } });
    expect(response.status).toBe(200);
  });

  it('a refused host is recorded as a security event', async () => {
    await studio.asBearer({ path: '/api/health', headers: { host: `evil.test:${studio.running.port}` } });
    const events = (await studio.asBearer({ path: '/api/security-events' })).json<{ events: Array<{ kind: string }> }>().events;
    expect(events.some((event) => event.kind === 'host-refused')).toBe(true);
  });
});

describe('Origin and Sec-Fetch-Site (WEB-R03, R07)', () => {
  it('WEB-A03: a text/plain form POST from another site is refused, and nothing is created', async () => {
    const response = await studio.asPage(
      { path: '/api/tokens', method: 'POST', headers: { origin: 'https://evil.test', 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' }, body: '{"name":"x","y":"=1"}' },
      cookie,
    );
    expect([403, 415]).toContain(response.status);
    const tokens = (await studio.asBearer({ path: '/api/tokens' })).json<{ tokens: unknown[] }>().tokens;
    expect(tokens).toEqual([]);
  });

  it('WEB-A03: a body-less no-cors POST to cancel is refused', async () => {
    const task = (await studio.asBearer({ path: '/api/tasks/selftest', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"steps":50,"intervalMs":50}' })).json<{ id: string }>();
    const response = await studio.asPage({ path: `/api/tasks/${task.id}/cancel`, method: 'POST', headers: { origin: 'https://evil.test', 'sec-fetch-site': 'cross-site' } }, cookie);
    expect(response.status).toBe(403);
    const after = (await studio.asBearer({ path: `/api/tasks/${task.id}` })).json<{ state: string }>();
    expect(after.state).not.toBe('cancelled');
    await studio.asBearer({ path: `/api/tasks/${task.id}/cancel`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  });

  it('WEB-A16: a page on another local port (same-site) cannot mutate or read with the cookie', async () => {
    const otherOrigin = `http://127.0.0.1:${studio.running.port + 1}`;
    const post = await studio.asPage(
      { path: '/api/tokens', method: 'POST', headers: { origin: otherOrigin, 'sec-fetch-site': 'same-site', 'content-type': 'application/json' }, body: '{"name":"other-port"}' },
      cookie,
    );
    expect(post.status).toBe(403);
    const events = await studio.asPage({ path: '/api/events', headers: { 'sec-fetch-site': 'same-site' } }, cookie);
    expect(events.status).toBe(403);
  });

  it('an exact own Origin with Sec-Fetch-Site: same-site is still refused', async () => {
    const response = await studio.asPage(
      { path: '/api/tokens', method: 'POST', headers: { 'sec-fetch-site': 'same-site', 'content-type': 'application/json' }, body: '{"name":"x1"}' },
      cookie,
    );
    expect(response.status).toBe(403);
  });

  it('a cookie mutation without Sec-Fetch-Site never passes on Origin alone', async () => {
    const response = await studio.asPage(
      { path: '/api/tokens', method: 'POST', headers: { 'sec-fetch-site': '', 'content-type': 'application/json' }, body: '{"name":"x2"}' },
      cookie,
    );
    expect(response.status).toBe(403);
  });

  it('Origin "null" is foreign', async () => {
    const response = await studio.asPage({ path: '/api/tokens', method: 'POST', headers: { origin: 'null', 'content-type': 'application/json' }, body: '{"name":"x3"}' }, cookie);
    expect(response.status).toBe(403);
  });

  it('the page itself (own Origin, same-origin) may mutate', async () => {
    const response = await studio.asPage({ path: '/api/tokens', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"from-page"}' }, cookie);
    expect(response.status).toBe(200);
    await studio.asBearer({ path: '/api/tokens/from-page', method: 'DELETE' });
  });

  it('a bearer client without cookie may omit Origin and Sec-Fetch-Site; with the cookie too it gets the page checks', async () => {
    const secret = await studio.apiSecret();
    const bare = await rawRequest({ url: `${studio.url}/api/tokens`, method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: '{"name":"script"}' });
    expect(bare.status).toBe(200);
    const mixed = await rawRequest({ url: `${studio.url}/api/tokens/script`, method: 'DELETE', headers: { authorization: `Bearer ${secret}`, cookie } });
    expect(mixed.status).toBe(403);
    await studio.asBearer({ path: '/api/tokens/script', method: 'DELETE' });
  });

  it('a cross-site top-level navigation to the pairing route is refused (login CSRF)', async () => {
    const { code } = await studio.running.studio.pairing.issue(60);
    const response = await rawRequest({ url: `${studio.url}/pair?code=${code}`, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(response.status).toBe(403);
  });
});

describe('JSON only and strict bodies (WEB-R04, R12, R13)', () => {
  it.each(['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain'])('%s on a mutating route → 415', async (type) => {
    const response = await studio.asBearer({ path: '/api/tokens', method: 'POST', headers: { 'content-type': type }, body: 'name=x' });
    expect(response.status).toBe(415);
  });

  it('WEB-A12: __proto__ and constructor.prototype bodies → 400, and nothing is polluted', async () => {
    for (const body of ['{"__proto__":{"isAdmin":true}}', '{"constructor":{"prototype":{"x":1}}}']) {
      const response = await studio.asBearer({ path: '/api/tokens', method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(response.status).toBe(400);
    }
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('unknown keys are rejected', async () => {
    const response = await studio.asBearer({ path: '/api/tokens', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"ok","admin":true}' });
    expect(response.status).toBe(400);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('invalid-request');
  });

  it('a __proto__ key in the query string is rejected', async () => {
    const response = await studio.asBearer({ path: '/api/security-events?__proto__[x]=1' });
    expect(response.status).toBe(400);
  });

  it('WEB-A11: a JSON body over 1 MiB → 413', async () => {
    const body = JSON.stringify({ value: 'x'.repeat(1024 * 1024 + 10) });
    const response = await studio.asBearer({ path: '/api/secrets/hf', method: 'PUT', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBe(413);
  });

  it('headers over 16 KiB are refused', async () => {
    const response = await studio.asBearer({ path: '/api/health', headers: { 'x-filler': 'a'.repeat(17 * 1024) } });
    expect(response.status).toBe(431);
  });
});

describe('no CORS, no WebSocket, security headers (WEB-R06..R09)', () => {
  it('WEB-A05: a preflight gets no Access-Control-Allow-* header', async () => {
    const response = await rawRequest({
      url: `${studio.url}/api/tokens`,
      method: 'OPTIONS',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(Object.keys(response.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    expect(response.status).toBeGreaterThanOrEqual(400);
  });

  it('no response carries Access-Control-Allow-Origin', async () => {
    const response = await studio.asBearer({ path: '/api/health', headers: { origin: studio.origin } });
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('WEB-A06: WebSocket upgrades are never switched, from a foreign origin or our own page', async () => {
    const attempt = (origin: string, withCookie: boolean) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(studio.running.port, '127.0.0.1', () => {
          socket.write(
            [
              `GET ${withCookie ? '/api/jobs' : '/ws/logs'} HTTP/1.1`,
              `Host: ${studio.host}`,
              'Connection: Upgrade',
              'Upgrade: websocket',
              'Sec-WebSocket-Version: 13',
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
              `Origin: ${origin}`,
              ...(withCookie ? [`Cookie: ${cookie}`] : []),
              '',
              '',
            ].join('\r\n'),
          );
        });
        let data = '';
        socket.on('data', (chunk) => {
          data += chunk.toString('utf8');
          if (data.includes('\r\n\r\n')) socket.end();
        });
        socket.on('close', () => resolve(data));
        socket.on('error', reject);
      });
    for (const [origin, withCookie] of [['https://evil.test', false], [studio.origin, true]] as const) {
      const head = await attempt(origin, withCookie);
      expect(head).not.toContain('101');
      expect(head.startsWith('HTTP/1.1 403')).toBe(true);
    }
  });

  it('WEB-R08: CSP and the other security headers on pages and API', async () => {
    for (const response of [await rawRequest({ url: `${studio.url}/settings` }), await studio.asBearer({ path: '/api/health' })]) {
      expect(response.headers['content-security-policy']).toBe("default-src 'self';base-uri 'none';form-action 'self';frame-ancestors 'none';object-src 'none'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('SSE responses carry the security headers too', async () => {
    const controller = new AbortController();
    const secret = await studio.apiSecret();
    const response = await fetch(`${studio.url}/api/events`, { headers: { authorization: `Bearer ${secret}` }, signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    controller.abort();
  });

  it('WEB-R09: static files never serve dotfiles or escape the web root', async () => {
    for (const path of ['/.env', '/.git/config', '/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/assets/../../package.json']) {
      const response = await rawRequest({ url: `${studio.url}${path}` });
      expect([403, 404], path).toContain(response.status);
      expect(response.body).not.toContain('"name": "lorasmith"');
    }
  });

  it('the web app is served for the pages of the loop', async () => {
    for (const path of ['/', '/models', '/settings']) {
      const response = await rawRequest({ url: `${studio.url}${path}` });
      expect(response.status).toBe(200);
      expect(response.body).toContain('<div id="root">');
    }
  });

  it('unknown API paths answer with the JSON error shape', async () => {
    const response = await studio.asBearer({ path: '/api/nothing-here' });
    expect(response.status).toBe(404);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('not-found');
  });
});

describe('OpenAPI', () => {
  it('is generated from the zod schemas', async () => {
    const document = (await studio.asBearer({ path: '/api/openapi.json' })).json<{ openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> }>();
    expect(document.openapi).toBe('3.0.3');
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/api/tokens', '/api/uploads', '/api/tasks/{id}', '/api/settings', '/api/secrets/{name}']));
    expect(JSON.stringify(document.paths['/api/tokens']?.post?.requestBody)).toContain('"name"');
  });
});

describe('timeouts (WEB-R12)', () => {
  it('a client that never finishes its headers is cut off after headersTimeout', async () => {
    const slow = await startTestStudio();
    try {
      await slow.running.studio.settings.update({ server: { headersTimeoutMs: 1000 } });
      await slow.restart();
      const started = Date.now();
      const closedAfter = await new Promise<number>((resolve, reject) => {
        const socket = net.connect(slow.running.port, '127.0.0.1', () => socket.write(`GET /api/health HTTP/1.1\r\nHost: ${slow.host}\r\nX-Slow: `));
        const drip = setInterval(() => socket.write('a'), 200);
        socket.on('close', () => {
          clearInterval(drip);
          resolve(Date.now() - started);
        });
        socket.on('error', () => undefined);
        setTimeout(() => reject(new Error('still open after 10 s')), 10_000);
      });
      expect(closedAfter).toBeLessThan(5000);
    } finally {
      await slow.stop();
    }
  });
});

