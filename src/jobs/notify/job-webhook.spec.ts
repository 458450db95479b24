import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redirectTo, respond } from '../../../test/doubles/hub/behaviours.ts';
import { startHubDouble, type HubDouble } from '../../../test/doubles/hub/hub-double.ts';
import { notificationSettingsSchema } from '../../core/settings.ts';
import { sendJobWebhook, type JobNotice, type NotificationSettings } from './job-webhook.ts';

const CANARY = 'whk_CANARYCANARYCANARY4321';
const notice: JobNotice = { jobId: 'job-1', name: 'dogs-v1', state: 'failed', reason: { code: 'cuda-oom', message: 'CUDA out of memory at step 12.' }, finishedAt: '2026-12-01T00:00:00.000Z' };
let d: HubDouble;

beforeAll(async () => {
  d = await startHubDouble();
});
afterEach(() => d.reset());
afterAll(async () => {
  await d.close();
});

function settings(patch: Partial<NotificationSettings>): NotificationSettings {
  return notificationSettingsSchema.parse(patch);
}

/** mirror.test is the receiver; like every double host it resolves to 127.0.0.1, so it must also be allowed as private. */
const receiver = (): string => `mirror.test:${d.port}`;
const hookUrl = (): string => d.url('mirror.test', `/hooks/${CANARY}?token=${CANARY}`);

function send(url: string, allowed: Partial<NotificationSettings>) {
  return sendJobWebhook({ url, settings: settings(allowed), notice, lookup: d.lookup, ca: d.ca, timeoutMs: 5000 });
}

describe('sendJobWebhook', () => {
  it('POSTs the notice as JSON to an added host, with no credential and nothing of the run but the notice', async () => {
    let body = '';
    d.route('mirror.test', `/hooks/${CANARY}`, async (req, res) => {
      for await (const chunk of req) body += String(chunk);
      res.writeHead(204).end();
    });
    const outcome = await send(hookUrl(), { webhookHosts: [receiver()], webhookPrivateHosts: [receiver()] });
    expect(outcome).toEqual({ delivered: true, status: 204 });
    expect(JSON.parse(body)).toEqual({ event: 'job.failed', job: notice });
    const [request] = d.requestsTo('mirror.test');
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.authorization).toBeUndefined();
  });

  it('refuses a URL whose host was not added (saving the URL adds nothing), and never says its secret path', async () => {
    const none = await send(hookUrl(), {});
    expect(none.error?.code).toBe('webhook-host-not-allowed');
    const other = await send(hookUrl(), { webhookHosts: [`cdn.test:${d.port}`], webhookPrivateHosts: [`cdn.test:${d.port}`] });
    expect(other.delivered).toBe(false);
    expect(other.error?.code).toBe('invalid');
    expect(JSON.stringify([none, other])).not.toContain(CANARY);
    expect(d.requests).toEqual([]);
  });

  it('refuses hosts that resolve to loopback, private or link-local addresses until the user allows that host', async () => {
    d.route('mirror.test', `/hooks/${CANARY}`, respond(204));
    for (const host of ['localhost', 'private.test', 'link-local.test']) {
      const outcome = await send(`https://${host}/hooks/${CANARY}`, { webhookHosts: [host] });
      expect(outcome.error?.code, host).toBe('unsafe');
      expect(JSON.stringify(outcome)).not.toContain(CANARY);
    }
    expect(d.requests).toEqual([]);
    expect((await send(hookUrl(), { webhookHosts: [receiver()] })).delivered).toBe(false);
    expect((await send(hookUrl(), { webhookHosts: [receiver()], webhookPrivateHosts: [receiver()] })).delivered).toBe(true);
  });

  it('does not follow a redirect to a host that was not added', async () => {
    d.route('mirror.test', `/hooks/${CANARY}`, redirectTo(d.url('evil.test', '/collect'), { status: 302 }));
    const outcome = await send(hookUrl(), { webhookHosts: [receiver()], webhookPrivateHosts: [receiver(), `evil.test:${d.port}`] });
    expect(outcome.error?.code).toBe('redirect-refused');
    expect(d.requestsTo('evil.test')).toEqual([]);
  });

  it('reports a receiver error status without retrying', async () => {
    d.route('mirror.test', `/hooks/${CANARY}`, respond(500, { body: 'boom' }));
    const outcome = await send(hookUrl(), { webhookHosts: [receiver()], webhookPrivateHosts: [receiver()] });
    expect(outcome).toMatchObject({ delivered: false, status: 500, error: { code: 'webhook-rejected' } });
    expect(d.requestsTo('mirror.test')).toHaveLength(1);
  });

  describe('plain http', () => {
    let server: http.Server;
    let received = 0;
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        received += 1;
        req.resume();
        req.on('end', () => res.writeHead(200).end('ok'));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('is refused unless the user allowed http, then delivered; an https → http redirect is still refused', async () => {
      const port = (server.address() as AddressInfo).port;
      const url = `http://mirror.test:${port}/hooks/${CANARY}`;
      const hosts = { webhookHosts: [`mirror.test:${port}`, receiver()], webhookPrivateHosts: [`mirror.test:${port}`, receiver()] };
      const refused = await send(url, hosts);
      expect(refused.error?.code).toBe('invalid');
      expect(refused.error?.message).toContain('https only');
      expect(received).toBe(0);
      expect(await send(url, { ...hosts, webhookAllowHttp: true })).toEqual({ delivered: true, status: 200 });
      expect(received).toBe(1);

      d.route('mirror.test', `/hooks/${CANARY}`, redirectTo(url, { status: 307 }));
      const downgrade = await send(hookUrl(), { ...hosts, webhookAllowHttp: true });
      expect(downgrade.error?.code).toBe('redirect-refused');
      expect(received).toBe(1);
    });
  });
});
