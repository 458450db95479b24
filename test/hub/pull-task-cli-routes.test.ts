/** The pull as a task (states, confirm, discard), the pull and search verbs in-process, and the hub routes. */
import path from 'node:path';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPullVerb } from '../../src/cli/verbs/pull.ts';
import { createSearchVerb } from '../../src/cli/verbs/search.ts';
import type { CliIO } from '../../src/cli/io.ts';
import { buildHubContext } from '../../src/hub/hub-context.ts';
import { confirmPull, discardPull, pullTask } from '../../src/hub/pull-task.ts';
import { createErrorHandler } from '../../src/server/error-handler.ts';
import type { App, RouteContext } from '../../src/server/context.ts';
import { hubRoutes } from '../../src/server/routes/hub-routes.ts';
import type { Studio } from '../../src/studio/studio.ts';
import { TaskService } from '../../src/tasks/task-service.ts';
import { FINAL_TASK_STATES, type TaskRecord } from '../../src/tasks/task-types.ts';
import { sha256Hex } from '../doubles/hub/behaviours.ts';
import { installCivitaiVersion } from '../doubles/hub/civitai-protocol.ts';
import { commitId, installHfRepo } from '../doubles/hub/hf-protocol.ts';
import type { HubDouble } from '../doubles/hub/hub-double.ts';
import { maliciousPickle, sd1LoraSafetensors } from '../helpers/model-files.ts';
import { rawSafetensors } from '../../src/formats/safetensors/testing.ts';
import { captureIO, downloadsLeft, harness, hubTestContext, modelFiles, quietLogger, testNetwork, testSettings } from './pull-harness.ts';

const C1 = commitId('task-c1');
let d: HubDouble;
let studio: Studio;
let tasks: TaskService;

function lora(tag: string): Buffer {
  const base = sd1LoraSafetensors();
  const headerLength = Number(base.readBigUInt64LE(0));
  const header = JSON.parse(base.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  header.__metadata__ = { ...(header.__metadata__ as Record<string, string>), ss_output_name: tag };
  let text = JSON.stringify(header);
  while ((8 + Buffer.byteLength(text)) % 8 !== 0) text += ' ';
  return rawSafetensors({ header: text, data: base.subarray(8 + headerLength) });
}

async function final(id: string): Promise<TaskRecord> {
  for (;;) {
    const record = await tasks.get(id);
    if (FINAL_TASK_STATES.has(record.state)) return record;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

hubTestContext((started) => ({ d, studio } = started));
beforeAll(() => {
  tasks = new TaskService({ db: studio.db, log: quietLogger() });
  tasks.register(pullTask(harness(studio, d).deps));
});
afterAll(async () => {
  await tasks.close();
});

describe('the pull task', () => {
  it('walks fetching → verifying → scanning → stored with byte progress and a rate/ETA message', async () => {
    const body = lora('task');
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'a.safetensors', content: body }] } });
    const details: string[] = [];
    const messages: string[] = [];
    let maxDone = 0;
    const task = await tasks.start('pull', { source: 'hf:org/m:a.safetensors' });
    const off = tasks.subscribe(task.id, (record) => {
      if (record.detail !== null && details.at(-1) !== record.detail) details.push(record.detail);
      if (record.progress.message !== null) messages.push(record.progress.message);
      maxDone = Math.max(maxDone, record.progress.done);
    });
    const record = await final(task.id);
    off();
    expect(record.state).toBe('succeeded');
    expect(record.detail).toBe('stored');
    expect(details).toEqual(['fetching', 'verifying', 'scanning', 'stored']);
    expect(maxDone).toBe(body.length);
    expect(messages.some((m) => m.startsWith('a.safetensors: ') && m.includes(' of '))).toBe(true);
  });

  it('a failure ends failed with the reason code; nothing kept', async () => {
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'evil.ckpt', content: Buffer.from(maliciousPickle()) }] } });
    const record = await final((await tasks.start('pull', { source: 'hf:org/m:evil.ckpt' })).id);
    expect(record.state).toBe('failed');
    expect(record.detail).toBe('failed');
    expect(record.error?.code).toBe('unsafe');
    expect(await modelFiles(studio)).toEqual([]);
  });

  it('awaiting-confirmation ends the task with its files in quarantine; confirmPull stores them; discardPull deletes them', async () => {
    const body = lora('confirm');
    installCivitaiVersion(d, { versionId: 300, modelId: 30, files: [{ id: 301, name: 'c.safetensors', content: body, primary: true, hashes: null }] });
    const waiting = await final((await tasks.start('pull', { source: 'civitai:300' })).id);
    expect(waiting).toMatchObject({ state: 'succeeded', detail: 'awaiting-confirmation' });
    expect(await downloadsLeft(studio)).toContain(path.join(waiting.id, 'c.safetensors'));
    const confirmed = await final((await confirmPull({ tasks, workspace: studio.workspace, taskId: waiting.id })).id);
    expect(confirmed).toMatchObject({ state: 'succeeded', detail: 'stored' });
    expect(await modelFiles(studio)).toEqual([path.join('lora', 'civitai', '30', '300', 'c.safetensors')]);
    await expect(confirmPull({ tasks, workspace: studio.workspace, taskId: waiting.id })).rejects.toMatchObject({ code: 'not-awaiting-confirmation' });

    for (const model of await studio.library.list()) await studio.library.remove(model.id);
    const again = await final((await tasks.start('pull', { source: 'civitai:300' })).id);
    await discardPull({ tasks, workspace: studio.workspace, taskId: again.id });
    expect(await downloadsLeft(studio)).toEqual([]);
    expect(await modelFiles(studio)).toEqual([]);
  });

  it('cancel leaves nothing', async () => {
    const body = Buffer.alloc(600_000, 3);
    body.writeBigUInt64LE(8n, 0);
    const { serveBytes } = await import('../doubles/hub/behaviours.ts');
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'slow.safetensors', content: body, serve: serveBytes(body, { dripChunk: 4096, dripIntervalMs: 10 }) }] } });
    const task = await tasks.start('pull', { source: 'hf:org/m:slow.safetensors' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const record = await tasks.cancel(task.id);
    expect(record.state).toBe('cancelled');
    expect(await downloadsLeft(studio)).toEqual([]);
    expect(await modelFiles(studio)).toEqual([]);
  });
});

describe('lorasmith pull / search (in-process)', () => {
  const verb = () => createPullVerb({ settings: () => testSettings(d), network: testNetwork(d), clamscan: null });

  it('pull stores and exits 0; --json ends with a summary; an unsafe file exits 1; a bad source exits 2', async () => {
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'a.safetensors', content: lora('cli') }, { path: 'evil.ckpt', content: Buffer.from(maliciousPickle()) }] } });
    const home = studio.workspace.paths.home;
    const ok = captureIO(home);
    expect(await verb().run(['hf:org/m:a.safetensors', '--json'], ok.io)).toBe(0);
    const lines = ok.out().trim().split('\n').map((line) => JSON.parse(line) as { type: string; task?: TaskRecord });
    expect(lines.at(-1)?.type).toBe('summary');
    expect(lines.at(-1)?.task?.detail).toBe('stored');
    const bad = captureIO(home);
    expect(await verb().run(['hf:org/m:evil.ckpt'], bad.io)).toBe(1);
    expect(bad.out()).toMatch(/failed/);
    await expect(verb().run(['hf:org/m'], captureIO(home).io)).rejects.toMatchObject({ exitCode: 2 });
    await expect(verb().run(['hf:org/m:a.safetensors', '--sha256', 'a'.repeat(64), '--accept-unverified'], captureIO(home).io)).rejects.toMatchObject({ exitCode: 2 });
  });

  it('an unverified Civitai file: exit 1 with the confirm hint; --confirm stores it', async () => {
    installCivitaiVersion(d, { versionId: 400, modelId: 40, files: [{ id: 401, name: 'u.safetensors', content: lora('cli-u'), primary: true, hashes: null }] });
    const home = studio.workspace.paths.home;
    const first = captureIO(home);
    expect(await verb().run(['civitai:400'], first.io)).toBe(1);
    expect(first.out()).toContain('Civitai file 401: u.safetensors');
    const id = /pull --confirm ([0-9a-f-]{36})/.exec(first.out())?.[1];
    expect(id).toBeDefined();
    const second = captureIO(home);
    expect(await verb().run(['--confirm', id ?? ''], second.io)).toBe(0);
    expect(second.out()).toMatch(/stored: .*UNVERIFIED/);
  });

  it('search civitai prints results; NSFW hidden by default', async () => {
    d.route('mirror.test', '/api/v1/models', (_req, res) => {
      const text = JSON.stringify({ items: [{ id: 7, name: 'Pixel LoRA', type: 'LORA', nsfw: false, stats: { downloadCount: 5 }, modelVersions: [{ id: 70, name: 'v1', baseModel: 'SDXL 1.0' }] }] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(text.length) });
      res.end(text);
    });
    const io = captureIO(studio.workspace.paths.home);
    expect(await createSearchVerb({ settings: () => testSettings(d), network: testNetwork(d) }).run(['civitai', 'pixel', '--type', 'lora', '--json'], io.io)).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ provider: 'civitai', results: [{ id: 7, name: 'Pixel LoRA', versions: [{ id: 70 }] }] });
    expect(d.requestsTo('mirror.test').at(-1)?.path).toContain('nsfw=false');
  });
});

describe('lorasmith search --files / --version (in-process)', () => {
  it("lists a repo's files at the resolved commit and a Civitai version's files, each with the source that pulls it", async () => {
    const body = lora('browse');
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'set/a.safetensors', content: body, securityStatus: 'safe' }, { path: 'set/cfg.json', content: Buffer.from('{}'), lfs: false }, { path: 'top.safetensors', content: lora('top') }] } });
    installCivitaiVersion(d, { versionId: 800, modelId: 80, trainedWords: ['browse word'], files: [{ id: 801, name: 'b.safetensors', content: body, primary: true }, { id: 802, name: 'b.ckpt', content: body, hashes: null, format: 'PickleTensor' }] });
    const verb = createSearchVerb({ settings: () => testSettings(d), network: testNetwork(d) });
    const home = studio.workspace.paths.home;
    const files = captureIO(home);
    expect(await verb.run(['hf', '--files', 'org/m@main', '--path', 'set/', '--json'], files.io)).toBe(0);
    expect(JSON.parse(files.out())).toEqual({
      repo: 'org/m',
      revision: 'main',
      commit: C1,
      files: [
        { path: 'set/a.safetensors', size: body.length, lfsSha256: sha256Hex(body), gitBlobId: null, xet: false, hubScanStatus: 'safe', source: `hf:org/m@${C1}:set/a.safetensors` },
        { path: 'set/cfg.json', size: 2, lfsSha256: null, gitBlobId: expect.stringMatching(/^[0-9a-f]{40}$/) as string, xet: false, hubScanStatus: null, source: `hf:org/m@${C1}:set/cfg.json` },
      ],
    });
    const text = captureIO(home);
    expect(await verb.run(['hf', '--files', 'org/m'], text.io)).toBe(0);
    expect(text.out()).toContain(`org/m @ main = commit ${C1}`);
    expect(text.out()).toMatch(/top\.safetensors .* sha256 [0-9a-f]{16}…/);

    const version = captureIO(home);
    expect(await verb.run(['civitai', '--version', '800'], version.io)).toBe(0);
    expect(version.out()).toContain('trigger words: browse word');
    expect(version.out()).toMatch(/civitai:800:801 {2}b\.safetensors {2}SafeTensor .* sha256 [0-9a-f]{16}… {2}primary/);
    expect(version.out()).toMatch(/civitai:800:802 {2}b\.ckpt {2}PickleTensor .* NO SHA-256/);
    await expect(verb.run(['civitai', '--version', 'x'], captureIO(home).io)).rejects.toMatchObject({ exitCode: 2 });
    await expect(verb.run(['civitai', '--files', 'org/m'], captureIO(home).io)).rejects.toMatchObject({ exitCode: 2 });
  });
});

describe('hub routes', () => {
  let app: App;
  beforeAll(async () => {
    app = Fastify().withTypeProvider<ZodTypeProvider>() as unknown as App;
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    app.setErrorHandler(createErrorHandler(studio.log));
    await app.register(fastifyRateLimit, { global: false });
    const ctx = { studio: { ...studio, tasks } } as unknown as RouteContext;
    hubRoutes(app, ctx, { hub: async () => buildHubContext({ settings: testSettings(d), network: testNetwork(d) }) });
    await app.ready();
  });
  afterAll(async () => app.close());

  it('GET /api/hub/hf/files lists sizes, LFS SHA-256 and the Hub scan status at the resolved commit', async () => {
    const body = lora('files');
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'a.safetensors', content: body, securityStatus: 'safe' }, { path: 'cfg.json', content: Buffer.from('{}'), lfs: false }] } });
    const response = await app.inject({ method: 'GET', url: '/api/hub/hf/files?repo=org/m&revision=main' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ commit: C1, files: [{ path: 'a.safetensors', size: body.length, lfsSha256: sha256Hex(body), hubScanStatus: 'safe' }, { path: 'cfg.json', gitBlobId: expect.stringMatching(/^[0-9a-f]{40}$/) as string }] });
    expect((await app.inject({ method: 'GET', url: '/api/hub/hf/files?repo=../x' })).statusCode).toBe(422);
    expect((await app.inject({ method: 'GET', url: '/api/hub/hf/files?repo=org/m&bogus=1' })).statusCode).toBe(400);
  });

  it('GET /api/hub/civitai/versions/:id and POST /api/pulls → a task; strict bodies', async () => {
    installCivitaiVersion(d, { versionId: 500, modelId: 50, files: [{ id: 501, name: 'r.safetensors', content: lora('route'), primary: true }] });
    const version = await app.inject({ method: 'GET', url: '/api/hub/civitai/versions/500' });
    expect(version.json()).toMatchObject({ id: 500, modelId: 50, files: [{ id: 501, source: 'civitai:500:501' }] });
    const started = await app.inject({ method: 'POST', url: '/api/pulls', payload: { source: 'civitai:500' } });
    expect(started.statusCode).toBe(200);
    const record = await final((started.json() as TaskRecord).id);
    expect(record.detail).toBe('stored');
    expect((await app.inject({ method: 'POST', url: '/api/pulls', payload: { source: 'civitai:500', token: 'x' } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/pulls', payload: { source: 'hf:org/m' } })).json()).toMatchObject({ error: { code: 'invalid-source' } });
    expect((await app.inject({ method: 'POST', url: `/api/pulls/${record.id}/confirm`, payload: {} })).statusCode).toBe(409);
  });

  it('GET /api/hub/search validates its query', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/hub/search?provider=nope&q=x' })).statusCode).toBe(400);
  });
});
