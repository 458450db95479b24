import http from 'node:http';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LorasmithError } from '../core/errors.ts';
import { redirectTo, respond, serveBytes, testBytes, xetRedirect, sha256Hex } from '../../test/doubles/hub/behaviours.ts';
import { startHubDouble, type HubDouble } from '../../test/doubles/hub/hub-double.ts';
import { safeFetch, type SafeFetchParams, type SafeResponse } from './safe-fetch.ts';
import type { ProviderPolicy } from './url-policy.ts';

const CANARY = 'hf_CANARYCANARYCANARYCANARY1234';
let d: HubDouble;

beforeAll(async () => {
  d = await startHubDouble();
});
afterEach(() => d.reset());
afterAll(async () => {
  await d.close();
});

/** hub.test is the endpoint, cdn.test its CDN (both exempt: they live on 127.0.0.1), evil.test is not listed. */
function policy(extra: Partial<ProviderPolicy> = {}): ProviderPolicy {
  return {
    name: 'hf',
    apiHosts: [`hub.test:${d.port}`],
    redirectHosts: [`cdn.test:${d.port}`, `cdn2.test:${d.port}`],
    exemptHosts: [`hub.test:${d.port}`, `cdn.test:${d.port}`, `cdn2.test:${d.port}`],
    credential: { header: 'authorization', value: `Bearer ${CANARY}`, origins: [d.origin('hub.test')] },
    ...extra,
  };
}

function fetchVia(path: string, params: Partial<SafeFetchParams> = {}): Promise<SafeResponse> {
  return safeFetch({ url: d.url('hub.test', path), policy: policy(), lookup: d.lookup, ca: d.ca, ...params });
}

async function readAll(response: SafeResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function refusal(promise: Promise<unknown>): Promise<LorasmithError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LorasmithError);
    return error as LorasmithError;
  }
  throw new Error('expected a refusal');
}

/** Where did the canary go? Only ever to hub.test, never in a URL. */
function expectCanaryOnlyAtHub(): void {
  for (const request of d.requests) {
    const text = JSON.stringify(request);
    if (request.host !== 'hub.test') expect(text).not.toContain(CANARY);
    expect(request.path).not.toContain(CANARY);
    expect(request.headers.cookie).toBeUndefined();
    expect(request.headers['proxy-authorization']).toBeUndefined();
  }
}

describe('safeFetch: redirects and credentials (DL-R02, DL-R04, HF-A02, HF-A06)', () => {
  it('follows an allowlisted CDN redirect and sends the token to the API host only', async () => {
    const body = testBytes(3000);
    d.route('hub.test', '/org/m/resolve/abc/model.safetensors', redirectTo(() => d.url('cdn.test', '/blob?X-Amz-Signature=deadbeef')));
    d.route('cdn.test', '/blob', serveBytes(body, { etag: '"cdn-etag"', headers: { 'set-cookie': 'a=b' } }));
    const response = await fetchVia('/org/m/resolve/abc/model.safetensors', {
      headers: { cookie: 'session=1', 'proxy-authorization': 'Basic eHg6eXk=', authorization: 'Bearer other', 'x-api-key': 'k' },
    });
    expect(response.status).toBe(200);
    expect((await readAll(response)).equals(body)).toBe(true);
    expect(response.urlForLog).toBe(`https://cdn.test:${d.port}/blob`);
    expect(response.redirects).toEqual([{ status: 302, urlForLog: `https://hub.test:${d.port}/org/m/resolve/abc/model.safetensors`, headers: { 'content-length': '0' } }]);
    expect(response.credentialSent).toBe(false);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.headers.etag).toBe('"cdn-etag"');

    const [api, cdn] = d.requests;
    expect(api?.headers.authorization).toBe(`Bearer ${CANARY}`);
    expect(api?.servername).toBe('hub.test');
    expect(api?.headers['accept-encoding']).toBe('identity');
    expect(api?.headers['x-api-key']).toBe('k');
    expect(cdn?.host).toBe('cdn.test');
    expect(cdn?.servername).toBe('cdn.test');
    expect(cdn?.headers.authorization).toBeUndefined();
    expect(cdn?.headers['x-api-key']).toBeUndefined();
    expect(cdn?.headers['accept-encoding']).toBe('identity');
    expectCanaryOnlyAtHub();
  });

  it('refuses an off-list redirect before contacting it (HF-A02)', async () => {
    d.route('hub.test', '/f', redirectTo(() => d.url('evil.test', '/steal')));
    const error = await refusal(fetchVia('/f'));
    expect(error.code).toBe('redirect-refused');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('evil.test');
    expect(d.requestsTo('evil.test')).toEqual([]);
    expect(d.lookupCalls).not.toContain('evil.test');
    expectCanaryOnlyAtHub();
  });

  it('refuses an https → http downgrade, even to a listed host (LOG-A06)', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const plain = http.createServer((req, res) => {
      seen.push(req.headers);
      res.end('x');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const port = (plain.address() as net.AddressInfo).port;
    try {
      d.route('hub.test', '/f', redirectTo(`http://127.0.0.1:${port}/collect`));
      d.route('hub.test', '/g', redirectTo(() => `http://cdn.test:${d.port}/blob`));
      const policyWithPlain = policy({ redirectHosts: [`cdn.test:${d.port}`, `127.0.0.1:${port}`], exemptHosts: [`hub.test:${d.port}`, `cdn.test:${d.port}`, `127.0.0.1:${port}`] });
      for (const path of ['/f', '/g']) {
        const error = await refusal(fetchVia(path, { policy: policyWithPlain }));
        expect(error.code).toBe('redirect-refused');
        expect(error.message).toContain('http');
      }
      expect(seen).toEqual([]);
      expect(d.requestsTo('cdn.test')).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });

  it('refuses a redirect to a link-local address before connecting (HF-A05)', async () => {
    d.route('hub.test', '/f', redirectTo('https://link-local.test/latest/meta-data/'));
    const error = await refusal(fetchVia('/f', { policy: policy({ redirectHosts: ['link-local.test'] }) }));
    expect(error.code).toBe('redirect-refused');
    expect(error.details).toMatchObject({ rule: 'DL-R03', host: 'link-local.test' });
    expect(d.lookupCalls).toContain('link-local.test');
  });

  it('refuses an allowlisted name that resolves to a private address, or to any private address among others', async () => {
    const listed = policy({ apiHosts: ['private.test', `hub.test:${d.port}`] });
    const first = await refusal(safeFetch({ url: 'https://private.test/x', policy: listed, lookup: d.lookup, ca: d.ca }));
    expect(first.code).toBe('unsafe');
    expect(first.details).toMatchObject({ rule: 'DL-R03' });
    d.mapHost('private.test', [
      { address: '8.8.8.8', family: 4 },
      { address: '::ffff:10.0.0.1', family: 6 },
    ]);
    expect((await refusal(safeFetch({ url: 'https://private.test/x', policy: listed, lookup: d.lookup, ca: d.ca }))).code).toBe('unsafe');
  });

  it('resolves once per hop and connects to the checked address (no second lookup)', async () => {
    d.mapHost('hub.test', (call) => (call === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '127.0.0.3', family: 4 }]));
    d.route('hub.test', '/once', respond(200, { body: 'ok' }));
    const response = await fetchVia('/once');
    expect((await readAll(response)).toString()).toBe('ok');
    expect(d.lookupCalls.filter((host) => host === 'hub.test')).toHaveLength(1);
    expect(d.requestsTo('hub.test')).toHaveLength(1);
  });

  it('follows a same-origin relative 307 and keeps the token there', async () => {
    d.route('hub.test', '/org/m/resolve/main/config.json', redirectTo('/api/resolve-cache/models/org/m/abc/config.json', { status: 307 }));
    d.route('hub.test', '/api/resolve-cache/models/org/m/abc/config.json', respond(200, { body: '{}', headers: { 'x-repo-commit': 'a'.repeat(40) } }));
    const response = await fetchVia('/org/m/resolve/main/config.json');
    expect(response.status).toBe(200);
    expect(response.credentialSent).toBe(true);
    expect(response.headers['x-repo-commit']).toBe('a'.repeat(40));
    expect(d.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${CANARY}`, `Bearer ${CANARY}`]);
  });

  it('never re-adds the token after the chain left the API origin, even when it comes back', async () => {
    d.route('hub.test', '/a', redirectTo(() => d.url('cdn.test', '/b')));
    d.route('cdn.test', '/b', redirectTo(() => d.url('hub.test', '/c')));
    d.route('hub.test', '/c', respond(200, { body: 'back' }));
    const response = await fetchVia('/a');
    expect((await readAll(response)).toString()).toBe('back');
    expect(response.credentialSent).toBe(false);
    expect(d.requests.map((request) => [request.host, request.headers.authorization])).toEqual([
      ['hub.test', `Bearer ${CANARY}`],
      ['cdn.test', undefined],
      ['hub.test', undefined],
    ]);
  });

  it('follows a Xet-style 302 without requesting its Link targets (HF-R09) and reports its headers', async () => {
    const body = testBytes(1024, 7);
    d.route(
      'hub.test',
      '/org/m/resolve/abc/w.safetensors',
      xetRedirect({
        location: () => d.url('cdn.test', '/xet-bridge-us/abc?X-Amz-Signature=s'),
        sha256: sha256Hex(body),
        size: body.length,
        commit: 'b'.repeat(40),
        linkTargets: { auth: d.url('evil.test', '/xet-read-token/abc'), reconstruction: d.url('evil.test', '/v1/reconstructions/f') },
      }),
    );
    d.route('cdn.test', '/xet-bridge-us/abc', serveBytes(body));
    const response = await fetchVia('/org/m/resolve/abc/w.safetensors');
    expect((await readAll(response)).equals(body)).toBe(true);
    expect(response.redirects[0]?.headers).toMatchObject({
      'x-linked-etag': `"${sha256Hex(body)}"`,
      'x-linked-size': String(body.length),
      'x-repo-commit': 'b'.repeat(40),
    });
    expect(response.redirects[0]?.headers.location).toBeUndefined();
    expect(d.requestsTo('evil.test')).toEqual([]);
    expectCanaryOnlyAtHub();
  });

  it('stops redirect loops and chains longer than 5 hops', async () => {
    d.route('hub.test', '/loop', redirectTo('/loop'));
    const loop = await refusal(fetchVia('/loop'));
    expect(loop.code).toBe('redirect-refused');
    expect(loop.message).toContain('loop');

    for (let i = 0; i < 7; i += 1) d.route('hub.test', `/r${i}`, redirectTo(`/r${i + 1}`));
    d.route('hub.test', '/r7', respond(200, { body: 'end' }));
    d.requests.length = 0;
    const long = await refusal(fetchVia('/r0'));
    expect(long.code).toBe('redirect-refused');
    expect(long.message).toContain('More than 5 redirects');
    expect(d.requests).toHaveLength(6);

    d.requests.length = 0;
    const ok = await fetchVia('/r2');
    expect((await readAll(ok)).toString()).toBe('end');
    expect(ok.redirects).toHaveLength(5);
  });

  it('returns the first 3xx in manual mode and throws in error mode', async () => {
    d.route('hub.test', '/m', redirectTo(() => d.url('evil.test', '/x')));
    const manual = await fetchVia('/m', { redirect: 'manual' });
    manual.dispose();
    expect(manual.status).toBe(302);
    expect(manual.headers.location).toBe(d.url('evil.test', '/x'));
    expect((await refusal(fetchVia('/m', { redirect: 'error' }))).code).toBe('redirect-refused');
    expect(d.requestsTo('evil.test')).toEqual([]);
  });

  it('turns a POST into GET on 303 and keeps it with its body on 307', async () => {
    const bodies: string[] = [];
    const echo = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        bodies.push(`${req.method ?? ''}:${text}`);
        res.end('done');
      });
    };
    d.route('hub.test', '/p303', redirectTo('/echo', { status: 303 }));
    d.route('hub.test', '/p307', redirectTo('/echo', { status: 307 }));
    d.route('hub.test', '/echo', echo);
    await readAll(await fetchVia('/p303', { method: 'POST', body: '{"paths":["a"]}', headers: { 'content-type': 'application/json' } }));
    await readAll(await fetchVia('/p307', { method: 'POST', body: '{"paths":["a"]}', headers: { 'content-type': 'application/json' } }));
    expect(bodies).toEqual(['GET:', 'POST:{"paths":["a"]}']);
  });

  it('refuses a URL that carries the token, before any request (DL-R04)', async () => {
    const inQuery = await refusal(fetchVia(`/x?token=${CANARY}`));
    expect(inQuery.code).toBe('unsafe');
    expect(inQuery.message).not.toContain(CANARY);
    d.route('hub.test', '/r', redirectTo(() => d.url('cdn.test', `/b?token=${encodeURIComponent(CANARY)}`)));
    expect((await refusal(fetchVia('/r'))).code).toBe('unsafe');
    expect(d.requestsTo('cdn.test')).toEqual([]);
  });
});

describe('safeFetch: transport rules (DL-R03, DL-R11)', () => {
  it('refuses a gzip-encoded answer', async () => {
    d.route('hub.test', '/gz', serveBytes(testBytes(5000), { gzip: true }));
    const error = await refusal(fetchVia('/gz'));
    expect(error.code).toBe('unsupported');
    expect(error.details).toMatchObject({ rule: 'DL-R11' });
  });

  it('refuses a server whose certificate is not trusted or not for the host', async () => {
    d.route('hub.test', '/x', respond(200, { body: 'x' }));
    const untrusted = await refusal(safeFetch({ url: d.url('hub.test', '/x'), policy: policy(), lookup: d.lookup }));
    expect(untrusted.code).toBe('unsafe');
    d.mapHost('other.test', [{ address: '127.0.0.1', family: 4 }]);
    const other = policy({ apiHosts: [`other.test:${d.port}`], exemptHosts: [`other.test:${d.port}`] });
    const mismatch = await refusal(safeFetch({ url: d.url('other.test', '/x'), policy: other, lookup: d.lookup, ca: d.ca }));
    expect(mismatch.code).toBe('unsafe');
    expect(d.requestsTo('other.test')).toEqual([]);
  });

  it('ends a stalled body with a network error', async () => {
    d.route('hub.test', '/stall', serveBytes(testBytes(10_000), { stallAfter: 1000 }));
    const response = await fetchVia('/stall', { idleTimeoutMs: 300 });
    const error = await refusal(readAll(response));
    expect(error.code).toBe('network');
    expect(error.exitCode).toBe(2);
    expect(error.details).toMatchObject({ reason: 'stall' });
  });

  it('times out a connection whose TLS handshake never finishes', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const error = await refusal(
        safeFetch({
          url: `https://hub.test:${port}/x`,
          policy: policy({ apiHosts: [`hub.test:${port}`], exemptHosts: [`hub.test:${port}`] }),
          lookup: d.lookup,
          ca: d.ca,
          connectTimeoutMs: 300,
        }),
      );
      expect(error.code).toBe('network');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('reports an unresolvable host as a network error', async () => {
    const listed = policy({ apiHosts: ['nowhere.test'] });
    const error = await refusal(safeFetch({ url: 'https://nowhere.test/x', policy: listed, lookup: d.lookup, ca: d.ca }));
    expect(error.code).toBe('network');
  });

  it('cancels with the signal', async () => {
    d.route('hub.test', '/slow', serveBytes(testBytes(10_000), { stallAfter: 10 }));
    const controller = new AbortController();
    const response = await fetchVia('/slow', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await refusal(
      (async () => {
        try {
          await readAll(response);
        } catch (cause) {
          const { transferError } = await import('./safe-fetch.ts');
          throw transferError(cause, controller.signal);
        }
      })(),
    );
    expect(error.code).toBe('cancelled');
    const aborted = new AbortController();
    aborted.abort();
    expect((await refusal(fetchVia('/slow', { signal: aborted.signal }))).code).toBe('cancelled');
  });
});
