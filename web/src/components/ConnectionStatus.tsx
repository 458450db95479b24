import { useConnectionState, type ConnectionState } from '../events.tsx';

const LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  live: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline — retrying',
};

export function ConnectionStatus() {
  const state = useConnectionState();
  return (
    <span className={`connection connection--${state}`} data-testid="connection-state" data-state={state} role="status">
      <span className="connection__dot" aria-hidden="true" />
      {LABELS[state]}
    </span>
  );
}
