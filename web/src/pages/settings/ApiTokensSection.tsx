import { useState, type FormEvent } from 'react';
import { api, apiPath } from '../../api.ts';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { ACTIONS, DataTable } from '../../components/DataTable.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Section } from '../../components/Section.tsx';
import { TextField } from '../../components/TextField.tsx';
import { Time } from '../../components/Time.tsx';
import { useAction } from '../../hooks/useAction.ts';
import { useJson } from '../../hooks/useJson.ts';
import type { ApiToken, CreatedToken } from '../../types.ts';
import { CreatedTokenBox } from './CreatedTokenBox.tsx';

export function ApiTokensSection() {
  const { data, error, reload } = useJson<{ tokens: ApiToken[] }>('/api/tokens');
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedToken | null>(null);

  const create = useAction(async (tokenName: string) => {
    setCreated(await api.post<CreatedToken>('/api/tokens', { name: tokenName }));
    setName('');
    reload();
  });
  const remove = useAction(async (tokenName: string) => {
    await api.delete(apiPath('/api/tokens', tokenName));
    if (created?.name === tokenName) setCreated(null);
    reload();
  });

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (trimmed !== '') void create.run(trimmed);
  };

  return (
    <Section
      id="api-tokens"
      title="API tokens"
      description={
        <>
          Named bearer tokens for scripts (<code>lorasmith token create NAME</code> does the same). The install
          secret the CLI uses is managed with <code>lorasmith token rotate</code>.
        </>
      }
    >
      <form className="inline-form" onSubmit={onSubmit}>
        <TextField
          id="token-name"
          label="New token name"
          labelClassName="label"
          className="input"
          value={name}
          onChange={setName}
          required
          maxLength={64}
          placeholder="e.g. ci-runner"
          testId="token-name"
        />
        <button type="submit" className="button button--small" disabled={create.pending} data-testid="token-create">
          {create.pending ? 'Creating…' : 'Create token'}
        </button>
      </form>
      <ErrorBanner error={create.error} onDismiss={create.clearError} />
      {created ? <CreatedTokenBox created={created} onDone={() => setCreated(null)} /> : null}

      <ErrorBanner error={error ?? remove.error} onRetry={error ? reload : undefined} onDismiss={error ? undefined : remove.clearError} />
      {data ? (
        data.tokens.length === 0 ? (
          <p className="muted" data-testid="tokens-empty">
            No API tokens yet.
          </p>
        ) : (
          <DataTable columns={['Name', 'Created', 'Last used', ACTIONS]} testId="tokens-list">
            {data.tokens.map((token) => (
              <tr key={token.name} data-testid={`token-row-${token.name}`}>
                <td className="mono">{token.name}</td>
                <td>
                  <Time iso={token.createdAt} />
                </td>
                <td>{token.lastUsedAt ? <Time iso={token.lastUsedAt} /> : <span className="muted">never</span>}</td>
                <td className="table__actions">
                  <ConfirmButton
                    label="Delete"
                    question={`Delete token ${token.name}?`}
                    onConfirm={() => void remove.run(token.name)}
                    disabled={remove.pending}
                    testId={`token-delete-${token.name}`}
                  />
                </td>
              </tr>
            ))}
          </DataTable>
        )
      ) : error ? null : (
        <Loading />
      )}
    </Section>
  );
}
