import { api, apiPath, sessionEnded } from '../../api.ts';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { ACTIONS, DataTable } from '../../components/DataTable.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Section } from '../../components/Section.tsx';
import { Time } from '../../components/Time.tsx';
import { useAction } from '../../hooks/useAction.ts';
import { useJson } from '../../hooks/useJson.ts';
import type { BrowserSession } from '../../types.ts';

export function SessionsSection() {
  const { data, error, reload } = useJson<{ sessions: BrowserSession[] }>('/api/sessions');
  const revoke = useAction(async (session: BrowserSession) => {
    await api.delete(apiPath('/api/sessions', session.id));
    if (session.current) sessionEnded();
    else reload();
  });

  return (
    <Section
      id="sessions"
      title="Browser sessions"
      description={
        <>
          Browsers paired with this studio. Revoking a session signs that browser out at once; pair again with{' '}
          <code>lorasmith pair</code>.
        </>
      }
    >
      <ErrorBanner error={error ?? revoke.error} onRetry={error ? reload : undefined} onDismiss={error ? undefined : revoke.clearError} />
      {data ? (
        <DataTable columns={['Browser', 'Activity', ACTIONS]} testId="sessions-list">
          {data.sessions.map((session) => (
            <tr key={session.id} data-testid={`session-row-${session.id}`} data-current={session.current}>
              <td className="table__wrap">
                {session.userAgent ?? <span className="muted">unknown browser</span>}
                {session.current ? <span className="badge badge--ok badge--inline">this browser</span> : null}
                <div className="table__sub muted">
                  paired <Time iso={session.createdAt} />
                </div>
              </td>
              <td className="nowrap">
                <div>
                  last seen <Time iso={session.lastSeenAt} />
                </div>
                <div className="table__sub muted">
                  expires <Time iso={session.expiresAt} />
                </div>
              </td>
              <td className="table__actions">
                <ConfirmButton
                  label="Revoke"
                  question={session.current ? 'Sign this browser out?' : 'Revoke this session?'}
                  onConfirm={() => void revoke.run(session)}
                  disabled={revoke.pending}
                  testId={`session-revoke-${session.id}`}
                />
              </td>
            </tr>
          ))}
        </DataTable>
      ) : error ? null : (
        <Loading />
      )}
    </Section>
  );
}
