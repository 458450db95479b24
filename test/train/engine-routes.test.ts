/**
 * GET /api/engines and PUT /api/engines/:engine/location on a real studio over HTTP: detection as the CLI does
 * it, engine locations that must be absolute and exist, the generic settings patch that cannot set them, and
 * an exposed studio that refuses them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KOHYA_PINNED_COMMIT } from '../../src/training/engines/detect/index.ts';
import { rawRequest } from '../helpers/http.ts';
import { makeHome, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { fakeMachine, fakeSdScripts, fakeVenv } from './engine-fakes.ts';

interface EnginesBody {
  gpus: { mode: string };
  engines: Array<{ engine: string; installed: boolean; root: string | null; python: string; commit: string | null; torch: unknown; sources: { root: string; python: string }; problems: string[] }>;
  settings: { kohyaRoot: string | null; kohyaPython: string | null; fluxflowPython: string | null };
  locationsEditable: boolean;
}

let root: string;
let studio: TestStudio;
let kohya: { root: string; python: string };
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lorasmith-engine-routes-'));
  await fakeMachine(root);
  kohya = {
    root: await fakeSdScripts(path.join(root, 'opt', 'sd-scripts'), KOHYA_PINNED_COMMIT),
    python: await fakeVenv(root, path.join(root, 'opt', 'venv'), ['torch-2.7.1-cu126.txt']),
  };
  studio = await startTestStudio();
});
afterAll(async () => {
  await studio.stop();
  await rm(root, { recursive: true, force: true });
});

const put = (engine: string, body: unknown) => studio.asBearer({ path: `/api/engines/${engine}/location`, method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('engines API', () => {
  it('GET /api/engines: both engines, where they would be, what is missing and how to fix it', async () => {
    const response = await studio.asBearer({ path: '/api/engines' });
    expect(response.status).toBe(200);
    const body = response.json<EnginesBody>();
    expect(body).toMatchObject({ settings: { kohyaRoot: null, kohyaPython: null, fluxflowPython: null }, locationsEditable: true });
    expect(body.engines.map((engine) => [engine.engine, engine.installed, engine.sources.python])).toEqual([
      ['kohya', false, 'workspace'],
      ['fluxflow', false, 'workspace'],
    ]);
    expect(body.engines[0]?.root).toBe(path.join(studio.home, 'engines', 'kohya', 'sd-scripts'));
    expect(body.engines[0]?.problems.join('\n')).toContain('lorasmith engine install kohya');
    expect(body.engines[0]).not.toHaveProperty('gpus');
  });

  it('a location set from the page is checked, stored, and then what detection uses', async () => {
    const cookie = await studio.pair();
    const set = await studio.asPage({ path: '/api/engines/kohya/location', method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(kohya) }, cookie);
    expect(set.status).toBe(200);
    expect(set.json()).toEqual({ engines: { kohyaRoot: kohya.root, kohyaPython: kohya.python, fluxflowPython: null } });
    const detected = (await studio.asBearer({ path: '/api/engines/kohya' })).json<EnginesBody>();
    expect(detected.engines).toHaveLength(1);
    expect(detected.engines[0]).toMatchObject({ installed: true, root: kohya.root, python: kohya.python, commit: KOHYA_PINNED_COMMIT, torch: { version: '2.7.1+cu126', cuda: '12.6' }, sources: { root: 'settings', python: 'settings' } });
    // The settings section shows it too; null clears one path and leaves the other.
    expect((await studio.asBearer({ path: '/api/settings' })).json<{ engines: unknown }>().engines).toEqual({ kohyaRoot: kohya.root, kohyaPython: kohya.python, fluxflowPython: null });
    expect((await put('kohya', { root: null })).json()).toEqual({ engines: { kohyaRoot: null, kohyaPython: kohya.python, fluxflowPython: null } });
    expect((await put('kohya', { python: null })).status).toBe(200);
  });

  it('refuses relative, missing and wrong-kind paths, a FluxFlow root, unknown keys, and engines in the generic settings patch', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['kohya', { root: 'opt/sd-scripts' }, 'engine-location-invalid'],
      ['kohya', { root: `${kohya.root}/../sd-scripts` }, 'engine-location-invalid'],
      ['kohya', { root: path.join(root, 'nope') }, 'engine-location-invalid'],
      ['kohya', { python: kohya.root }, 'engine-location-invalid'],
      ['kohya', { root: path.join(kohya.root, 'train_network.py') }, 'engine-location-invalid'],
      ['fluxflow', { root: kohya.root }, 'engine-location-invalid'],
    ];
    for (const [engine, body, code] of cases) {
      const response = await put(engine, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.json<{ error: { code: string; hint: string } }>().error, JSON.stringify(body)).toMatchObject({ code, hint: expect.any(String) });
    }
    expect((await put('kohya', { root: kohya.root, extra: 1 })).status).toBe(400);
    expect((await put('comfy', { python: kohya.python })).status).toBe(400);
    const patched = await studio.asBearer({ path: '/api/settings', method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ engines: { kohyaRoot: kohya.root } }) });
    expect(patched.status).toBe(400);
    expect((await studio.asBearer({ path: '/api/settings' })).json<{ engines: { kohyaRoot: string | null } }>().engines.kohyaRoot).toBeNull();
  });
});

describe('an exposed studio', () => {
  it('shows the engines but refuses to change where they are', async () => {
    const home = await makeHome();
    const key = path.join(home, 'key.pem');
    const cert = path.join(home, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=studio.lan', '-addext', 'subjectAltName=DNS:studio.lan'], { stdio: 'ignore' });
    const exposed = await startTestStudio({ home, expose: true, tlsCert: cert, tlsKey: key, publicNames: ['studio.lan'] });
    try {
      const ca = await readFile(cert);
      const base = `https://studio.lan:${exposed.running.port}`;
      const headers = { authorization: `Bearer ${await exposed.apiSecret()}` };
      const listed = await rawRequest({ url: `${base}/api/engines`, connectHost: '127.0.0.1', ca, headers });
      expect(listed.json<EnginesBody>().locationsEditable).toBe(false);
      const refused = await rawRequest({ url: `${base}/api/engines/kohya/location`, method: 'PUT', connectHost: '127.0.0.1', ca, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(kohya) });
      expect(refused.status).toBe(403);
      expect(refused.json<{ error: { code: string; hint: string } }>().error).toMatchObject({ code: 'engine-location-local-only', hint: expect.stringContaining('lorasmith engine set kohya') });
    } finally {
      await exposed.stop();
    }
  });
});
