/**
 * The job webhook over HTTP (LOG-R05): the URL is a secret — masked in every answer, absent from logs and files
 * other than the secret store — and a test delivery reaches only a host the user added.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubDouble, type HubDouble } from '../doubles/hub/hub-double.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

const CANARY = 'whk_CANARYCANARYCANARY9876';
let d: HubDouble;
let studio: TestStudio;
let cookie: string;
const bodies: string[] = [];

beforeAll(async () => {
  d = await startHubDouble();
  studio = await startTestStudio({ hubNetwork: { lookup: d.lookup, ca: d.ca } });
  cookie = await studio.pair();
});
afterAll(async () => {
  await studio.stop();
  await d.close();
});

function call(method: string, route: string, body?: unknown) {
  return studio.asPage(
    {
      path: route,
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    },
    cookie,
  );
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

describe('job webhook API', () => {
  it('saves the URL masked, refuses delivery until its host is added, then delivers; the canary stays in the secret store', async () => {
    d.route('mirror.test', `/hooks/${CANARY}`, async (req, res) => {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      bodies.push(body);
      res.writeHead(200).end('{}');
    });
    const url = d.url('mirror.test', `/hooks/${CANARY}?secret=${CANARY}`);
    const saved = await call('PUT', '/api/notifications/webhook', { value: url });
    expect(saved.status).toBe(200);
    expect(saved.json()).toMatchObject({ name: 'webhook', present: true, masked: `https://mirror.test:${d.port}/…`, source: 'store' });

    const refused = await call('POST', '/api/notifications/webhook/test');
    expect(refused.json()).toMatchObject({ delivered: false, error: { code: 'webhook-host-not-allowed' } });
    expect(d.requests).toEqual([]);

    const host = `mirror.test:${d.port}`;
    const patched = await call('PATCH', '/api/settings', { notifications: { webhookHosts: [host] } });
    expect(patched.status).toBe(200);
    // The double lives on 127.0.0.1 on a port other than 443: both need the user's explicit allowance too.
    expect((await call('POST', '/api/notifications/webhook/test')).json()).toMatchObject({ delivered: false, error: { code: 'invalid' } });
    expect(d.requests).toEqual([]);
    await call('PATCH', '/api/settings', { notifications: { webhookPrivateHosts: [host] } });
    expect((await call('POST', '/api/notifications/webhook/test')).json()).toEqual({ delivered: true, status: 200 });
    expect(JSON.parse(bodies[0] ?? '{}')).toMatchObject({ event: 'job.succeeded', job: { jobId: 'test', state: 'succeeded' } });

    const answers = [saved.body, refused.body, (await call('GET', '/api/notifications/webhook')).body, (await call('GET', '/api/settings')).body, (await call('GET', '/api/secrets')).body];
    for (const answer of answers) expect(answer).not.toContain(CANARY);
    expect(studio.logLines.join('\n')).not.toContain(CANARY);
    for (const file of await filesUnder(studio.home)) {
      if (path.basename(file) === 'secrets.json') continue;
      expect((await readFile(file)).includes(CANARY), file).toBe(false);
    }
  });

  it('refuses a URL that is not http(s), and removing the webhook leaves none', async () => {
    const bad = await call('PUT', '/api/notifications/webhook', { value: 'ftp://mirror.test/x' });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'webhook-invalid' } });
    expect((await call('DELETE', '/api/notifications/webhook')).json()).toMatchObject({ present: false, masked: null });
    expect((await call('POST', '/api/notifications/webhook/test')).json()).toMatchObject({ delivered: false, error: { code: 'webhook-not-set' } });
  });
});
