import { useCallback, useEffect, useState } from 'react';
import { request, setUnauthorizedListener, toApiError, type ApiError } from './api.ts';
import { AppHeader } from './components/AppHeader.tsx';
import { ErrorBanner } from './components/ErrorBanner.tsx';
import { Loading } from './components/Loading.tsx';
import { NotPaired } from './components/NotPaired.tsx';
import { SessionProvider } from './session.tsx';
import { Shell } from './Shell.tsx';
import type { Session } from './types.ts';

type Gate =
  | { kind: 'checking' }
  | { kind: 'paired'; session: Session }
  | { kind: 'not-paired'; checking: boolean }
  | { kind: 'error'; error: ApiError };

/** Asks the studio whether this browser holds a session; shows the app only if it does. */
export function App() {
  const [gate, setGate] = useState<Gate>({ kind: 'checking' });

  const check = useCallback(async () => {
    setGate((current) => (current.kind === 'not-paired' ? { kind: 'not-paired', checking: true } : { kind: 'checking' }));
    try {
      // The session's CSRF token matters only to uploads; it stays in memory, in the session context.
      const session = await request<Session>('GET', '/api/session', { quietUnauthorized: true });
      setGate({ kind: 'paired', session });
    } catch (cause) {
      const error = toApiError(cause);
      setGate(error.status === 401 ? { kind: 'not-paired', checking: false } : { kind: 'error', error });
    }
  }, []);

  useEffect(() => {
    void check();
    setUnauthorizedListener(() => setGate({ kind: 'not-paired', checking: false }));
    return () => setUnauthorizedListener(null);
  }, [check]);

  switch (gate.kind) {
    case 'paired':
      return (
        <SessionProvider session={gate.session}>
          <Shell />
        </SessionProvider>
      );
    case 'not-paired':
      return (
        <>
          <AppHeader />
          <NotPaired onCheckAgain={() => void check()} checking={gate.checking} />
        </>
      );
    case 'error':
      return (
        <>
          <AppHeader />
          <main className="gate" data-testid="session-error">
            <div className="gate__card">
              <h1 className="gate__title">Cannot reach the studio</h1>
              <ErrorBanner error={gate.error} onRetry={() => void check()} />
            </div>
          </main>
        </>
      );
    case 'checking':
      return (
        <>
          <AppHeader />
          <main className="gate" data-testid="app-loading">
            <Loading label="Checking this browser's session…" />
          </main>
        </>
      );
  }
}
