/**
 * LOG-A01-style canary sweep for the foundation: a fake Hugging Face token and a Civitai key go through
 * every path that logs or answers — saving secrets, bad bearer tokens, pairing URLs, failing tasks,
 * internal errors, the CLI — and must appear in no log line, no API response, no security event and no
 * file of the workspace except the 0600 secret store that is meant to hold them.
 */
import { spawnSync } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LorasmithError } from '../../src/core/errors.ts';
import { rawRequest } from '../helpers/http.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

const HF_CANARY = 'hf_CANARYCANARYCANARYCANARY1234';
const CIVITAI_CANARY = 'civitaiCANARYcanary0123456789';
const responses: string[] = [];
let studio: TestStudio;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

beforeAll(async () => {
  studio = await startTestStudio();
  const { tasks } = studio.running.studio;
  tasks.register({ kind: 'leaky-failure', params: z.object({}), concurrency: 1, run: async () => { throw new LorasmithError({ code: 'auth-required', message: `The hub refused token ${HF_CANARY}`, hint: 'Log in again.' }); } });
  tasks.register({ kind: 'leaky-crash', params: z.object({}), concurrency: 1, run: async () => { throw new Error(`crash while using ${CIVITAI_CANARY}`); } });
  tasks.register({ kind: 'leaky-progress', params: z.object({}), concurrency: 1, run: async (_p, ctx) => { ctx.progress({ done: 1, total: 1, message: `fetching https://cdn.example/x?token=${HF_CANARY}` }); return { note: `used ${HF_CANARY}` }; } });
  const cookie = await studio.pair();
  const record = (r: { body: string }) => responses.push(r.body);
  const json = { 'content-type': 'application/json' };

  record(await studio.asPage({ path: '/api/secrets/hf', method: 'PUT', headers: json, body: JSON.stringify({ value: HF_CANARY }) }, cookie));
  record(await studio.asPage({ path: '/api/secrets/civitai', method: 'PUT', headers: json, body: JSON.stringify({ value: CIVITAI_CANARY }) }, cookie));
  record(await studio.asPage({ path: '/api/secrets' }, cookie));
  record(await studio.asBearer({ path: '/api/health' }, HF_CANARY));
  record(await studio.asBearer({ path: '/api/health', headers: { host: `evil.test:${studio.running.port}`, 'x-note': HF_CANARY } }));
  record(await rawRequest({ url: `${studio.url}/pair?code=${HF_CANARY}` }));
  record(await studio.asPage({ path: '/api/tokens', method: 'POST', headers: json, body: JSON.stringify({ name: `bad name ${HF_CANARY}` }) }, cookie));
  record(await studio.asPage({ path: '/api/secrets/hf', method: 'PUT', headers: json, body: JSON.stringify({ value: `${HF_CANARY} with spaces` }) }, cookie));
  for (const kind of ['leaky-failure', 'leaky-crash', 'leaky-progress']) {
    const task = await tasks.start(kind, {});
    for (let i = 0; i < 100 && !['failed', 'succeeded'].includes((await tasks.get(task.id)).state); i++) await new Promise((r) => setTimeout(r, 10));
    record(await studio.asBearer({ path: `/api/tasks/${task.id}` }));
  }
  record(await studio.asBearer({ path: '/api/tasks' }));
  record(await studio.asBearer({ path: '/api/security-events' }));
  studio.running.studio.log.error({ err: new Error(`boom ${HF_CANARY}`), headers: { authorization: `Bearer ${CIVITAI_CANARY}` } }, `request to https://hub/x?token=${HF_CANARY} failed`);
  const cli = spawnSync(process.execPath, [path.resolve('src/cli/main.ts'), 'login', 'civitai', '--no-check', '--json'], { input: CIVITAI_CANARY, env: { ...process.env, LORASMITH_HOME: studio.home }, encoding: 'utf8' });
  responses.push(cli.stdout, cli.stderr);
  await studio.restart();
});
afterAll(async () => studio.stop());

describe('canary sweep', () => {
  it('no log line carries either canary', () => {
    expect(studio.logLines.length).toBeGreaterThan(0);
    for (const line of studio.logLines) {
      expect(line).not.toContain(HF_CANARY);
      expect(line).not.toContain(CIVITAI_CANARY);
    }
  });

  it('no API response or CLI output carries either canary; secrets come back masked', () => {
    const all = responses.join('\n');
    expect(all).not.toContain(HF_CANARY);
    expect(all).not.toContain(CIVITAI_CANARY);
    expect(all).toContain('hf_…1234');
  });

  it('no file of the workspace holds them, except the 0600 secret store', async () => {
    const files = await filesUnder(studio.home);
    expect(files.some((file) => file.endsWith('lorasmith.db'))).toBe(true);
    for (const file of files) {
      const content = await readFile(file);
      const holds = content.includes(HF_CANARY) || content.includes(CIVITAI_CANARY);
      if (path.basename(file) === 'secrets.json') {
        expect(holds).toBe(true);
        expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
      } else expect(holds, file).toBe(false);
    }
  });
});
