import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LorasmithError } from '../core/errors.ts';
import { gitBlobSha1Hex, redirectTo, respond, sequence, serveBytes, sha256Hex, testBytes } from '../../test/doubles/hub/behaviours.ts';
import { startHubDouble, type HubDouble } from '../../test/doubles/hub/hub-double.ts';
import { buildProviderPolicy } from './build-provider-policy.ts';
import { downloadToQuarantine, parseRetryAfter, type DownloadToQuarantineParams } from './download-file.ts';
import type { ProviderPolicy } from './url-policy.ts';

const CANARY = 'hf_CANARYCANARYCANARYCANARY1234';
const FILE = '/org/m/resolve/abc/model.safetensors';
const NAME = 'model.safetensors';
let d: HubDouble;
let quarantine: string;

beforeAll(async () => {
  d = await startHubDouble();
});
beforeEach(async () => {
  quarantine = await mkdtemp(path.join(tmpdir(), 'lorasmith-quarantine-'));
});
afterEach(async () => {
  d.reset();
  await rm(quarantine, { recursive: true, force: true });
});
afterAll(async () => {
  await d.close();
});

function policy(): ProviderPolicy {
  return {
    name: 'hf',
    apiHosts: [`hub.test:${d.port}`],
    redirectHosts: [`cdn.test:${d.port}`],
    exemptHosts: [`hub.test:${d.port}`, `cdn.test:${d.port}`],
    credential: { header: 'authorization', value: `Bearer ${CANARY}`, origins: [d.origin('hub.test')] },
  };
}

/** The Hub's /resolve answers 302 to the CDN with a fresh "signature" each time, as signed URLs are. */
function hubRedirectsToCdn(): void {
  d.route('hub.test', FILE, redirectTo((ctx) => d.url('cdn.test', `/blob?X-Amz-Signature=sig${ctx.count}`)));
}

function download(params: Partial<DownloadToQuarantineParams> & Pick<DownloadToQuarantineParams, 'expected'>) {
  return downloadToQuarantine({
    url: d.url('hub.test', FILE),
    policy: policy(),
    quarantineDir: quarantine,
    name: NAME,
    lookup: d.lookup,
    ca: d.ca,
    sleep: async () => undefined,
    ...params,
  });
}

async function failure(promise: Promise<unknown>): Promise<LorasmithError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LorasmithError);
    return error as LorasmithError;
  }
  throw new Error('expected the download to fail');
}

/** A model-ish body: not HTML or JSON (starts like a safetensors length prefix). */
function modelBytes(length: number, seed = 3): Buffer {
  const body = testBytes(length, seed);
  body.writeBigUInt64LE(8n, 0);
  return body;
}

async function quarantineFiles(): Promise<string[]> {
  return (await readdir(quarantine)).sort();
}

function expectCanaryOnlyAtHub(): void {
  for (const request of d.requests) {
    if (request.host !== 'hub.test') expect(JSON.stringify(request)).not.toContain(CANARY);
    expect(request.path).not.toContain(CANARY);
  }
}

describe('downloadToQuarantine: verified transfers (DL-R05, DL-R06)', () => {
  it('downloads through the CDN, verifies the SHA-256 and leaves only the file (0600)', async () => {
    const body = modelBytes(200_000);
    hubRedirectsToCdn();
    d.route('cdn.test', '/blob', serveBytes(body, { etag: '"v1"' }));
    const progress: Array<[number, number | undefined]> = [];
    const result = await download({
      expected: { size: body.length, sha256: sha256Hex(body).toUpperCase() },
      onProgress: (bytes, total) => progress.push([bytes, total]),
    });
    expect(result).toMatchObject({ name: NAME, size: body.length, sha256: sha256Hex(body), verified: true, verifiedBy: ['sha256'], resumedFrom: 0, requests: 1 });
    expect(result.urlForLog).toBe(`https://cdn.test:${d.port}/blob`);
    expect(result.file).toBe(path.join(quarantine, NAME));
    expect((await readFile(result.file)).equals(body)).toBe(true);
    expect((await stat(result.file)).mode & 0o777).toBe(0o600);
    expect(await quarantineFiles()).toEqual([NAME]);
    expect(progress.at(-1)).toEqual([body.length, body.length]);
    expect(d.requestsTo('cdn.test')[0]?.headers.authorization).toBeUndefined();
    expectCanaryOnlyAtHub();
  });

  it('reaches a double on 127.0.0.1 behind LORASMITH_HF_ENDPOINT and its CDN behind LORASMITH_HF_REDIRECT_HOSTS (DL-R01, DL-R03)', async () => {
    const body = modelBytes(20_000);
    const env = { LORASMITH_HF_ENDPOINT: `https://127.0.0.1:${d.port}`, LORASMITH_HF_REDIRECT_HOSTS: `cdn.test:${d.port}` };
    const fromEnv = buildProviderPolicy({ provider: 'hf', env, token: CANARY });
    d.route('127.0.0.1', FILE, redirectTo(() => d.url('cdn.test', '/blob?X-Amz-Signature=s')));
    d.route('cdn.test', '/blob', serveBytes(body, { etag: '"v1"' }));
    const result = await download({ url: `https://127.0.0.1:${d.port}${FILE}`, policy: fromEnv, expected: { size: body.length, sha256: sha256Hex(body) } });
    expect(result.verified).toBe(true);
    expect(d.requestsTo('127.0.0.1')[0]?.headers.authorization).toBe(`Bearer ${CANARY}`);
    expect(d.requestsTo('cdn.test')[0]?.headers.authorization).toBeUndefined();

    // Without the override, neither the endpoint nor its CDN is reachable.
    const plain = buildProviderPolicy({ provider: 'hf', env: { LORASMITH_HF_REDIRECT_HOSTS: `cdn.test:${d.port}` }, token: CANARY });
    d.requests.length = 0;
    expect((await failure(download({ url: `https://127.0.0.1:${d.port}${FILE}`, policy: plain, expected: { size: body.length } }))).code).toBe('invalid');
    expect(d.requests).toEqual([]);
  });

  it('verifies a non-LFS file by its git blob SHA-1 (HF-R03)', async () => {
    const config = Buffer.from('{"_class_name":"UNet2DConditionModel"}\n');
    d.route('hub.test', FILE, respond(200, { body: config.toString() }));
    const result = await download({ expected: { size: config.length, gitSha1: gitBlobSha1Hex(config) }, allowJson: true });
    expect(result).toMatchObject({ verified: true, verifiedBy: ['git-sha1'], gitSha1: gitBlobSha1Hex(config) });
    expect(await quarantineFiles()).toEqual([NAME]);
  });

  it('verifies the empty file against its well-known blob id', async () => {
    d.route('hub.test', FILE, respond(200));
    const result = await download({ expected: { size: 0, gitSha1: 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391' } });
    expect(result.verified).toBe(true);
  });

  it('deletes a file whose git blob id does not match', async () => {
    const config = Buffer.from('{"a":1}');
    d.route('hub.test', FILE, respond(200, { body: '{"a":2}' }));
    const error = await failure(download({ expected: { size: config.length, gitSha1: gitBlobSha1Hex(config) }, allowJson: true }));
    expect(error.code).toBe('integrity');
    expect(await quarantineFiles()).toEqual([]);
  });

  it('deletes a file whose SHA-256 does not match (HF-A07)', async () => {
    const listed = modelBytes(50_000, 1);
    const served = modelBytes(50_000, 2);
    hubRedirectsToCdn();
    d.route('cdn.test', '/blob', serveBytes(served, { etag: '"v1"' }));
    const error = await failure(download({ expected: { size: listed.length, sha256: sha256Hex(listed) } }));
    expect(error.code).toBe('integrity');
    expect(error.exitCode).toBe(1);
    expect(error.message).not.toContain('X-Amz');
    expect(await quarantineFiles()).toEqual([]);
  });

  it('returns verified: false without a provider digest, for the caller to confirm (DL-R06)', async () => {
    const body = modelBytes(1000);
    d.route('hub.test', FILE, serveBytes(body));
    const result = await download({ expected: { size: body.length } });
    expect(result).toMatchObject({ verified: false, verifiedBy: [], sha256: sha256Hex(body) });
    expect(await quarantineFiles()).toEqual([NAME]);
  });
});

describe('downloadToQuarantine: size caps (DL-R05, CV-A09)', () => {
  it('stops as soon as more bytes arrive than declared (chunked body)', async () => {
    d.route('hub.test', FILE, serveBytes(modelBytes(4 * 1024 * 1024), { contentLength: null }));
    const error = await failure(download({ expected: { size: 1000 } }));
    expect(error.code).toBe('size');
    expect(await quarantineFiles()).toEqual([]);
  });

  it('refuses an announced length larger than declared before reading', async () => {
    d.route('hub.test', FILE, serveBytes(modelBytes(5000)));
    const error = await failure(download({ expected: { size: 1000 } }));
    expect(error.code).toBe('size');
    expect(error.details).toMatchObject({ declared: 5000 });
    expect(await quarantineFiles()).toEqual([]);
  });

  it('refuses a body shorter than listed', async () => {
    d.route('hub.test', FILE, serveBytes(modelBytes(900), { contentLength: null }));
    expect((await failure(download({ expected: { size: 1000 } }))).code).toBe('size');
    expect(await quarantineFiles()).toEqual([]);
  });

  it('treats a Civitai size as a hint with a tolerance, and a cap beyond it', async () => {
    d.route('hub.test', FILE, serveBytes(modelBytes(1100)));
    const result = await download({ expected: { size: 1024, sizeTolerance: 1024 * 1024 } });
    expect(result.size).toBe(1100);
    d.reset();
    d.route('hub.test', FILE, serveBytes(modelBytes(3 * 1024 * 1024), { contentLength: null }));
    expect((await failure(download({ expected: { size: 1024, sizeTolerance: 1024 * 1024 } }))).code).toBe('size');
  });

  it('applies the global cap when no size is known', async () => {
    d.route('hub.test', FILE, serveBytes(modelBytes(100_000), { contentLength: null }));
    expect((await failure(download({ expected: {}, maxBytes: 10_000 }))).code).toBe('size');
    expect(await quarantineFiles()).toEqual([]);
  });

  it('checks free disk space before any request', async () => {
    hubRedirectsToCdn();
    const error = await failure(download({ expected: { size: 1_000_000 }, freeBytes: async () => 1_000 }));
    expect(error.code).toBe('disk-full');
    expect(error.exitCode).toBe(2);
    expect(d.requests).toEqual([]);
  });
});

describe('downloadToQuarantine: resume (DL-R07, HF-A09)', () => {
  const body = modelBytes(300_000, 9);

  async function truncatedFirstAttempt(cdnAfter: Parameters<typeof sequence>[0]): Promise<number> {
    hubRedirectsToCdn();
    d.route('cdn.test', '/blob', sequence(serveBytes(body, { etag: '"v1"', truncateAt: 100_000 }), cdnAfter));
    const error = await failure(download({ expected: { size: body.length, sha256: sha256Hex(body) } }));
    expect(error.code).toBe('network');
    expect(error.exitCode).toBe(2);
    expect(await quarantineFiles()).toEqual([`${NAME}.incomplete`, `${NAME}.incomplete.json`]);
    const partial = (await stat(path.join(quarantine, `${NAME}.incomplete`))).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThanOrEqual(100_000);
    expect(JSON.parse(await readFile(path.join(quarantine, `${NAME}.incomplete.json`), 'utf8'))).toMatchObject({ etag: '"v1"' });
    return partial;
  }

  it('continues after a truncated transfer with Range and If-Range through a fresh redirect', async () => {
    const partial = await truncatedFirstAttempt(serveBytes(body, { etag: '"v1"' }));
    const result = await download({ expected: { size: body.length, sha256: sha256Hex(body) }, resume: true });
    expect(result).toMatchObject({ verified: true, resumedFrom: partial, size: body.length });
    expect((await readFile(result.file)).equals(body)).toBe(true);
    expect(await quarantineFiles()).toEqual([NAME]);
    expect(d.requestsTo('hub.test')).toHaveLength(2);
    const second = d.requestsTo('cdn.test')[1];
    expect(second?.path).toBe('/blob?X-Amz-Signature=sig1');
    expect(second?.headers.range).toBe(`bytes=${partial}-`);
    expect(second?.headers['if-range']).toBe('"v1"');
    expect(second?.headers.authorization).toBeUndefined();
    expectCanaryOnlyAtHub();
  });

  it('restarts from byte 0 when the server answers a Range request with 200', async () => {
    await truncatedFirstAttempt(serveBytes(body, { etag: '"v1"', ranges: false }));
    const result = await download({ expected: { size: body.length, sha256: sha256Hex(body) }, resume: true });
    expect(result).toMatchObject({ verified: true, resumedFrom: 0 });
    expect((await readFile(result.file)).equals(body)).toBe(true);
    expect(await quarantineFiles()).toEqual([NAME]);
  });

  it('restarts when the ETag changed (If-Range honoured: 200)', async () => {
    await truncatedFirstAttempt(serveBytes(body, { etag: '"v2"' }));
    const result = await download({ expected: { size: body.length, sha256: sha256Hex(body) }, resume: true });
    expect(result).toMatchObject({ verified: true, resumedFrom: 0 });
    expect(d.requestsTo('cdn.test')[1]?.headers['if-range']).toBe('"v1"');
  });

  it('restarts when a broken server sends 206 with another ETag', async () => {
    await truncatedFirstAttempt(serveBytes(body, { etag: '"v2"', ignoreIfRange: true }));
    const result = await download({ expected: { size: body.length, sha256: sha256Hex(body) }, resume: true });
    expect(result).toMatchObject({ verified: true, resumedFrom: 0, requests: 2 });
    const cdn = d.requestsTo('cdn.test');
    expect(cdn).toHaveLength(3);
    expect(cdn[2]?.headers.range).toBeUndefined();
    expect((await readFile(result.file)).equals(body)).toBe(true);
  });

  it('hashes the whole file again, so a tampered partial prefix is caught', async () => {
    const partialSize = await truncatedFirstAttempt(serveBytes(body, { etag: '"v1"' }));
    const partial = path.join(quarantine, `${NAME}.incomplete`);
    const bytes = await readFile(partial);
    bytes[Math.floor(partialSize / 2)] = (bytes[Math.floor(partialSize / 2)] ?? 0) ^ 0xff;
    await writeFile(partial, bytes);
    const error = await failure(download({ expected: { size: body.length, sha256: sha256Hex(body) }, resume: true }));
    expect(error.code).toBe('integrity');
    expect(await quarantineFiles()).toEqual([]);
  });

  it('starts over when the expectation changed since the partial was written', async () => {
    await truncatedFirstAttempt(serveBytes(body, { etag: '"v1"' }));
    const other = modelBytes(300_000, 10);
    d.route('cdn.test', '/blob', serveBytes(other, { etag: '"v3"' }));
    const result = await download({ expected: { size: other.length, sha256: sha256Hex(other) }, resume: true });
    expect(result).toMatchObject({ verified: true, resumedFrom: 0 });
    expect(d.requestsTo('cdn.test').at(-1)?.headers.range).toBeUndefined();
  });

  it('keeps a stalled partial for a later resume', async () => {
    hubRedirectsToCdn();
    d.route('cdn.test', '/blob', sequence(serveBytes(body, { etag: '"v1"', stallAfter: 50_000 }), serveBytes(body, { etag: '"v1"' })));
    const error = await failure(download({ expected: { size: body.length, sha256: sha256Hex(body) }, idleTimeoutMs: 300 }));
    expect(error.code).toBe('network');
    expect(error.details).toMatchObject({ reason: 'stall' });
    expect(await quarantineFiles()).toEqual([`${NAME}.incomplete`, `${NAME}.incomplete.json`]);
    const result = await download({ expected: { size: body.length, sha256: sha256Hex(body) }, resume: true });
    expect(result.resumedFrom).toBe(50_000);
    expect(await quarantineFiles()).toEqual([NAME]);
  });

  it('never resumes into a planted symlink', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'lorasmith-outside-'));
    try {
      const target = path.join(outside, 'victim');
      await writeFile(target, 'keep me');
      await symlink(target, path.join(quarantine, `${NAME}.incomplete`));
      await writeFile(path.join(quarantine, `${NAME}.incomplete.json`), JSON.stringify({ v: 1, etag: '"v1"', size: body.length, sha256: sha256Hex(body), gitSha1: null }));
      hubRedirectsToCdn();
      d.route('cdn.test', '/blob', serveBytes(body, { etag: '"v1"' }));
      const result = await download({ expected: { size: body.length, sha256: sha256Hex(body) }, resume: true });
      expect(result.resumedFrom).toBe(0);
      expect(await readFile(target, 'utf8')).toBe('keep me');
      expect(await quarantineFiles()).toEqual([NAME]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('does not keep a partial that cannot be resumed (no ETag)', async () => {
    hubRedirectsToCdn();
    d.route('cdn.test', '/blob', serveBytes(body, { truncateAt: 10_000 }));
    expect((await failure(download({ expected: { size: body.length, sha256: sha256Hex(body) } }))).code).toBe('network');
    expect(await quarantineFiles()).toEqual([]);
  });
});

describe('downloadToQuarantine: big downloads, written on a worker thread', () => {
  // workerWritesFrom: 0 sends even these small bodies through the worker that big downloads use.
  const body = modelBytes(300_000, 11);

  it('verifies the SHA-256 and the git blob id and stores the exact bytes', async () => {
    hubRedirectsToCdn();
    d.route('cdn.test', '/blob', serveBytes(body, { etag: '"w1"' }));
    const result = await download({ expected: { size: body.length, sha256: sha256Hex(body), gitSha1: gitBlobSha1Hex(body) }, workerWritesFrom: 0 });
    expect(result).toMatchObject({ verified: true, verifiedBy: ['sha256', 'git-sha1'], sha256: sha256Hex(body), gitSha1: gitBlobSha1Hex(body) });
    expect((await readFile(result.file)).equals(body)).toBe(true);
    expect(await quarantineFiles()).toEqual([NAME]);
  });

  it('keeps every byte that arrived before a stall, resumes after exactly them and verifies the whole file', async () => {
    hubRedirectsToCdn();
    d.route('cdn.test', '/blob', sequence(serveBytes(body, { etag: '"w1"', stallAfter: 50_000 }), serveBytes(body, { etag: '"w1"' })));
    const error = await failure(download({ expected: { size: body.length, sha256: sha256Hex(body) }, idleTimeoutMs: 300, workerWritesFrom: 0 }));
    expect(error.code).toBe('network');
    expect((await stat(path.join(quarantine, `${NAME}.incomplete`))).size).toBe(50_000);
    const result = await download({ expected: { size: body.length, sha256: sha256Hex(body) }, resume: true, workerWritesFrom: 0 });
    expect(result).toMatchObject({ verified: true, resumedFrom: 50_000 });
    expect(d.requestsTo('cdn.test')[1]?.headers.range).toBe('bytes=50000-');
    expect((await readFile(result.file)).equals(body)).toBe(true);
  });

  it('catches a tampered partial prefix on resume', async () => {
    hubRedirectsToCdn();
    d.route('cdn.test', '/blob', sequence(serveBytes(body, { etag: '"w1"', truncateAt: 100_000 }), serveBytes(body, { etag: '"w1"' })));
    expect((await failure(download({ expected: { size: body.length, sha256: sha256Hex(body) }, workerWritesFrom: 0 }))).code).toBe('network');
    const partial = path.join(quarantine, `${NAME}.incomplete`);
    const bytes = await readFile(partial);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    await writeFile(partial, bytes);
    expect((await failure(download({ expected: { size: body.length, sha256: sha256Hex(body) }, resume: true, workerWritesFrom: 0 }))).code).toBe('integrity');
    expect(await quarantineFiles()).toEqual([]);
  });

  it('stops at the size cap and deletes the partial', async () => {
    d.route('hub.test', FILE, serveBytes(modelBytes(4 * 1024 * 1024), { contentLength: null }));
    expect((await failure(download({ expected: { size: 1000 }, workerWritesFrom: 0 }))).code).toBe('size');
    expect(await quarantineFiles()).toEqual([]);
  });
});

describe('downloadToQuarantine: hostile or failing servers', () => {
  it('refuses an off-list redirect and writes nothing (HF-A02)', async () => {
    d.route('hub.test', FILE, redirectTo(() => d.url('evil.test', '/x')));
    const error = await failure(download({ expected: { size: 10 } }));
    expect(error.code).toBe('redirect-refused');
    expect(d.requestsTo('evil.test')).toEqual([]);
    expect(await quarantineFiles()).toEqual([]);
  });

  it('refuses a gzip-encoded body (DL-R11)', async () => {
    hubRedirectsToCdn();
    d.route('cdn.test', '/blob', serveBytes(modelBytes(10_000), { gzip: true }));
    expect((await failure(download({ expected: { size: 10_000 } }))).code).toBe('unsupported');
    expect(await quarantineFiles()).toEqual([]);
  });

  it.each([
    [401, {}, 'auth-required'],
    [401, { 'x-error-code': 'GatedRepo' }, 'gated'],
    [403, {}, 'forbidden'],
    [403, { 'x-error-code': 'GatedRepo' }, 'gated'],
    [404, { 'x-error-code': 'EntryNotFound' }, 'not-found'],
    [410, {}, 'gone'],
    [400, {}, 'invalid'],
    [500, {}, 'network'],
  ])('maps HTTP %i %j to %s without retrying or saving', async (status, headers, code) => {
    d.route('hub.test', FILE, respond(status, { headers, body: '{"error":"Unauthorized"}' }));
    const error = await failure(download({ expected: { size: 10 } }));
    expect(error.code).toBe(code);
    expect(d.requests).toHaveLength(1);
    expect(await quarantineFiles()).toEqual([]);
  });

  it('retries 429 three times honouring Retry-After, then fails with rate-limited (CV-R08)', async () => {
    d.route('hub.test', FILE, respond(429, { headers: { 'retry-after': '1' } }));
    const waits: number[] = [];
    const error = await failure(download({ expected: { size: 10 }, sleep: async (ms) => void waits.push(ms) }));
    expect(error.code).toBe('rate-limited');
    expect(error.exitCode).toBe(2);
    expect(d.requests).toHaveLength(4);
    expect(waits).toEqual([1000, 1000, 1000]);
    expect(await quarantineFiles()).toEqual([]);
  });

  it('succeeds after one 429 or 503, and caps a long Retry-After at 60 s', async () => {
    const body = modelBytes(1000);
    d.route('hub.test', FILE, sequence(respond(429, { headers: { 'retry-after': '3600' } }), respond(503), serveBytes(body)));
    const waits: number[] = [];
    const result = await download({ expected: { size: body.length, sha256: sha256Hex(body) }, sleep: async (ms) => void waits.push(ms) });
    expect(result.verified).toBe(true);
    expect(waits).toEqual([60_000, 2000]);
    expect(result.requests).toBe(3);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('refuses an HTML login page or a JSON error served as the model (DL-R09, CV-A03)', async () => {
    d.route('hub.test', FILE, respond(200, { body: '\n<!DOCTYPE html><html><body>Log in</body></html>', headers: { 'content-type': 'text/html' } }));
    const html = await failure(download({ expected: {} }));
    expect(html.code).toBe('invalid');
    expect(html.details).toMatchObject({ kind: 'html' });
    d.reset();
    d.route('hub.test', FILE, respond(200, { body: '{"error":"Unauthorized","message":"login required"}' }));
    expect((await failure(download({ expected: {} }))).details).toMatchObject({ kind: 'json' });
    expect(await quarantineFiles()).toEqual([]);
  });

  it("runs the caller's validator on the quarantined file and deletes it when it fails", async () => {
    const body = modelBytes(1000);
    d.route('hub.test', FILE, serveBytes(body));
    const seen: string[] = [];
    const error = await failure(
      download({
        expected: { size: body.length, sha256: sha256Hex(body) },
        validate: async (file) => {
          seen.push(file);
          throw new Error('not a safetensors file');
        },
      }),
    );
    expect(error.code).toBe('invalid');
    expect(seen).toEqual([path.join(quarantine, `${NAME}.incomplete`)]);
    expect(await quarantineFiles()).toEqual([]);
  });

  it('reports a slow drip through progress, and stops it below a minimum speed', async () => {
    const body = modelBytes(4000);
    d.route('hub.test', FILE, serveBytes(body, { dripChunk: 500, dripIntervalMs: 40 }));
    const rates: number[] = [];
    const result = await download({ expected: { size: body.length, sha256: sha256Hex(body) }, onProgress: (_bytes, _total, rate) => rates.push(rate) });
    expect(result.verified).toBe(true);
    expect(rates.length).toBeGreaterThan(1);
    expect(rates.some((rate) => rate > 0)).toBe(true);

    d.reset();
    d.route('hub.test', FILE, serveBytes(body, { dripChunk: 100, dripIntervalMs: 50, etag: '"d1"' }));
    const error = await failure(download({ expected: { size: body.length, sha256: sha256Hex(body) }, lowSpeed: { bytesPerSecond: 100_000, windowMs: 200 } }));
    expect(error.code).toBe('network');
    expect(error.details).toMatchObject({ reason: 'low-speed' });
  });

  it('deletes the partial when cancelled', async () => {
    const body = modelBytes(10_000);
    d.route('hub.test', FILE, serveBytes(body, { dripChunk: 500, dripIntervalMs: 30, etag: '"c1"' }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 120);
    const error = await failure(download({ expected: { size: body.length, sha256: sha256Hex(body) }, signal: controller.signal }));
    expect(error.code).toBe('cancelled');
    expect(await quarantineFiles()).toEqual([]);
  });

  it('refuses bad expectations and unusable names before any request', async () => {
    d.route('hub.test', FILE, respond(200, { body: 'x' }));
    expect((await failure(download({ expected: { sha256: 'abc' } }))).code).toBe('invalid');
    expect((await failure(download({ expected: { gitSha1: 'a'.repeat(40) } }))).code).toBe('invalid');
    expect((await failure(download({ expected: { size: -1 } }))).code).toBe('invalid');
    expect((await failure(download({ expected: {}, name: 'CON.safetensors' }))).code).toBe('invalid');
    expect(d.requests).toEqual([]);
  });

  it('keeps a hostile name inside the quarantine folder', async () => {
    d.route('hub.test', FILE, serveBytes(modelBytes(100)));
    const result = await download({ expected: { size: 100 }, name: '../../.bashrc' });
    expect(path.dirname(result.file)).toBe(quarantine);
    expect(await quarantineFiles()).toEqual([result.name]);
  });
});
