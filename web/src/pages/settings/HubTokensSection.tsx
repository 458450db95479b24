import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Section } from '../../components/Section.tsx';
import { useJson } from '../../hooks/useJson.ts';
import type { SecretEntry } from '../../types.ts';
import { SecretRow } from './SecretRow.tsx';

export function HubTokensSection() {
  const { data, error, reload, setData } = useJson<{ secrets: SecretEntry[] }>('/api/secrets');

  const replace = (entry: SecretEntry) =>
    setData((current) => current && { secrets: current.secrets.map((s) => (s.name === entry.name ? entry : s)) });

  return (
    <Section
      id="hub-tokens"
      title="Hub tokens"
      description="Access tokens for Hugging Face and Civitai. They are stored in the workspace's secret store, sent only to their own hub, and never shown again in full."
    >
      <ErrorBanner error={error} onRetry={reload} />
      {data ? (
        <ul className="rows">
          {data.secrets.map((secret) => (
            <SecretRow key={secret.name} secret={secret} onChange={replace} onDeleted={reload} />
          ))}
        </ul>
      ) : error ? null : (
        <Loading />
      )}
    </Section>
  );
}
