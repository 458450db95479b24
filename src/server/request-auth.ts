import type { ActiveSession } from '../access/sessions.ts';

/** Who is asking: the browser through its session cookie, or a script / the CLI through a bearer token. */
export type RequestAuth =
  | { kind: 'session'; session: ActiveSession; key: string }
  | {
      kind: 'bearer';
      tokenName: string;
      key: string;
      /**
       * The install's API secret (the local CLI's credential) rather than a named token: a named token may be
       * called "install" too, so the name does not say which.
       */
      apiSecret: boolean;
    };

declare module 'fastify' {
  interface FastifyRequest {
    auth: RequestAuth | null;
  }
}

/** The auth of a request that passed the guard; routes under /api can rely on it. */
export function requireAuth(auth: RequestAuth | null): RequestAuth {
  if (auth === null) throw new Error('route reached without authentication: guard misconfigured');
  return auth;
}

/** A stable owner key for per-client resources (uploads, rate limits): session id or token name. */
export function ownerKey(auth: RequestAuth): string {
  return auth.key;
}
