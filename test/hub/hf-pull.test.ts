/** Pulling from the Hugging Face protocol on the hub double (HF-R02..R09, HF-A*, DL-R05..R09). */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawSafetensors } from '../../src/formats/safetensors/testing.ts';
import type { Studio } from '../../src/studio/studio.ts';
import { redirectTo, serveBytes, sha256Hex, testBytes } from '../doubles/hub/behaviours.ts';
import type { HubDouble } from '../doubles/hub/hub-double.ts';
import { commitId, installHfRepo } from '../doubles/hub/hf-protocol.ts';
import { maliciousPickle, sd1LoraVariant } from '../helpers/model-files.ts';
import { downloadsLeft, harness, HF_CANARY, hubTestContext, modelFiles, expectNothingStored } from './pull-harness.ts';

const C1 = commitId('c1');
const C2 = commitId('c2');
let d: HubDouble;
let studio: Studio;

hubTestContext((started) => ({ d, studio } = started));

describe('hf: pull of one LFS file', () => {
  it('resolves the revision to a commit, follows the 302 to the CDN, verifies lfs.oid and stores under hf/<owner>--<name>/<commit>/', async () => {
    const body = sd1LoraVariant('one');
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'loras/sks.safetensors', content: body }] } });
    const h = harness(studio, d, { tokens: { hf: HF_CANARY } });
    const { result, states } = await h.pull('hf:org/m:loras/sks.safetensors');
    expect(result.state).toBe('stored');
    expect(result.revision).toBe(C1);
    expect(result.files[0]).toMatchObject({ name: 'sks.safetensors', verifiedBy: ['sha256'], size: body.length });
    expect(states).toEqual(['fetching', 'verifying', 'scanning', 'stored']);
    const model = result.models[0];
    expect(model?.source.provenance).toMatchObject({ repo: 'org/m', commit: C1, path: 'loras/sks.safetensors', sha256: sha256Hex(body), size: body.length, verified: true });
    expect(await modelFiles(studio)).toEqual([path.join('lora', 'hf', 'org--m', C1, 'sks.safetensors')]);
    expect(await downloadsLeft(studio)).toEqual([]);
    // The download went by commit, never by branch name.
    expect(d.requestsTo('hub.test').some((r) => r.path.startsWith(`/org/m/resolve/${C1}/loras/sks.safetensors`))).toBe(true);
    expect(d.requestsTo('hub.test').some((r) => r.path.includes('/resolve/main/'))).toBe(false);
  });

  it('the canary token is sent only to the API host, never to the CDN and never in a URL (HF-A06, DL-R04)', async () => {
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'a.safetensors', content: sd1LoraVariant('canary') }] } });
    await harness(studio, d, { tokens: { hf: HF_CANARY } }).pull('hf:org/m:a.safetensors');
    expect(d.requestsTo('cdn.test').length).toBeGreaterThan(0);
    for (const request of d.requests) {
      expect(request.path).not.toContain(HF_CANARY);
      const auth = request.headers.authorization;
      if (request.host === 'hub.test') expect(auth).toBe(`Bearer ${HF_CANARY}`);
      else {
        expect(auth).toBeUndefined();
        expect(request.headers.cookie).toBeUndefined();
        expect(request.headers['proxy-authorization']).toBeUndefined();
      }
    }
    const rows = JSON.stringify(await studio.db.selectFrom('models').selectAll().execute());
    expect(rows).not.toContain(HF_CANARY);
  });

  it('a branch moved between listing and download still yields the listed commit’s bytes (HF-R02)', async () => {
    const old = sd1LoraVariant('old');
    const moved = sd1LoraVariant('moved');
    const control = installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'x.safetensors', content: old }], [C2]: [{ path: 'x.safetensors', content: moved }] } });
    d.route('hub.test', `/api/models/org/m/paths-info/${C1}`, async (req, res) => {
      control.moveRef('main', C2);
      const chunks: Buffer[] = [];
      for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
      const text = JSON.stringify([{ type: 'file', path: 'x.safetensors', size: 134, oid: commitId('p'), lfs: { oid: sha256Hex(old), size: old.length, pointerSize: 134 } }]);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(text.length) });
      res.end(text);
    });
    const { result } = await harness(studio, d).pull('hf:org/m@main:x.safetensors');
    expect(result.revision).toBe(C1);
    const stored = await readFile(await studio.library.fileOf(result.models[0]?.id ?? ''));
    expect(stored.equals(old)).toBe(true);
  });

  it('HF-A07: the CDN serves other bytes of the same size → integrity, quarantine emptied, nothing stored', async () => {
    const good = sd1LoraVariant('a7');
    const bad = Buffer.from(good);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'x.safetensors', content: good, serve: serveBytes(bad) }] } });
    const { error, states } = await harness(studio, d).fail('hf:org/m:x.safetensors');
    expect(error.code).toBe('integrity');
    expect(error.exitCode).toBe(1);
    expect(states.at(-1)).toBe('failed');
    await expectNothingStored(studio);
  });

  it('HF-A02: a 302 to an off-list host is refused before connecting; nothing written, token not sent', async () => {
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'x.safetensors', content: sd1LoraVariant('a2') }] } });
    d.route('hub.test', `/org/m/resolve/${C1}/x.safetensors`, redirectTo(() => d.url('evil.test', '/file')));
    const { error } = await harness(studio, d, { tokens: { hf: HF_CANARY } }).fail('hf:org/m:x.safetensors');
    expect(error.code).toBe('redirect-refused');
    expect(d.requestsTo('evil.test')).toEqual([]);
    await expectNothingStored(studio);
  });

  it('HF-R09: a Xet 302 is followed by its Location only; the Link targets are never requested', async () => {
    const body = sd1LoraVariant('xet');
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'x.safetensors', content: body, xet: true }] } });
    const { result } = await harness(studio, d, { tokens: { hf: HF_CANARY } }).pull('hf:org/m:x.safetensors');
    expect(result.state).toBe('stored');
    expect(d.requestsTo('evil.test')).toEqual([]);
  });

  it('HF-R07: a repo path with "#" and "?" is encoded per segment and the right file arrives', async () => {
    const body = sd1LoraVariant('hash');
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'dir/a#b?c.safetensors', content: body }, { path: 'dir/a', content: sd1LoraVariant('decoy') }] } });
    const { result } = await harness(studio, d).pull('hf:org/m:dir/a#b?c.safetensors');
    expect(result.files[0]?.sha256).toBe(sha256Hex(body));
    expect(d.requestsTo('hub.test').some((r) => r.path === `/org/m/resolve/${C1}/dir/a%23b%3Fc.safetensors`)).toBe(true);
  });

  it('HF-R03: a non-LFS file is verified by its git blob id and stored without a confirmation step', async () => {
    const body = sd1LoraVariant('small');
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'small.safetensors', content: body, lfs: false }] } });
    const { result } = await harness(studio, d).pull('hf:org/m:small.safetensors');
    expect(result.state).toBe('stored');
    expect(result.files[0]?.verifiedBy).toEqual(['git-sha1']);
    expect(result.models[0]?.source.provenance).toMatchObject({ verified: true, verifiedBy: 'git-sha1' });
  });

  it('HF-R03: the same non-LFS entry with one byte changed → integrity', async () => {
    const body = sd1LoraVariant('small2');
    const changed = Buffer.from(body);
    changed[changed.length - 1] = (changed[changed.length - 1] ?? 0) ^ 1;
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 's.safetensors', content: body, lfs: false, serve: serveBytes(changed) }] } });
    expect((await harness(studio, d).fail('hf:org/m:s.safetensors')).error.code).toBe('integrity');
    await expectNothingStored(studio);
  });

  it('resume after truncation ends in a verified library file (DL-R07)', async () => {
    const body = Buffer.concat([sd1LoraVariant('resume'), Buffer.alloc(0)]);
    const sha = sha256Hex(body);
    let served = 0;
    installHfRepo(d, {
      repo: 'org/m',
      refs: { main: C1 },
      commits: {
        [C1]: [
          {
            path: 'r.safetensors',
            content: body,
            serve: (req, res, ctx) => {
              served += 1;
              const handler = ctx.count === 0 ? serveBytes(body, { etag: '"e1"', truncateAt: Math.floor(body.length / 2) }) : serveBytes(body, { etag: '"e1"' });
              return handler(req, res, ctx);
            },
          },
        ],
      },
    });
    const { result } = await harness(studio, d).pull('hf:org/m:r.safetensors');
    expect(served).toBe(2);
    expect(result.files[0]).toMatchObject({ sha256: sha, verifiedBy: ['sha256'] });
    expect(result.files[0]?.resumedFrom).toBeGreaterThan(0);
    const ranged = d.requestsTo('cdn.test').at(-1);
    expect(ranged?.headers.range).toMatch(/^bytes=\d+-$/);
    expect(ranged?.headers['if-range']).toBe('"e1"');
    expect(createHash('sha256').update(await readFile(await studio.library.fileOf(result.models[0]?.id ?? ''))).digest('hex')).toBe(sha);
  });
});

describe('hf: hostile content', () => {
  it('a malicious pickle .ckpt → refused as unsafe, nothing in models/', async () => {
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'evil.ckpt', content: Buffer.from(maliciousPickle()) }] } });
    const { error } = await harness(studio, d).fail('hf:org/m:evil.ckpt');
    expect(error.code).toBe('unsafe');
    expect(error.exitCode).toBe(1);
    await expectNothingStored(studio);
    expect(JSON.stringify(await studio.securityEvents.list(5))).toContain('evil.ckpt');
  });

  it('a malformed safetensors → invalid', async () => {
    const bogus = rawSafetensors({ header: '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,99]}}', data: 8 });
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'bad.safetensors', content: bogus }] } });
    const { error } = await harness(studio, d).fail('hf:org/m:bad.safetensors');
    expect(error.code).toBe('invalid');
    await expectNothingStored(studio);
  });

  it('HTML served as a model (a login page) → invalid, never kept', async () => {
    const html = Buffer.from('<!DOCTYPE html><html><body>Please log in</body></html>');
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'x.safetensors', content: html }] } });
    const { error } = await harness(studio, d).fail('hf:org/m:x.safetensors');
    expect(error.code).toBe('invalid');
    expect(error.message).toContain('HTML');
    await expectNothingStored(studio);
  });

  it('HF-A10: traversal paths in the listing are refused before any fs call', async () => {
    for (const hostile of ['../../.bashrc', '/etc/x', 'a\\..\\..\\x', 'C:\\x', 'C:x', '\\\\host\\share\\x', 'a/./b', 'a//b']) {
      d.reset();
      installHfRepo(d, {
        repo: 'org/m',
        refs: { main: C1 },
        commits: { [C1]: [{ path: 'dir/ok.safetensors', content: sd1LoraVariant('ok') }] },
        extraTreeEntries: [{ type: 'file', path: hostile, size: 3, oid: commitId(hostile) }],
      });
      const { error } = await harness(studio, d).fail('hf:org/m:dir/');
      expect(error.code, hostile).toBe('invalid');
      expect(error.details?.rule, hostile).toBe('HF-R04');
      await expectNothingStored(studio);
    }
  });

  it('HF-R05: a Link next page on another origin fails the listing; that origin is never contacted', async () => {
    installHfRepo(d, {
      repo: 'org/m',
      refs: { main: C1 },
      pageSize: 1,
      nextLinkHost: 'evil.test',
      commits: { [C1]: [{ path: 'd/a.safetensors', content: sd1LoraVariant('p1') }, { path: 'd/b.safetensors', content: sd1LoraVariant('p2') }] },
    });
    const { error } = await harness(studio, d, { tokens: { hf: HF_CANARY } }).fail('hf:org/m:d/');
    expect(error.code).toBe('redirect-refused');
    expect(error.details?.rule).toBe('HF-R05');
    expect(d.requestsTo('evil.test')).toEqual([]);
    await expectNothingStored(studio);
  });
});

describe('hf: refusals with their messages (HF-R06)', () => {
  const cases: Array<{ name: string; status: number; headers?: Record<string, string>; body?: string; token?: boolean; code: string; text: RegExp }> = [
    { name: 'gated, not logged in', status: 401, headers: { 'x-error-code': 'GatedRepo' }, code: 'gated', text: /log in and accept its licence/ },
    { name: 'gated, not approved', status: 403, headers: { 'x-error-code': 'GatedRepo' }, token: true, code: 'gated', text: /not been granted/ },
    { name: 'bad token', status: 401, headers: { 'content-type': 'application/json' }, body: '{"error":"Invalid credentials in Authorization header"}', token: true, code: 'auth-required', text: /refused the token/ },
    { name: 'private, no token', status: 401, headers: { 'x-error-code': 'RepoNotFound' }, code: 'auth-required', text: /private and needs a login/ },
    { name: 'private, token without access', status: 404, headers: { 'x-error-code': 'RepoNotFound' }, token: true, code: 'not-found', text: /this token cannot read it/ },
    { name: 'no read scope', status: 403, token: true, code: 'forbidden', text: /lacks read permission/ },
    { name: 'disabled', status: 403, headers: { 'x-error-message': 'Access to this resource is disabled.' }, code: 'forbidden', text: /disabled/ },
    { name: 'rate-limited', status: 429, headers: { 'retry-after': '1' }, code: 'rate-limited', text: /too many requests/ },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.code}`, async () => {
      installHfRepo(d, {
        repo: 'org/m',
        refs: { main: C1 },
        commits: { [C1]: [{ path: 'x.safetensors', content: sd1LoraVariant(c.name) }] },
        access: () => ({ status: c.status, ...(c.headers === undefined ? {} : { headers: c.headers }), ...(c.body === undefined ? {} : { body: c.body }) }),
      });
      const { error } = await harness(studio, d, c.token === true ? { tokens: { hf: HF_CANARY } } : {}).fail('hf:org/m:x.safetensors');
      expect(error.code).toBe(c.code);
      expect(error.message).toMatch(c.text);
      expect(error.message).not.toContain(HF_CANARY);
      expect(error.exitCode).toBe(c.code === 'rate-limited' ? 2 : 1);
      // Auth refusals are not retried; a 429 is retried a bounded number of times (1 + 3).
      expect(d.requestsTo('hub.test').length).toBe(c.status === 429 ? 4 : 1);
      await expectNothingStored(studio);
    });
  }
});

// Multi-file pulls (one library entry per pull): multi-file-pull.test.ts.

describe('hf: disk and cancel', () => {
  it('not enough free disk → disk-full before any transfer', async () => {
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'x.safetensors', content: sd1LoraVariant('disk') }] } });
    const { error } = await harness(studio, d, { freeBytes: async () => 10 }).fail('hf:org/m:x.safetensors');
    expect(error.code).toBe('disk-full');
    expect(error.exitCode).toBe(2);
    expect(d.requestsTo('cdn.test')).toEqual([]);
    await expectNothingStored(studio);
  });

  it('cancel mid-transfer leaves nothing', async () => {
    const body = testBytes(400_000, 9);
    body.writeBigUInt64LE(8n, 0);
    installHfRepo(d, { repo: 'org/m', refs: { main: C1 }, commits: { [C1]: [{ path: 'slow.safetensors', content: body, serve: serveBytes(body, { dripChunk: 4096, dripIntervalMs: 10 }) }] } });
    const controller = new AbortController();
    const h = harness(studio, d);
    setTimeout(() => controller.abort(), 300);
    await expect(h.pull('hf:org/m:slow.safetensors', { signal: controller.signal })).rejects.toMatchObject({ code: 'cancelled' });
    await expectNothingStored(studio);
  });
});
