import { listFiles, pathsInfo } from '@huggingface/hub';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LorasmithError } from '../core/errors.ts';
import { redirectTo, respond, serveBytes, testBytes } from '../../test/doubles/hub/behaviours.ts';
import { startHubDouble, type HubDouble } from '../../test/doubles/hub/hub-double.ts';
import { createSafeFetch } from './create-safe-fetch.ts';
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

/** Like an HF policy built with LORASMITH_HF_ENDPOINT=https://hub.test:PORT, but without a token of its own. */
function policy(): ProviderPolicy {
  return {
    name: 'hf',
    apiHosts: [`hub.test:${d.port}`],
    redirectHosts: [`cdn.test:${d.port}`],
    exemptHosts: [`hub.test:${d.port}`, `cdn.test:${d.port}`],
  };
}

const entry = (path: string) => ({ type: 'file', oid: 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391', size: 0, path });

describe('createSafeFetch: a WHATWG fetch for @huggingface/hub (HF-R08)', () => {
  it('serves a same-origin listing page by page with the token, and refuses a next page on another origin (HF-R05, HF-A13)', async () => {
    const fetch = createSafeFetch({ policy: policy(), lookup: d.lookup, ca: d.ca });
    d.route('hub.test', '/api/models/org/m/tree/main', (req, res) => {
      const page = new URL(req.url ?? '/', 'https://x').searchParams.get('cursor');
      const next = page === null ? d.url('hub.test', '/api/models/org/m/tree/main?recursive=false&expand=false&cursor=2') : d.url('evil.test', '/api/models/org/m/tree/main?cursor=3');
      res.writeHead(200, { 'content-type': 'application/json', link: `<${next}>; rel="next"` });
      res.end(JSON.stringify([entry(page === null ? 'a.json' : 'b.json')]));
    });
    const seen: string[] = [];
    const error = await (async () => {
      try {
        for await (const file of listFiles({ repo: 'org/m', hubUrl: d.origin('hub.test'), accessToken: CANARY, fetch })) seen.push(file.path);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(seen).toEqual(['a.json', 'b.json']);
    expect(error).toBeInstanceOf(LorasmithError);
    expect((error as LorasmithError).code).toBe('invalid');
    expect(d.requestsTo('hub.test').map((request) => request.headers.authorization)).toEqual([`Bearer ${CANARY}`, `Bearer ${CANARY}`]);
    expect(d.requestsTo('evil.test')).toEqual([]);
    expect(d.lookupCalls).not.toContain('evil.test');
  });

  it('posts paths-info with its JSON body', async () => {
    const fetch = createSafeFetch({ policy: policy(), lookup: d.lookup, ca: d.ca });
    let received = '';
    d.route('hub.test', '/api/models/org/m/paths-info/main', (req, res) => {
      req.on('data', (chunk: Buffer) => (received += chunk.toString()));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify([{ ...entry('config.json'), lfs: undefined }]));
      });
    });
    const info = await pathsInfo({ repo: 'org/m', paths: ['config.json'], hubUrl: d.origin('hub.test'), accessToken: CANARY, fetch });
    expect(info.map((item) => item.path)).toEqual(['config.json']);
    expect(JSON.parse(received)).toMatchObject({ paths: ['config.json'] });
    expect(d.requests[0]?.method).toBe('POST');
    expect(d.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('strips the library-set Authorization on a cross-origin redirect (HF-A06) and exposes the final URL', async () => {
    const fetch = createSafeFetch({ policy: policy(), lookup: d.lookup, ca: d.ca });
    const body = testBytes(2048);
    d.route('hub.test', '/org/m/resolve/main/w.bin', redirectTo(() => d.url('cdn.test', '/w?Signature=s')));
    d.route('cdn.test', '/w', serveBytes(body));
    const response = await fetch(d.url('hub.test', '/org/m/resolve/main/w.bin'), {
      headers: { Authorization: `Bearer ${CANARY}`, Cookie: 'a=b', Range: 'bytes=0-' },
    });
    expect(response.status).toBe(206);
    expect(response.redirected).toBe(true);
    expect(response.url).toBe(d.url('cdn.test', '/w?Signature=s'));
    expect(Buffer.from(await response.arrayBuffer()).equals(body)).toBe(true);
    const [api, cdn] = d.requests;
    expect(api?.headers.authorization).toBe(`Bearer ${CANARY}`);
    expect(api?.headers.cookie).toBeUndefined();
    expect(cdn?.headers.authorization).toBeUndefined();
    expect(cdn?.headers.range).toBe('bytes=0-');
  });

  it('sends a library-set Authorization only to the API origins', async () => {
    const fetch = createSafeFetch({ policy: policy(), role: 'redirect', lookup: d.lookup, ca: d.ca });
    d.route('cdn.test', '/direct', respond(200, { body: 'x' }));
    const response = await fetch(d.url('cdn.test', '/direct'), { headers: { Authorization: `Bearer ${CANARY}` } });
    expect(await response.text()).toBe('x');
    expect(d.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('returns a manual redirect as is and refuses a URL off the API hosts', async () => {
    const fetch = createSafeFetch({ policy: policy(), lookup: d.lookup, ca: d.ca });
    d.route('hub.test', '/m', redirectTo(() => d.url('evil.test', '/x')));
    const manual = await fetch(d.url('hub.test', '/m'), { redirect: 'manual' });
    expect(manual.status).toBe(302);
    expect(manual.headers.get('location')).toBe(d.url('evil.test', '/x'));
    await expect(fetch(d.url('evil.test', '/x'))).rejects.toMatchObject({ code: 'invalid' });
    expect(d.requestsTo('evil.test')).toEqual([]);
  });
});
