/** The hub double's own helpers: Range/If-Range semantics, lookup answers, recording, fixtures. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeFetch, type SafeResponse } from '../../../src/hub/safe-fetch.ts';
import type { ProviderPolicy } from '../../../src/hub/url-policy.ts';
import { gitBlobSha1Hex, serveBytes, testBytes } from './behaviours.ts';
import { startHubDouble, type HubDouble } from './hub-double.ts';

let d: HubDouble;
beforeAll(async () => {
  d = await startHubDouble();
});
afterAll(async () => {
  await d.close();
});

const policy = (): ProviderPolicy => ({ name: 'url', apiHosts: [`hub.test:${d.port}`], redirectHosts: [], exemptHosts: [`hub.test:${d.port}`] });

async function get(path: string, headers: Record<string, string> = {}): Promise<{ response: SafeResponse; body: Buffer }> {
  const response = await safeFetch({ url: d.url('hub.test', path), policy: policy(), lookup: d.lookup, ca: d.ca, headers });
  const chunks: Buffer[] = [];
  for await (const chunk of response.body as AsyncIterable<Buffer>) chunks.push(chunk);
  return { response, body: Buffer.concat(chunks) };
}

describe('hub double', () => {
  it('makes deterministic bytes and git blob ids', () => {
    expect(testBytes(64, 5).equals(testBytes(64, 5))).toBe(true);
    expect(testBytes(64, 5).equals(testBytes(64, 6))).toBe(false);
    expect(gitBlobSha1Hex(new Uint8Array())).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
  });

  it('serves ranges only when If-Range matches, and 416 past the end', async () => {
    const body = testBytes(1000);
    d.route('hub.test', '/f', serveBytes(body, { etag: '"e"' }));
    const ranged = await get('/f', { range: 'bytes=400-', 'if-range': '"e"' });
    expect(ranged.response.status).toBe(206);
    expect(ranged.response.headers['content-range']).toBe('bytes 400-999/1000');
    expect(ranged.body.equals(body.subarray(400))).toBe(true);
    const stale = await get('/f', { range: 'bytes=400-', 'if-range': '"old"' });
    expect(stale.response.status).toBe(200);
    expect(stale.body.length).toBe(1000);
    expect((await get('/f', { range: 'bytes=1000-' })).response.status).toBe(416);
  });

  it('records requests with Host and SNI, and answers lookups from its map', async () => {
    d.route('hub.test', '/r', serveBytes(Buffer.from('x')));
    await get('/r?q=1');
    expect(d.requests.at(-1)).toMatchObject({ method: 'GET', host: 'hub.test', servername: 'hub.test', path: '/r?q=1' });
    expect(await d.lookup('link-local.test')).toEqual([{ address: '169.254.169.254', family: 4 }]);
    await expect(d.lookup('unknown.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
