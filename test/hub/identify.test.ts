/**
 * `models identify FILE|ID`: Civitai by SHA-256 (`/model-versions/by-hash/{hash}`) plus the model's licence
 * flags (`/models/{id}`). A library entry keeps the answer on its record (CLI, API, `models show`); any
 * other file is only looked up. The token goes only to the API host, as a Bearer header.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModelsVerb } from '../../src/cli/verbs/models.ts';
import { buildHubContext } from '../../src/hub/hub-context.ts';
import { identifyLibraryModel, identifyOnCivitai } from '../../src/hub/identify.ts';
import { importModel } from '../../src/library/import-model.ts';
import type { ModelRecord } from '../../src/library/model-record.ts';
import type { Studio } from '../../src/studio/studio.ts';
import { sha256Hex } from '../doubles/hub/behaviours.ts';
import { installCivitaiVersion } from '../doubles/hub/civitai-protocol.ts';
import type { HubDouble } from '../doubles/hub/hub-double.ts';
import { sd1LoraVariant } from '../helpers/model-files.ts';
import { makeHome, startTestStudio } from '../helpers/studio.ts';
import { captureIO, CIVITAI_CANARY, hubTestContext, testNetwork, testSettings } from './pull-harness.ts';

let d: HubDouble;
let studio: Studio;

hubTestContext((started) => ({ d, studio } = started));

const hub = (token?: string) => buildHubContext({ settings: testSettings(d), network: testNetwork(d), ...(token === undefined ? {} : { tokens: { civitai: token } }) });

async function addToLibrary(target: Studio, content: Buffer, name: string): Promise<ModelRecord> {
  const dir = path.join(target.workspace.paths.areas.quarantine, 'test-identify');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await writeFile(file, content);
  return (await importModel({ workspace: target.workspace, library: target.library, securityEvents: target.securityEvents, file, name, source: { type: 'local' } })).model;
}

describe('identifyOnCivitai', () => {
  it('brings back model, version, base model, trigger words and the licence flags; the token only as Bearer to the API host', async () => {
    const content = sd1LoraVariant('identify');
    installCivitaiVersion(d, {
      versionId: 4242,
      modelId: 77,
      modelName: 'Sks Dog',
      baseModel: 'SD 1.5',
      trainedWords: ['sks dog', 'ohwx'],
      license: { allowCommercialUse: ['Image', 'RentCivit'], allowNoCredit: true, allowDerivatives: false, allowDifferentLicense: false },
      files: [{ id: 9001, name: 'sks.safetensors', content, primary: true }],
    });
    const found = await identifyOnCivitai(hub(CIVITAI_CANARY), sha256Hex(content), { now: () => Date.parse('2026-11-02T10:00:00.000Z') });
    expect(found).toEqual({
      found: true,
      sha256: sha256Hex(content),
      checkedAt: '2026-11-02T10:00:00.000Z',
      modelId: 77,
      versionId: 4242,
      modelName: 'Sks Dog',
      versionName: 'v1.0',
      modelType: 'LORA',
      baseModel: 'SD 1.5',
      trainedWords: ['sks dog', 'ohwx'],
      license: { allowCommercialUse: ['Image', 'RentCivit'], allowNoCredit: true, allowDerivatives: false, allowDifferentLicense: false },
      url: `${d.origin('mirror.test')}/models/77?modelVersionId=4242`,
    });
    const asked = d.requestsTo('mirror.test').map((r) => r.path);
    expect(asked).toEqual([`/api/v1/model-versions/by-hash/${sha256Hex(content).toUpperCase()}`, '/api/v1/models/77']);
    for (const request of d.requests) {
      expect(request.path).not.toContain(CIVITAI_CANARY);
      expect(request.headers.authorization).toBe(request.host === 'mirror.test' ? `Bearer ${CIVITAI_CANARY}` : undefined);
    }
  });

  it('reads the older single-string commercial use; "None" is no commercial use; a missing model page leaves the licence unknown', async () => {
    const sell = sd1LoraVariant('sell');
    installCivitaiVersion(d, { versionId: 11, modelId: 1, license: { allowCommercialUse: 'Sell' }, files: [{ id: 111, name: 's.safetensors', content: sell, primary: true }] });
    expect((await identifyOnCivitai(hub(), sha256Hex(sell))).license?.allowCommercialUse).toEqual(['Sell']);
    const none = sd1LoraVariant('none');
    installCivitaiVersion(d, { versionId: 12, modelId: 2, license: { allowCommercialUse: ['None'] }, files: [{ id: 121, name: 'n.safetensors', content: none, primary: true }] });
    expect((await identifyOnCivitai(hub(), sha256Hex(none))).license?.allowCommercialUse).toEqual([]);
    const orphan = sd1LoraVariant('orphan');
    installCivitaiVersion(d, { versionId: 13, modelId: 3, files: [{ id: 131, name: 'o.safetensors', content: orphan, primary: true }] });
    d.route('mirror.test', '/api/v1/models/3', (_req, res) => {
      const body = '{"error":"No model with id 3"}';
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.end(body);
    });
    expect(await identifyOnCivitai(hub(), sha256Hex(orphan))).toMatchObject({ found: true, modelId: 3, baseModel: 'SD 1.5', license: null });
  });
});

describe('a library entry keeps the answer', () => {
  it('identifyLibraryModel writes it onto the record; not found is recorded too', async () => {
    const content = sd1LoraVariant('lib');
    installCivitaiVersion(d, { versionId: 500, modelId: 50, baseModel: 'SDXL 1.0', trainedWords: ['pixel'], files: [{ id: 501, name: 'p.safetensors', content, primary: true }] });
    const model = await addToLibrary(studio, content, 'pixel.safetensors');
    expect(model.civitai).toBeNull();
    const updated = await identifyLibraryModel({ hub: hub(), library: studio.library, id: model.id });
    expect(updated.civitai).toMatchObject({ found: true, baseModel: 'SDXL 1.0', trainedWords: ['pixel'], license: { allowCommercialUse: ['Image'], allowNoCredit: false } });
    expect((await studio.library.get(model.id)).civitai).toEqual(updated.civitai);
    // The fingerprint still decides: Civitai's base model is information beside it.
    expect((await studio.library.get(model.id)).family).toBe('sd1');

    const unknown = await addToLibrary(studio, sd1LoraVariant('unknown'), 'unknown.safetensors');
    const none = await identifyLibraryModel({ hub: hub(), library: studio.library, id: unknown.id });
    expect(none.civitai).toMatchObject({ found: false, sha256: unknown.hashes.sha256, license: null });
  });

  it('lorasmith models identify ID | path into models/ | any other file; show prints what Civitai said', async () => {
    const content = sd1LoraVariant('cli');
    installCivitaiVersion(d, { versionId: 600, modelId: 60, trainedWords: ['ohwx dog'], files: [{ id: 601, name: 'c.safetensors', content, primary: true }] });
    const model = await addToLibrary(studio, content, 'cli.safetensors');
    const verb = createModelsVerb({ settings: () => testSettings(d), network: testNetwork(d) });
    const home = studio.workspace.paths.home;

    const byId = captureIO(home);
    expect(await verb.run(['identify', model.id, '--json'], byId.io)).toBe(0);
    expect(JSON.parse(byId.out())).toMatchObject({ found: true, modelId: 60, versionId: 600, trainedWords: ['ohwx dog'] });
    const first = (await studio.library.get(model.id)).civitai?.checkedAt;
    expect(first).toBeDefined();

    const shown = captureIO(home);
    expect(await verb.run(['show', model.id], shown.io)).toBe(0);
    expect(shown.out()).toContain('trigger words: ohwx dog');
    expect(shown.out()).toContain('licence: commercial use: Image; credit the creator; derivatives allowed');
    const shownJson = captureIO(home);
    await verb.run(['show', model.id, '--json'], shownJson.io);
    expect(JSON.parse(shownJson.out())).toMatchObject({ civitai: { found: true, versionId: 600 }, files: [{ path: 'cli.safetensors', main: true, sha256: model.hashes.sha256 }] });

    // A path into models/ is the entry it belongs to.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const byPath = captureIO(home);
    expect(await verb.run(['identify', await studio.library.fileOf(model.id)], byPath.io)).toBe(0);
    expect(byPath.out()).toContain('trigger words: ohwx dog');
    expect((await studio.library.get(model.id)).civitai?.checkedAt).not.toBe(first);

    // Any other file: printed, nothing written; unknown to Civitai → exit 1.
    const outside = path.join(await makeHome(), 'copy.safetensors');
    await copyFile(await studio.library.fileOf(model.id), outside);
    const before = await studio.library.list();
    const byFile = captureIO(home);
    expect(await verb.run(['identify', outside], byFile.io)).toBe(0);
    expect(byFile.out()).toContain('ohwx dog');
    expect(await studio.library.list()).toEqual(before);
    const stranger = path.join(path.dirname(outside), 'stranger.safetensors');
    await writeFile(stranger, sd1LoraVariant('stranger'));
    const notFound = captureIO(home);
    expect(await verb.run(['identify', stranger], notFound.io)).toBe(1);
    expect(notFound.out()).toContain('Civitai knows no file');
    await expect(verb.run(['identify', 'no-such-id-or-file'], captureIO(home).io)).rejects.toMatchObject({ code: 'not-found', exitCode: 2 });
  });
});

describe('over the API, and the CLI through a running studio', () => {
  it('POST /api/models/:id/identify answers the updated record; GET shows it; `models identify ID` goes through the studio', async () => {
    const running = await startTestStudio({ hubNetwork: { lookup: d.lookup, ca: d.ca } });
    try {
      await running.running.studio.settings.update({ hub: { civitaiEndpoint: d.origin('mirror.test'), civitaiRedirectHosts: [`cdn2.test:${d.port}`] } });
      const content = sd1LoraVariant('api');
      installCivitaiVersion(d, { versionId: 700, modelId: 70, baseModel: 'Pony', trainedWords: ['api word'], files: [{ id: 701, name: 'a.safetensors', content, primary: true }] });
      const model = await addToLibrary(running.running.studio, content, 'api.safetensors');
      const posted = await running.asBearer({ method: 'POST', path: `/api/models/${model.id}/identify`, headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(posted.status).toBe(200);
      expect(JSON.parse(posted.body)).toMatchObject({ id: model.id, civitai: { found: true, baseModel: 'Pony', trainedWords: ['api word'], license: { allowDerivatives: true } } });
      const got = await running.asBearer({ path: `/api/models/${model.id}` });
      expect(JSON.parse(got.body)).toMatchObject({ civitai: { versionId: 700 }, files: [{ path: 'api.safetensors', main: true }] });
      expect((await running.asBearer({ method: 'POST', path: '/api/models/nope/identify', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);

      // No test hooks: only the running studio can reach the double, so this answer came through it.
      const byHashBefore = d.requestsTo('mirror.test').filter((r) => r.path.includes('/by-hash/')).length;
      const cli = captureIO(running.home);
      expect(await createModelsVerb().run(['identify', model.id, '--json'], cli.io)).toBe(0);
      expect(JSON.parse(cli.out())).toMatchObject({ found: true, versionId: 700 });
      expect(d.requestsTo('mirror.test').filter((r) => r.path.includes('/by-hash/')).length).toBe(byHashBefore + 1);
    } finally {
      await running.stop();
    }
  });
});
