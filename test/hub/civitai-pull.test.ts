/** Pulling from the Civitai protocol on the hub double (CV-R01..R08, CV-A*). */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHubToken } from '../../src/hub/check-token.ts';
import { buildHubContext } from '../../src/hub/hub-context.ts';
import { identifyOnCivitai } from '../../src/hub/identify.ts';
import { confirmPending, discardPending, readPending } from '../../src/hub/pull.ts';
import type { Studio } from '../../src/studio/studio.ts';
import { respond, sequence, serveBytes, sha256Hex } from '../doubles/hub/behaviours.ts';
import { installCivitaiVersion, loginWall } from '../doubles/hub/civitai-protocol.ts';
import type { HubDouble } from '../doubles/hub/hub-double.ts';
import { sd1LoraSafetensors, sd1LoraVariant } from '../helpers/model-files.ts';
import { CIVITAI_CANARY, downloadsLeft, harness, hubTestContext, modelFiles, testNetwork, testSettings, expectNothingStored } from './pull-harness.ts';

let d: HubDouble;
let studio: Studio;

hubTestContext((started) => ({ d, studio } = started));

describe('civitai: the pinned file', () => {
  it('CV-R07: civitai:<version> takes the primary file by fileId, names it, and stores it under civitai/<modelId>/<versionId>/ (CV-A05: Content-Disposition ignored)', async () => {
    const primary = sd1LoraVariant('primary');
    const other = sd1LoraVariant('other');
    installCivitaiVersion(d, { versionId: 123, modelId: 9, files: [{ id: 12, name: 'other.safetensors', content: other }, { id: 11, name: 'sks_dog.safetensors', content: primary, primary: true }] });
    const { result, states } = await harness(studio, d, { tokens: { civitai: CIVITAI_CANARY } }).pull('civitai:123');
    expect(result.civitaiFile).toEqual({ id: 11, name: 'sks_dog.safetensors' });
    expect(result.files[0]).toMatchObject({ name: 'sks_dog.safetensors', sha256: sha256Hex(primary), verifiedBy: ['sha256'] });
    expect(states).toEqual(['fetching', 'verifying', 'scanning', 'stored']);
    expect(await modelFiles(studio)).toEqual([path.join('lora', 'civitai', '9', '123', 'sks_dog.safetensors')]);
    expect(result.models[0]?.source.provenance).toMatchObject({ modelId: 9, versionId: 123, fileId: 11, baseModel: 'SD 1.5', trainedWords: 'sks dog', verified: true });
    const download = d.requestsTo('mirror.test').find((r) => r.path.startsWith('/api/download/'));
    expect(download?.path).toBe('/api/download/models/123?fileId=11');
    expect(d.requests.some((r) => r.method === 'HEAD')).toBe(false);
    expect(d.requests.every((r) => !/mozilla|chrome|safari/i.test(String(r.headers['user-agent'])))).toBe(true);
  });

  it('civitai:<version>:<file> pins that file; the same via a web URL with modelVersionId', async () => {
    installCivitaiVersion(d, { versionId: 124, modelId: 9, files: [{ id: 21, name: 'a.safetensors', content: sd1LoraVariant('a'), primary: true }, { id: 22, name: 'b.safetensors', content: sd1LoraVariant('b') }] });
    const h = harness(studio, d);
    expect((await h.pull('civitai:124:22')).result.civitaiFile).toEqual({ id: 22, name: 'b.safetensors' });
    const viaUrl = await h.pull(`${d.origin('mirror.test')}/models/9/some-slug?modelVersionId=124`);
    expect(viaUrl.result.civitaiFile?.id).toBe(21);
    expect((await h.fail('civitai:124:99')).error.code).toBe('not-found');
  });

  it('CV-A01: the canary token goes only to the API host as Bearer; never in a URL, never to storage', async () => {
    installCivitaiVersion(d, { versionId: 125, modelId: 9, files: [{ id: 31, name: 'c.safetensors', content: sd1LoraVariant('c'), primary: true }] });
    await harness(studio, d, { tokens: { civitai: CIVITAI_CANARY } }).pull('civitai:125');
    expect(d.requestsTo('cdn2.test').length).toBe(1);
    for (const request of d.requests) {
      expect(request.path).not.toContain(CIVITAI_CANARY);
      expect(request.path).not.toMatch(/[?&]token=/);
      if (request.host === 'mirror.test') expect(request.headers.authorization).toBe(`Bearer ${CIVITAI_CANARY}`);
      else expect(request.headers.authorization).toBeUndefined();
    }
    expect(JSON.stringify(await studio.db.selectFrom('models').selectAll().execute())).not.toContain(CIVITAI_CANARY);
  });

  it('CV-R06: a hostile files[].name is sanitised and stays under the version folder', async () => {
    installCivitaiVersion(d, { versionId: 126, modelId: 9, files: [{ id: 41, name: '../../\u202eevil.safetensors', content: sd1LoraVariant('n'), primary: true }] });
    const { result } = await harness(studio, d).pull('civitai:126');
    expect(result.files[0]?.name).toBe('....evil.safetensors');
    expect(await modelFiles(studio)).toEqual([path.join('lora', 'civitai', '9', '126', '....evil.safetensors')]);
  });
});

describe('civitai: refusals (CV-R03, CV-R08)', () => {
  it('CV-A03: the login wall (JSON 401 for our User-Agent) → auth-required, nothing saved', async () => {
    installCivitaiVersion(d, { versionId: 130, modelId: 9, files: [{ id: 51, name: 'x.safetensors', content: sd1LoraVariant('x'), primary: true }], downloadAnswer: loginWall(d) });
    const { error } = await harness(studio, d).fail('civitai:130');
    expect(error.code).toBe('auth-required');
    expect(error.message).toMatch(/requires a login/);
    await expectNothingStored(studio);
  });

  it('CV-A03: a /login redirect → auth-required, body discarded', async () => {
    installCivitaiVersion(d, {
      versionId: 131,
      modelId: 9,
      files: [{ id: 52, name: 'x.safetensors', content: sd1LoraVariant('x'), primary: true }],
      downloadAnswer: (_req, res) => {
        res.writeHead(307, { location: '/login?returnUrl=%2Fmodel-versions%2F1&reason=download-auth', 'content-length': '0' });
        res.end();
      },
    });
    d.route('mirror.test', '/login', respond(200, { headers: { 'content-type': 'text/html' }, body: '<!DOCTYPE html><html>log in</html>' }));
    const { error } = await harness(studio, d).fail('civitai:131');
    expect(error.code).toBe('auth-required');
    await expectNothingStored(studio);
  });

  it('a 401 despite a token reads "invalid or lacks access" (CV-R02)', async () => {
    installCivitaiVersion(d, { versionId: 132, modelId: 9, files: [{ id: 53, name: 'x.safetensors', content: sd1LoraVariant('x'), primary: true }], downloadAnswer: loginWall(d) });
    const { error } = await harness(studio, d, { tokens: { civitai: CIVITAI_CANARY } }).fail('civitai:132');
    expect(error.code).toBe('auth-required');
    expect(error.message).toMatch(/invalid or lacks access/);
    expect(error.message).not.toContain(CIVITAI_CANARY);
  });

  for (const [status, code] of [
    [403, 'forbidden'],
    [404, 'not-found'],
    [410, 'gone'],
  ] as const) {
    it(`download route ${status} → ${code}, nothing saved`, async () => {
      installCivitaiVersion(d, { versionId: 140 + status, modelId: 9, files: [{ id: 60, name: 'x.safetensors', content: sd1LoraVariant('x'), primary: true }], downloadAnswer: respond(status, { headers: { 'content-type': 'application/json' }, body: '{"error":"no"}' }) });
      const { error } = await harness(studio, d).fail(`civitai:${140 + status}`);
      expect(error.code).toBe(code);
      expect(error.exitCode).toBe(1);
      await expectNothingStored(studio);
    });
  }

  it('the version endpoint 404 → not-found', async () => {
    const { error } = await harness(studio, d).fail('civitai:999');
    expect(error.code).toBe('not-found');
  });

  it('a download route that always answers 429 (Retry-After: 1) gets 1 + 3 requests, then rate-limited (exit 2)', async () => {
    installCivitaiVersion(d, { versionId: 150, modelId: 9, files: [{ id: 61, name: 'x.safetensors', content: sd1LoraVariant('x'), primary: true }], downloadAnswer: respond(429, { headers: { 'retry-after': '1' } }) });
    const waits: number[] = [];
    const { error } = await harness(studio, d, { network: testNetwork(d, { sleep: async (ms) => void waits.push(ms) }) }).fail('civitai:150');
    expect(error.code).toBe('rate-limited');
    expect(error.exitCode).toBe(2);
    expect(d.requestsTo('mirror.test').filter((r) => r.path.startsWith('/api/download/')).length).toBe(4);
    expect(waits).toEqual([1000, 1000, 1000]);
    await expectNothingStored(studio);
  });

  it('one 429 then the file succeeds; Retry-After: 3600 waits no longer than the cap', async () => {
    const body = sd1LoraVariant('r');
    installCivitaiVersion(d, { versionId: 151, modelId: 9, files: [{ id: 62, name: 'x.safetensors', content: body, primary: true }] });
    const redirect = (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(307, { location: d.url('cdn2.test', '/delivery/62?X-Amz-Signature=s'), 'content-length': '0' });
      res.end();
    };
    d.route('mirror.test', '/api/download/models/151', sequence(respond(429, { headers: { 'retry-after': '3600' } }), redirect));
    const waits: number[] = [];
    const { result } = await harness(studio, d, { network: testNetwork(d, { sleep: async (ms) => void waits.push(ms) }) }).pull('civitai:151');
    expect(result.state).toBe('stored');
    expect(waits).toEqual([60_000]);
  });

  it('CV-A09: sizeKB = 1 and the server streams far more → size, stopped after ~1 KiB + 1 MiB', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    big.writeBigUInt64LE(8n, 0);
    installCivitaiVersion(d, {
      versionId: 160,
      modelId: 9,
      files: [{ id: 70, name: 'x.safetensors', content: big, sizeKB: 1, primary: true, serve: serveBytes(big, { contentLength: null, dripChunk: 64 * 1024, dripIntervalMs: 1 }) }],
    });
    const { error } = await harness(studio, d).fail('civitai:160');
    expect(error.code).toBe('size');
    await expectNothingStored(studio);
  });
});

describe('civitai: no SHA256 (CV-R04, CV-A11)', () => {
  it('an AutoV2-only file waits in awaiting-confirmation, kept in quarantine; confirmed → stored, marked unverified', async () => {
    const body = sd1LoraVariant('autov2');
    installCivitaiVersion(d, { versionId: 170, modelId: 9, files: [{ id: 80, name: 'u.safetensors', content: body, primary: true, hashes: { AutoV2: sha256Hex(body).slice(0, 10).toUpperCase() } }] });
    const h = harness(studio, d);
    const { result, states, taskId } = await h.pull('civitai:170');
    expect(result.state).toBe('awaiting-confirmation');
    expect(result.verified).toBe(false);
    expect(states.at(-1)).toBe('awaiting-confirmation');
    expect(await modelFiles(studio)).toEqual([]);
    expect(await downloadsLeft(studio)).toEqual([path.join(taskId, 'pending.json'), path.join(taskId, 'u.safetensors')]);
    expect(await readPending(studio.workspace, taskId)).toMatchObject({ reason: expect.stringContaining('no SHA-256') as string });

    const confirmStates: string[] = [];
    const confirmed = await confirmPending({ deps: h.deps, taskId, signal: new AbortController().signal, report: { detail: (s) => void confirmStates.push(s), progress: () => undefined } });
    expect(confirmed.state).toBe('stored');
    expect(confirmed.models[0]?.source.provenance).toMatchObject({ verified: false, unverified: true, confirmedBy: 'user', versionId: 170 });
    expect(await modelFiles(studio)).toEqual([path.join('lora', 'civitai', '9', '170', 'u.safetensors')]);
    expect(await downloadsLeft(studio)).toEqual([]);
    await expect(confirmPending({ deps: h.deps, taskId, signal: new AbortController().signal, report: { detail: () => undefined, progress: () => undefined } })).rejects.toMatchObject({ code: 'not-awaiting-confirmation' });
  });

  it('--accept-unverified stores it at once, marked unverified; discard deletes a pending one', async () => {
    const body = sd1LoraVariant('accept');
    installCivitaiVersion(d, { versionId: 171, modelId: 9, files: [{ id: 81, name: 'v.safetensors', content: body, primary: true, hashes: null }] });
    const h = harness(studio, d);
    const accepted = await h.pull({ source: 'civitai:171', acceptUnverified: true });
    expect(accepted.result.models[0]?.source.provenance).toMatchObject({ unverified: true, confirmedBy: 'accept-unverified' });
    for (const model of await studio.library.list()) await studio.library.remove(model.id);
    const pending = await h.pull('civitai:171');
    await discardPending(studio.workspace, pending.taskId);
    await expectNothingStored(studio);
  });

  it('--sha256 supplies the missing digest (verified), and a wrong one is refused before downloading', async () => {
    const body = sd1LoraVariant('given');
    installCivitaiVersion(d, { versionId: 172, modelId: 9, files: [{ id: 82, name: 'w.safetensors', content: body, primary: true, hashes: null }] });
    const h = harness(studio, d);
    const { result } = await h.pull({ source: 'civitai:172', sha256: sha256Hex(body) });
    expect(result.verified).toBe(true);
    for (const model of await studio.library.list()) await studio.library.remove(model.id);
    installCivitaiVersion(d, { versionId: 173, modelId: 9, files: [{ id: 83, name: 'w.safetensors', content: body, primary: true }] });
    const { error } = await h.fail({ source: 'civitai:173', sha256: 'b'.repeat(64) });
    expect(error.code).toBe('integrity');
    expect(d.requestsTo('cdn2.test').filter((r) => r.path.startsWith('/delivery/83'))).toEqual([]);
  });
});

describe('civitai client', () => {
  it('identifies a file by hash: base model, trained words', async () => {
    const body = sd1LoraVariant('id');
    installCivitaiVersion(d, { versionId: 180, modelId: 9, baseModel: 'SDXL 1.0', trainedWords: ['ohwx'], files: [{ id: 90, name: 'i.safetensors', content: body, primary: true }] });
    const hub = buildHubContext({ settings: testSettings(d), network: testNetwork(d) });
    const found = await hub.civitai.client.byHash(sha256Hex(body));
    expect(found).toMatchObject({ id: 180, modelId: 9, baseModel: 'SDXL 1.0', trainedWords: ['ohwx'] });
    expect(await hub.civitai.client.byHash('ABCDEF0123')).toBeNull();
    await expect(hub.civitai.client.byHash('xyz')).rejects.toMatchObject({ code: 'invalid' });
  });

  it('search keeps NSFW off by default and sends the filters', async () => {
    d.route('mirror.test', '/api/v1/models', (_req, res) => {
      const text = JSON.stringify({ items: [{ id: 1, name: 'safe', type: 'LORA', nsfw: false, modelVersions: [{ id: 2, name: 'v1', baseModel: 'SDXL 1.0' }] }, { id: 3, name: 'nsfw', nsfw: true }] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(text.length) });
      res.end(text);
    });
    const hub = buildHubContext({ settings: testSettings(d), network: testNetwork(d) });
    const found = await hub.civitai.client.search({ query: 'dog', types: ['LORA'], baseModel: 'SDXL 1.0', sort: 'recent', limit: 5 });
    expect(found.map((m) => m.name)).toEqual(['safe']);
    const query = new URL(d.requestsTo('mirror.test').at(-1)?.path ?? '', 'https://x').searchParams;
    expect(query.get('nsfw')).toBe('false');
    expect(query.get('types')).toBe('LORA');
    expect(query.get('baseModels')).toBe('SDXL 1.0');
    expect(query.get('sort')).toBe('Newest');
  });

  it('the token check reads /api/v1/me', async () => {
    d.route('mirror.test', '/api/v1/me', (req, res) => {
      const ok = req.headers.authorization === `Bearer ${CIVITAI_CANARY}`;
      const text = ok ? '{"username":"alice"}' : '{"error":"Unauthorized"}';
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json', 'content-length': String(text.length) });
      res.end(text);
    });
    const good = buildHubContext({ settings: testSettings(d), tokens: { civitai: CIVITAI_CANARY }, network: testNetwork(d) });
    expect(await good.civitai.client.me()).toEqual({ username: 'alice' });
    const bad = buildHubContext({ settings: testSettings(d), tokens: { civitai: `${CIVITAI_CANARY}x` }, network: testNetwork(d) });
    await expect(bad.civitai.client.me()).rejects.toMatchObject({ code: 'auth-required' });
    // What `lorasmith login` shows: the account, or the refusal with its hint — never the token.
    expect(await checkHubToken(good, 'civitai')).toMatchObject({ ok: true, account: 'alice' });
    const refused = await checkHubToken(bad, 'civitai');
    expect(refused).toMatchObject({ ok: false, account: null });
    expect(JSON.stringify(refused)).not.toContain(CIVITAI_CANARY);
  });

  it('identify looks a file up by SHA-256 and brings back base model and trigger words', async () => {
    const content = sd1LoraSafetensors();
    installCivitaiVersion(d, { versionId: 4242, modelId: 77, baseModel: 'SD 1.5', trainedWords: ['sks dog'], files: [{ id: 9001, name: 'sks.safetensors', content, primary: true }] });
    const hub = buildHubContext({ settings: testSettings(d), network: testNetwork(d) });
    expect(await identifyOnCivitai(hub, sha256Hex(content))).toMatchObject({ found: true, modelId: 77, versionId: 4242, baseModel: 'SD 1.5', trainedWords: ['sks dog'] });
    expect(await identifyOnCivitai(hub, 'ab'.repeat(32))).toMatchObject({ found: false, sha256: 'ab'.repeat(32), baseModel: null, trainedWords: [], license: null });
  });
});
