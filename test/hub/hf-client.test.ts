/** The HF client and the library calls through our fetch (HF-R05, HF-R08), whoami, search, ClamAV. */
import { chmod, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listFiles } from '@huggingface/hub';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSafeFetch } from '../../src/hub/create-safe-fetch.ts';
import { findClamscan, runClamscan } from '../../src/hub/clamscan.ts';
import { buildHubContext } from '../../src/hub/hub-context.ts';
import { parseNextLink } from '../../src/hub/hf/hf-client.ts';
import type { Studio } from '../../src/studio/studio.ts';
import { startHubDouble, type HubDouble } from '../doubles/hub/hub-double.ts';
import { commitId, installHfRepo } from '../doubles/hub/hf-protocol.ts';
import { sd1LoraSafetensors } from '../helpers/model-files.ts';
import { harness, HF_CANARY, modelFiles, openTestStudio, testNetwork, testSettings } from './pull-harness.ts';

const C1 = commitId('client');
let d: HubDouble;
let studio: Studio;

beforeAll(async () => {
  d = await startHubDouble();
  studio = await openTestStudio();
});
afterEach(() => d.reset());
afterAll(async () => {
  await studio.close();
  await d.close();
});

const context = (token?: string) => buildHubContext({ settings: testSettings(d), tokens: token === undefined ? {} : { hf: token }, network: testNetwork(d) });

describe('HF client', () => {
  it('lists every page of the tree on the same origin, with the token only on the API host', async () => {
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, pageSize: 1, commits: { [C1]: [{ path: 'a.safetensors', content: Buffer.from('a') }, { path: 'd/b.bin', content: Buffer.from('b'), lfs: false }] } });
    const files = await context(HF_CANARY).hf.client.listFiles({ repo: 'org/m', commit: C1 });
    expect(files.map((f) => [f.path, f.type])).toEqual([
      ['d', 'directory'],
      ['a.safetensors', 'file'],
      ['d/b.bin', 'file'],
    ]);
    expect(d.requestsTo('hub.test').every((r) => r.headers.authorization === `Bearer ${HF_CANARY}`)).toBe(true);
  });

  it('HF-A13 / HF-R08: @huggingface/hub listFiles with our fetch refuses a next page on another origin without contacting it', async () => {
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, pageSize: 1, nextLinkHost: 'evil.test', commits: { [C1]: [{ path: 'a', content: Buffer.from('a') }, { path: 'b', content: Buffer.from('b') }] } });
    const hub = context(HF_CANARY);
    const fetchFn = createSafeFetch({ policy: hub.hf.policy, lookup: d.lookup, ca: d.ca }) as typeof fetch;
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const entry of listFiles({ repo: 'org/m', revision: C1, hubUrl: hub.hf.endpoint, fetch: fetchFn })) seen.push(entry.path);
      })(),
    ).rejects.toMatchObject({ code: 'invalid' });
    expect(seen).toHaveLength(1);
    expect(d.requestsTo('evil.test')).toEqual([]);
  });

  it('parses Link headers', () => {
    expect(parseNextLink('<https://h/a?cursor=2>; rel="next"')).toBe('https://h/a?cursor=2');
    expect(parseNextLink('<https://h/p>; rel="prev", <https://h/n>; rel=next')).toBe('https://h/n');
    expect(parseNextLink(undefined)).toBeUndefined();
  });

  it('whoAmI: the account for a good token, a distinct message for a bad one, never the token', async () => {
    d.route('hub.test', '/api/whoami-v2', (req, res) => {
      const ok = req.headers.authorization === `Bearer ${HF_CANARY}`;
      const text = ok ? JSON.stringify({ type: 'user', name: 'alice', auth: { type: 'access_token', accessToken: { displayName: 't', role: 'read', createdAt: '2026-01-01T00:00:00Z' } } }) : '{"error":"Invalid credentials in Authorization header"}';
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json', 'content-length': String(text.length) });
      res.end(text);
    });
    expect(await context(HF_CANARY).hf.client.whoAmI()).toEqual({ name: 'alice', type: 'user', role: 'read' });
    const bad = `${HF_CANARY}x`;
    const error = await context(bad).hf.client.whoAmI().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'auth-required' });
    expect(String((error as Error).message)).not.toContain(bad);
    await expect(context('not-an-hf-token').hf.client.whoAmI()).rejects.toMatchObject({ code: 'auth-required' });
  });

  it('search sends the query, tags and base model as filters', async () => {
    d.route('hub.test', '/api/models', (_req, res) => {
      const text = JSON.stringify([{ _id: '1', id: 'org/lora', likes: 3, downloads: 10, private: false, gated: false, tags: ['lora', 'base_model:x/y'], lastModified: '2026-01-01T00:00:00.000Z' }]);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(text.length) });
      res.end(text);
    });
    const found = await context().hf.client.search({ query: 'dog', tags: ['lora'], baseModel: 'x/y', sort: 'recent', limit: 5 });
    expect(found[0]).toMatchObject({ id: 'org/lora', downloads: 10, tags: ['lora', 'base_model:x/y'] });
    const query = new URL(d.requestsTo('hub.test').at(-1)?.path ?? '', 'https://x').searchParams;
    expect(query.get('search')).toBe('dog');
    expect(query.getAll('filter')).toEqual(['lora', 'base_model:x/y']);
    expect(query.get('sort')).toBe('lastModified');
  });
});

describe('HF-R08 static check', () => {
  it('no model download goes through @huggingface/hub, and every library call gets our fetch', async () => {
    const root = path.resolve('src');
    const entries = await readdir(root, { recursive: true });
    const users: string[] = [];
    for (const entry of entries.filter((e) => e.endsWith('.ts') && !e.endsWith('.spec.ts'))) {
      const text = await readFile(path.join(root, entry), 'utf8');
      // Any mention of the package: a static import, a type-only one, or a dynamic import().
      if (!/['"]@huggingface\/hub['"]/.test(text)) continue;
      users.push(entry);
      expect(text, entry).not.toMatch(/\b(downloadFile|downloadFileToCacheDir|snapshotDownload|fileDownloadInfo)\b/);
      for (const match of text.matchAll(/(?<!async )\b(listModels|modelInfo|pathsInfo|whoAmI|listFiles|uploadFile|uploadFiles|commit)\((?=\{)/g)) {
        // The argument list, up to its balanced closing parenthesis.
        let depth = 0;
        let end = match.index + match[0].length - 1;
        for (; end < text.length; end += 1) {
          if (text[end] === '(') depth += 1;
          else if (text[end] === ')' && --depth === 0) break;
        }
        expect(text.slice(match.index, end), `${entry}: ${match[1]}`).toMatch(/\bfetch\b/);
      }
    }
    // The check saw the client that uses the library (it would pass vacuously if it missed every file).
    expect(users).toContain(path.join('hub', 'hf', 'hf-client.ts'));
  });
});

describe('ClamAV (when clamscan is on PATH)', () => {
  it('a flagged file is refused as unsafe and nothing is stored; argv only', async () => {
    const bin = await mkdtemp(path.join(tmpdir(), 'lorasmith-clam-'));
    const fake = path.join(bin, 'clamscan');
    const argvLog = path.join(bin, 'argv');
    await writeFile(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > ${argvLog}\necho "$5: Eicar-Test-Signature FOUND"\nexit 1\n`);
    await chmod(fake, 0o755);
    expect(await findClamscan(`/nonexistent:${bin}`)).toBe(fake);
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'a; rm -rf x.safetensors', content: sd1LoraSafetensors() }] } });
    const { error } = await harness(studio, d, { clamscan: fake }).fail('hf:org/m:a; rm -rf x.safetensors');
    expect(error.code).toBe('unsafe');
    expect(error.message).toContain('Eicar-Test-Signature');
    expect(await modelFiles(studio)).toEqual([]);
    const argv = (await readFile(argvLog, 'utf8')).trim().split('\n');
    expect(argv.slice(0, 4)).toEqual(['--no-summary', '--stdout', '--infected', '--']);
    expect(argv[4]).toMatch(/a; rm -rf x\.safetensors\.incomplete$/);
    await writeFile(fake, '#!/bin/sh\nexit 2\n');
    expect((await runClamscan({ clamscan: fake, file: fake })).verdict).toBe('error');
  });
});
