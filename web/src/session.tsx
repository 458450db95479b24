/**
 * The paired session as `/api/session` described it. Only uploads need anything from it: their CSRF
 * token, sent back in the X-Lorasmith-Upload header. The token is kept in memory only, never stored.
 */
import { createContext, useContext, type ReactNode } from 'react';
import type { Session } from './types.ts';

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ session, children }: { session: Session; children: ReactNode }) {
  return <SessionContext value={session}>{children}</SessionContext>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession needs a SessionProvider above it');
  return session;
}
