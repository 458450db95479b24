/**
 * Browse answers are kept a few minutes (hub-cache.ts): searches, a repo's file list and a Civitai version.
 * Asserted through the hub double's request log, with an injected clock: the second identical call makes
 * no request, a call after the TTL does, other filters miss, failures are not kept, the key knows whether
 * a token went along and a new token drops the provider's answers. Pulls always ask afresh. Then the
 * same through the studio's API (the Find page) and `lorasmith search` against a running studio.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSearchVerb } from '../../src/cli/verbs/search.ts';
import { HubCache, HUB_CACHE_TTL_MS } from '../../src/hub/hub-cache.ts';
import { buildHubContext } from '../../src/hub/hub-context.ts';
import { hubContextFactory } from '../../src/hub/pull-deps.ts';
import { civitaiVersion, listRepoFiles, searchHub } from '../../src/hub/search.ts';
import type { Studio } from '../../src/studio/studio.ts';
import { installCivitaiVersion } from '../doubles/hub/civitai-protocol.ts';
import { commitId, installHfRepo } from '../doubles/hub/hf-protocol.ts';
import { startHubDouble, type HubDouble } from '../doubles/hub/hub-double.ts';
import { sd1LoraVariant } from '../helpers/model-files.ts';
import { startTestStudio } from '../helpers/studio.ts';
import { captureIO, CIVITAI_CANARY, harness, openTestStudio, testNetwork, testSettings } from './pull-harness.ts';

const C1 = commitId('cache-c1');
let d: HubDouble;
let studio: Studio;
let clock = 1_000_000;
const tokens: { hf: string | null; civitai: string | null } = { hf: null, civitai: null };

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** Civitai and Hugging Face model searches on the double; `failFirst` answers the first request with a 500. */
function installSearches(options: { failFirst?: boolean } = {}): void {
  d.route('mirror.test', '/api/v1/models', (_req, res, ctx) => {
    if (options.failFirst === true && ctx.count === 0) return answer(res, 500, { error: 'boom' });
    answer(res, 200, { items: [{ id: 7, name: 'Pixel LoRA', type: 'LORA', nsfw: false, modelVersions: [{ id: 70, name: 'v1', baseModel: 'SDXL 1.0' }] }] });
  });
  d.route('hub.test', '/api/models', (_req, res) => answer(res, 200, [{ _id: '1', id: 'alice/pixel', downloads: 3, likes: 1, lastModified: '2026-11-01T00:00:00.000Z', private: false, gated: false, tags: ['lora'] }]));
}

const searches = (host: string, path: string): number => d.requestsTo(host).filter((r) => r.path.split('?')[0] === path).length;

beforeAll(async () => {
  d = await startHubDouble();
  studio = await openTestStudio();
});
afterEach(() => {
  d.reset();
  tokens.hf = null;
  tokens.civitai = null;
});
afterAll(async () => {
  await studio.close();
  await d.close();
});

/** One factory = one cache, as in the studio; the double's clock is ours. */
function factory() {
  return hubContextFactory({ secrets: { get: async (name) => tokens[name] }, settings: testSettings(d), network: testNetwork(d, { now: () => clock }) });
}

describe('the hub cache', () => {
  it('a second identical search makes no request, after the TTL it does, and different filters miss', async () => {
    installSearches();
    const hub = factory();
    const civitai = (extra: Partial<Parameters<typeof searchHub>[1]> = {}) => hub().then((context) => searchHub(context, { provider: 'civitai', query: 'Pixel  art', type: 'lora', ...extra }));
    const found = await civitai();
    expect(found).toMatchObject([{ id: 7, name: 'Pixel LoRA' }]);
    expect(searches('mirror.test', '/api/v1/models')).toBe(1);
    // The same question in other words: case and spacing do not matter; the answer is a copy.
    (found[0] as { name: string }).name = 'changed by a caller';
    expect(await civitai({ query: ' pixel ART ' })).toMatchObject([{ name: 'Pixel LoRA' }]);
    expect(searches('mirror.test', '/api/v1/models')).toBe(1);
    // Any other filter is another question.
    for (const extra of [{ type: 'checkpoint' }, { nsfw: true }, { baseModel: 'SDXL 1.0' }, { sort: 'recent' }, { limit: 5 }, { query: 'pixel' }]) await civitai(extra);
    expect(searches('mirror.test', '/api/v1/models')).toBe(7);
    // Still fresh just before the TTL; asked again just after it.
    clock += HUB_CACHE_TTL_MS - 1;
    await civitai();
    expect(searches('mirror.test', '/api/v1/models')).toBe(7);
    clock += 2;
    await civitai();
    expect(searches('mirror.test', '/api/v1/models')).toBe(8);
    // Hugging Face searches are kept the same way, apart from Civitai's.
    const hf = () => hub().then((context) => searchHub(context, { provider: 'hf', query: 'pixel', type: 'lora' }));
    expect(await hf()).toMatchObject([{ id: 'alice/pixel' }]);
    await hf();
    expect(searches('hub.test', '/api/models')).toBe(1);
  });

  it("a repo's file list and a Civitai version are kept too; a pull always asks afresh", async () => {
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'a.safetensors', content: sd1LoraVariant('cache') }] } });
    installCivitaiVersion(d, { versionId: 900, modelId: 90, files: [{ id: 901, name: 'v.safetensors', content: sd1LoraVariant('cache-civitai'), primary: true }] });
    const hub = factory();
    const files = async () => listRepoFiles(await hub(), { repo: 'org/m', revision: 'main', path: '' });
    expect(await files()).toMatchObject({ commit: C1, entries: [{ path: 'a.safetensors' }] });
    await files();
    expect(searches('hub.test', '/api/models/org/m/revision/main')).toBe(1);
    expect(searches('hub.test', `/api/models/org/m/tree/${C1}`)).toBe(1);
    await listRepoFiles(await hub(), { repo: 'org/m', revision: C1, path: '' });
    expect(searches('hub.test', `/api/models/org/m/tree/${C1}`)).toBe(2);

    const version = async () => civitaiVersion(await hub(), 900);
    expect(await version()).toMatchObject({ id: 900, files: [{ id: 901 }] });
    await version();
    expect(searches('mirror.test', '/api/v1/model-versions/900')).toBe(1);
    await harness(studio, d).pull('civitai:900');
    expect(searches('mirror.test', '/api/v1/model-versions/900')).toBe(2);
    for (const model of await studio.library.list()) await studio.library.remove(model.id);
  });

  it('a failed answer is not kept', async () => {
    installSearches({ failFirst: true });
    const hub = factory();
    const search = async () => searchHub(await hub(), { provider: 'civitai', query: 'x' });
    await expect(search()).rejects.toMatchObject({ code: 'network' });
    expect(await search()).toHaveLength(1);
    await search();
    expect(searches('mirror.test', '/api/v1/models')).toBe(2);
  });

  it('the key knows whether a token went along; a new token drops that provider’s answers only', async () => {
    installSearches();
    const hub = factory();
    const civitai = async () => searchHub(await hub(), { provider: 'civitai', query: 'x' });
    const hf = async () => searchHub(await hub(), { provider: 'hf', query: 'x' });
    await civitai();
    await hf();
    tokens.civitai = CIVITAI_CANARY;
    await civitai();
    expect(searches('mirror.test', '/api/v1/models')).toBe(2);
    expect(d.requestsTo('mirror.test').at(-1)?.headers.authorization).toBe(`Bearer ${CIVITAI_CANARY}`);
    await civitai();
    expect(searches('mirror.test', '/api/v1/models')).toBe(2);
    // Another account may see other results: its searches are asked again.
    tokens.civitai = `${CIVITAI_CANARY}-other`;
    await civitai();
    expect(searches('mirror.test', '/api/v1/models')).toBe(3);
    // Hugging Face's answers were not touched by Civitai's token.
    await hf();
    expect(searches('hub.test', '/api/models')).toBe(1);
  });

  it('is bounded: past its size the oldest answer goes first', async () => {
    installSearches();
    const cache = new HubCache({ maxEntries: 2, now: () => clock });
    const hub = buildHubContext({ settings: testSettings(d), network: testNetwork(d), cache });
    for (const query of ['a', 'b', 'c']) await searchHub(hub, { provider: 'civitai', query });
    expect(cache.size).toBe(2);
    await searchHub(hub, { provider: 'civitai', query: 'c' });
    expect(searches('mirror.test', '/api/v1/models')).toBe(3);
    await searchHub(hub, { provider: 'civitai', query: 'a' });
    expect(searches('mirror.test', '/api/v1/models')).toBe(4);
  });
});

describe('the studio keeps one cache: the Find page API and `lorasmith search`', () => {
  it('GET /api/hub/search twice asks Civitai once; the CLI, talking to the running studio, is answered from it too', async () => {
    installSearches();
    const running = await startTestStudio({ hubNetwork: { lookup: d.lookup, ca: d.ca, now: () => clock } });
    try {
      await running.running.studio.settings.update({ hub: { civitaiEndpoint: d.origin('mirror.test'), civitaiRedirectHosts: [`cdn2.test:${d.port}`] } });
      const path = '/api/hub/search?provider=civitai&q=pixel&type=lora';
      for (let i = 0; i < 2; i += 1) {
        const response = await running.asBearer({ path });
        expect(response.status).toBe(200);
        expect(JSON.parse(response.body)).toMatchObject({ provider: 'civitai', results: [{ id: 7 }] });
      }
      expect(searches('mirror.test', '/api/v1/models')).toBe(1);
      const cli = captureIO(running.home);
      expect(await createSearchVerb().run(['civitai', 'pixel', '--type', 'lora', '--json'], cli.io)).toBe(0);
      expect(JSON.parse(cli.out())).toMatchObject({ provider: 'civitai', results: [{ id: 7, name: 'Pixel LoRA' }] });
      expect(searches('mirror.test', '/api/v1/models')).toBe(1);
      const other = captureIO(running.home);
      expect(await createSearchVerb().run(['civitai', 'pixel', '--type', 'checkpoint'], other.io)).toBe(0);
      expect(other.out()).toContain('Pixel LoRA');
      expect(searches('mirror.test', '/api/v1/models')).toBe(2);
    } finally {
      await running.stop();
    }
  });
});
