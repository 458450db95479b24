import { DataTable } from '../../components/DataTable.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Section } from '../../components/Section.tsx';
import { Time } from '../../components/Time.tsx';
import { useStudioEvent } from '../../events.tsx';
import { useJson } from '../../hooks/useJson.ts';
import type { SecurityEvent } from '../../types.ts';

const LIMIT = 100;

/** Newest first, without duplicates (an event may arrive both in the list and on the live stream). */
function merge(incoming: SecurityEvent, events: SecurityEvent[]): SecurityEvent[] {
  return [incoming, ...events.filter((e) => e.id !== incoming.id)].sort((a, b) => b.id - a.id).slice(0, LIMIT);
}

export function SecurityEventsSection() {
  const { data, error, reload, setData } = useJson<{ events: SecurityEvent[] }>(`/api/security-events?limit=${LIMIT}`);

  useStudioEvent('security', (event) => {
    setData((current) => current && { events: merge(event, current.events) });
  });

  return (
    <Section
      id="security-events"
      title="Security events"
      description="Refused requests, pairings, token changes and other security-relevant events, newest first. Updates live."
    >
      <ErrorBanner error={error} onRetry={reload} />
      {data ? (
        <DataTable
          columns={['Time', 'Event', 'Detail', 'Remote']}
          testId="security-events"
          empty={data.events.length === 0 ? 'No security events recorded.' : null}
        >
          {[...data.events]
            .sort((a, b) => b.id - a.id)
            .map((event) => (
              <tr key={event.id} data-testid={`security-event-${event.id}`}>
                <td className="nowrap">
                  <Time iso={event.at} withSeconds />
                </td>
                <td>
                  <span className="badge badge--neutral mono">{event.kind}</span>
                </td>
                <td className="table__wrap">{event.detail}</td>
                <td className="mono">{event.remote ?? '—'}</td>
              </tr>
            ))}
        </DataTable>
      ) : error ? null : (
        <Loading />
      )}
    </Section>
  );
}
