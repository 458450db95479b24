/**
 * The optional job webhook (issue: Jobs, point 5; LOG-R05): one JSON POST when a run ends. The URL is a secret
 * (secret store `webhook`, shown masked), and delivery goes through the same checked request chain as downloads
 * (hub/safe-fetch.ts: manual redirects re-checked on every hop, the resolved address checked and pinned), under a
 * policy made only of the hosts the user added in settings. Saving a URL adds no host.
 */
import { LorasmithError } from '../../core/errors.ts';
import { redactString, registerSecret } from '../../core/redact.ts';
import type { SecretStore, SecretSummary } from '../../core/secret-store.ts';
import type { Settings } from '../../core/settings.ts';
import { parseHostEntry, type ProviderPolicy } from '../../hub/url-policy.ts';
import type { JobRecord } from '../job-types.ts';
import { safeFetch, type LookupFn, type SafeFetchFn, type TlsCa } from '../../hub/safe-fetch.ts';

export type NotificationSettings = Settings['notifications'];

/** What the webhook receives: no config, no paths, no secrets. */
export interface JobNotice {
  jobId: string;
  name: string;
  state: 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
  /** Why it did not succeed (the job's failure code and message), when it did not. */
  reason?: { code: string; message: string };
  finishedAt: string;
}

/** The notice for a job that reached a final state. */
export function jobNotice(job: JobRecord): JobNotice {
  const state = job.state === 'succeeded' || job.state === 'failed' || job.state === 'cancelled' ? job.state : 'interrupted';
  return {
    jobId: job.id,
    name: job.name,
    state,
    ...(job.failure === null ? {} : { reason: { code: job.failure.code, message: job.failure.message } }),
    finishedAt: job.finishedAt ?? new Date().toISOString(),
  };
}

export interface WebhookDelivery {
  delivered: boolean;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Why it was not delivered (a LorasmithError code and message; never the URL). */
  error?: { code: string; message: string; hint?: string };
}

export interface WebhookTransport {
  fetch?: SafeFetchFn;
  lookup?: LookupFn;
  ca?: TlsCa;
  timeoutMs?: number;
}

const MAX_ANSWER_BYTES = 64 * 1024;

/** With http allowed, an entry without a port (port 443) also admits port 80. */
function withHttpPorts(entries: readonly string[], allowHttp: boolean): string[] {
  if (!allowHttp) return [...entries];
  const withoutPort = entries.filter((entry) => !/^(\[[^\]]*\]|[^:[\]]+):\d{1,5}$/.test(entry));
  return [...entries, ...withoutPort.map((entry) => `${entry}:80`)];
}

/** The request policy for webhook deliveries: exactly the user's hosts; private addresses only where allowed. */
export function webhookPolicy(settings: NotificationSettings): ProviderPolicy {
  const hosts = withHttpPorts(settings.webhookHosts, settings.webhookAllowHttp);
  const privateHosts = withHttpPorts(settings.webhookPrivateHosts, settings.webhookAllowHttp);
  for (const entry of [...hosts, ...privateHosts]) parseHostEntry(entry);
  return { name: 'webhook', apiHosts: hosts, redirectHosts: hosts, exemptHosts: privateHosts, allowHttp: settings.webhookAllowHttp };
}

/**
 * Refusal messages name the URL as host + path (safe for download URLs); a webhook's path and query are the
 * secret part, so they are registered with the redactor and cut from every message here.
 */
function scrubberFor(rawUrl: string): (text: string) => string {
  let secretParts: string[] = [];
  try {
    const url = new URL(rawUrl);
    secretParts = [url.pathname, url.search].filter((part) => part.length > 1);
  } catch {
    // Not a URL: the request is refused before anything is sent, and the raw value is registered below.
  }
  registerSecret(rawUrl);
  for (const part of secretParts) registerSecret(part);
  return (text) => secretParts.reduce((out, part) => out.split(part).join('/…'), redactString(text));
}

function notDelivered(error: unknown, scrub: (text: string) => string): WebhookDelivery {
  if (error instanceof LorasmithError) {
    return { delivered: false, error: { code: error.code, message: scrub(error.message), ...(error.hint === undefined ? {} : { hint: scrub(error.hint) }) } };
  }
  return { delivered: false, error: { code: 'webhook-failed', message: 'The webhook could not be delivered.' } };
}

/** POST one notice to `url` under the settings' policy. Never throws: the outcome says what happened. */
export async function sendJobWebhook(params: { url: string; settings: NotificationSettings; notice: JobNotice } & WebhookTransport): Promise<WebhookDelivery> {
  const scrub = scrubberFor(params.url);
  const timeoutMs = params.timeoutMs ?? 10_000;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    if (params.settings.webhookHosts.length === 0) {
      throw new LorasmithError({
        code: 'webhook-host-not-allowed',
        message: 'No webhook host is allowed yet, so the webhook was not called.',
        hint: 'Add the webhook’s host under Settings → Notifications (saving the URL does not add it).',
      });
    }
    const response = await (params.fetch ?? safeFetch)({
      url: params.url,
      policy: webhookPolicy(params.settings),
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event: `job.${params.notice.state}`, job: params.notice }),
      credential: null,
      signal,
      connectTimeoutMs: timeoutMs,
      idleTimeoutMs: timeoutMs,
      ...(params.lookup === undefined ? {} : { lookup: params.lookup }),
      ...(params.ca === undefined ? {} : { ca: params.ca }),
    });
    // Drain a little of the answer so the connection closes cleanly; its content is not used.
    let read = 0;
    for await (const chunk of response.body) {
      read += (chunk as Buffer).length;
      if (read > MAX_ANSWER_BYTES) break;
    }
    response.dispose();
    if (response.status >= 200 && response.status < 300) return { delivered: true, status: response.status };
    return {
      delivered: false,
      status: response.status,
      error: { code: 'webhook-rejected', message: `The webhook receiver answered HTTP ${response.status}.`, hint: 'Check the receiver; lorasmith does not retry.' },
    };
  } catch (error) {
    return notDelivered(error, scrub);
  }
}

/** Send the notice when a webhook URL is saved; `null` when none is. */
export async function notifyJobFinished(params: { secrets: SecretStore; settings: NotificationSettings; notice: JobNotice } & WebhookTransport): Promise<WebhookDelivery | null> {
  const url = await params.secrets.get('webhook');
  if (url === null) return null;
  return sendJobWebhook({ ...params, url });
}

/** The studio's view of the webhook: the saved URL (masked), its check on saving, deliveries and the test call. */
export class JobNotifier {
  readonly #secrets: SecretStore;
  readonly #settings: () => Promise<NotificationSettings>;
  readonly #transport: WebhookTransport;

  constructor(params: { secrets: SecretStore; settings: () => Promise<NotificationSettings>; transport?: WebhookTransport }) {
    this.#secrets = params.secrets;
    this.#settings = params.settings;
    this.#transport = params.transport ?? {};
  }

  async webhook(): Promise<SecretSummary> {
    return this.#secrets.summary('webhook');
  }

  /** Save the URL (a secret). Refuses what is not an http(s) URL; it does not add the URL's host anywhere. */
  async setWebhook(url: string): Promise<SecretSummary> {
    let parsed: URL;
    try {
      parsed = new URL(url.trim());
    } catch {
      throw new LorasmithError({ code: 'webhook-invalid', message: 'The webhook URL is not a valid URL.', hint: 'Paste the whole https://… address the receiving service gave you.' });
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new LorasmithError({ code: 'webhook-invalid', message: `A webhook URL must be https (or http where you allow it), not ${parsed.protocol}.`, hint: 'Use the https://… address of the receiving service.' });
    }
    return this.#secrets.set('webhook', url.trim());
  }

  async removeWebhook(): Promise<SecretSummary> {
    return this.#secrets.delete('webhook');
  }

  /** Tell the webhook (if one is saved) that a job ended. Never throws. */
  async jobFinished(notice: JobNotice): Promise<WebhookDelivery | null> {
    return notifyJobFinished({ secrets: this.#secrets, settings: await this.#settings(), notice, ...this.#transport });
  }

  /** A test delivery from the Settings page. */
  async test(now: Date = new Date()): Promise<WebhookDelivery> {
    const delivery = await this.jobFinished({ jobId: 'test', name: 'lorasmith webhook test', state: 'succeeded', finishedAt: now.toISOString() });
    return delivery ?? { delivered: false, error: { code: 'webhook-not-set', message: 'No webhook URL is saved.', hint: 'Save the receiver’s URL first.' } };
  }
}
