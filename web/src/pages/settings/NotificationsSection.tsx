import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Section } from '../../components/Section.tsx';
import { useAction } from '../../hooks/useAction.ts';
import { useJson } from '../../hooks/useJson.ts';
import type { SecretEntry } from '../../types.ts';
import { SecretRow, type SecretCheck } from './SecretRow.tsx';

interface NotificationSettings {
  webhookHosts: string[];
  webhookAllowHttp: boolean;
  webhookPrivateHosts: string[];
}

interface WebhookDelivery {
  delivered: boolean;
  status?: number;
  error?: { code: string; message: string; hint?: string };
}

const WEBHOOK_PATH = '/api/notifications/webhook';

function lines(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

async function testDelivery(): Promise<SecretCheck> {
  const answer = await api.post<WebhookDelivery>(`${WEBHOOK_PATH}/test`, {});
  if (answer.delivered) return { ok: true, message: `Delivered: the receiver answered HTTP ${answer.status ?? 200}.` };
  return { ok: false, message: answer.error?.message ?? 'Not delivered.', ...(answer.error?.hint ? { hint: answer.error.hint } : {}) };
}

/** The job webhook: its URL is a secret (shown masked); the hosts it may reach are listed separately, by hand. */
export function NotificationsSection() {
  const webhook = useJson<SecretEntry>(WEBHOOK_PATH);
  const settings = useJson<{ notifications: NotificationSettings }>('/api/settings');
  const [hosts, setHosts] = useState('');
  const [privateHosts, setPrivateHosts] = useState('');
  const [allowHttp, setAllowHttp] = useState(false);
  const current = settings.data?.notifications;
  useEffect(() => {
    if (current === undefined) return;
    setHosts(current.webhookHosts.join('\n'));
    setPrivateHosts(current.webhookPrivateHosts.join('\n'));
    setAllowHttp(current.webhookAllowHttp);
  }, [current]);

  const save = useAction(async () => {
    const next = await api.patch<{ notifications: NotificationSettings }>('/api/settings', {
      notifications: { webhookHosts: lines(hosts), webhookPrivateHosts: lines(privateHosts), webhookAllowHttp: allowHttp },
    });
    settings.setData((data) => data && { ...data, notifications: next.notifications });
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void save.run();
  };

  return (
    <Section
      id="notifications"
      title="Notifications"
      description="A webhook called once when a training run ends (succeeded, failed, cancelled or interrupted). Its URL is kept in the secret store and never shown again in full. Saving a URL allows nothing: list each host it may reach — and every host it redirects to — below."
    >
      <ErrorBanner error={webhook.error ?? settings.error} onRetry={() => (webhook.error ? webhook.reload() : settings.reload())} />
      {webhook.data ? (
        <ul className="rows">
          <SecretRow
            secret={webhook.data}
            path={WEBHOOK_PATH}
            noun="webhook URL"
            check={{ label: 'Send test', pendingLabel: 'Sending…', run: testDelivery }}
            onChange={(entry) => webhook.setData(entry)}
            onDeleted={webhook.reload}
          />
        </ul>
      ) : webhook.error ? null : (
        <Loading />
      )}
      {current ? (
        <form className="stack" onSubmit={onSubmit} aria-label="Webhook hosts" data-testid="webhook-hosts-form">
          <label className="notify-field">
            <span className="label">Allowed hosts (one per line: host or host:port)</span>
            <textarea className="input textarea" rows={3} value={hosts} onChange={(e) => setHosts(e.target.value)} spellCheck={false} data-testid="webhook-hosts" />
          </label>
          <label className="notify-field">
            <span className="label">Hosts allowed on a private, loopback or link-local address (exact names)</span>
            <textarea className="input textarea" rows={2} value={privateHosts} onChange={(e) => setPrivateHosts(e.target.value)} spellCheck={false} data-testid="webhook-private-hosts" />
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={allowHttp} onChange={(e) => setAllowHttp(e.target.checked)} data-testid="webhook-allow-http" />
            <span>Allow plain http (the notice then travels unencrypted)</span>
          </label>
          <div>
            <button type="submit" className="button button--small" disabled={save.pending} data-testid="webhook-hosts-save">
              {save.pending ? 'Saving…' : 'Save hosts'}
            </button>
          </div>
          <ErrorBanner error={save.error} onDismiss={save.clearError} />
        </form>
      ) : null}
    </Section>
  );
}
