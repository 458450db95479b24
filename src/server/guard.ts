/**
 * The request guard, one `onRequest` hook in front of every route (WEB-R02, R03, R04, R05, R07):
 * upgrades refused; Host checked against the allowlist; cross-origin mutations and cross-site reads
 * refused; JSON-only bodies on /api; then the credential: the session cookie (with the page's checks)
 * or a bearer token (install secret or named token). Every refusal is a security event.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { digestsEqual, sha256Hex } from '../access/credentials.ts';
import type { SecurityEventKind } from '../access/security-events.ts';
import type { Studio } from '../studio/studio.ts';
import type { AuthFailureRecorder } from './auth-backoff.ts';
import { readCookie } from './cookies.ts';
import type { StudioOrigins } from './origins.ts';
import type { RequestAuth } from './request-auth.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD']);

export interface GuardParams {
  studio: Studio;
  origins: StudioOrigins;
  cookieName: string;
  recordAuthFailure: AuthFailureRecorder;
}

interface Refusal {
  status: number;
  code: string;
  message: string;
  hint: string;
  event: SecurityEventKind;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function pathOf(url: string): string {
  const index = url.indexOf('?');
  return index === -1 ? url : url.slice(0, index);
}

function hasBody(request: FastifyRequest): boolean {
  const length = header(request, 'content-length');
  return (length !== undefined && length !== '0') || header(request, 'transfer-encoding') !== undefined;
}

/** `application/json` with optional parameters; the upload chunk route alone takes octet-stream. */
function contentTypeAllowed(request: FastifyRequest, path: string): boolean {
  const type = header(request, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type === undefined) return !hasBody(request);
  if (type === 'application/json') return true;
  return type === 'application/octet-stream' && request.method === 'PUT' && /^\/api\/uploads\/[^/]+$/.test(path);
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function createGuard(params: GuardParams) {
  const { studio, origins, cookieName, recordAuthFailure } = params;

  async function refuse(request: FastifyRequest, reply: FastifyReply, refusal: Refusal): Promise<FastifyReply> {
    await studio.securityEvents.record(refusal.event, `${request.method} ${pathOf(request.url)}: ${refusal.message}`, request.ip);
    return reply.code(refusal.status).send({ error: { code: refusal.code, message: refusal.message, hint: refusal.hint } });
  }

  async function authFailure(request: FastifyRequest, reply: FastifyReply, message: string): Promise<FastifyReply> {
    const { retryAfterSeconds } = await recordAuthFailure(`${request.method} ${pathOf(request.url)}: ${message}`, request.ip);
    const limited = retryAfterSeconds > 0;
    if (limited) reply.header('retry-after', String(retryAfterSeconds));
    return reply.code(limited ? 429 : 401).send({
      error: limited
        ? { code: 'rate-limited', message: 'Too many failed sign-in attempts.', hint: `Wait ${retryAfterSeconds} s, then pair again with \`lorasmith pair\`.` }
        : { code: 'unauthenticated', message, hint: 'Open the URL printed by `lorasmith pair`, or send the API secret as a bearer token.' },
    });
  }

  async function bearerAuth(token: string): Promise<RequestAuth | null> {
    const digest = sha256Hex(token);
    const install = await studio.apiSecret.current();
    if (install !== null && digestsEqual(digest, install)) return { kind: 'bearer', tokenName: 'install', key: 'token:install', apiSecret: true };
    // Lookup by digest: the digest of a 256-bit random value leaks nothing usable through timing.
    const name = await studio.tokens.authenticate(digest);
    return name === null ? null : { kind: 'bearer', tokenName: name, key: `token:${name}`, apiSecret: false };
  }

  return async function guard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    request.auth = null;
    const path = pathOf(request.url);

    if (header(request, 'upgrade') !== undefined) {
      return refuse(request, reply, {
        status: 403, code: 'upgrade-refused', event: 'upgrade-refused',
        message: 'The studio has no WebSocket endpoints.', hint: 'Live updates are served as Server-Sent Events under /api.',
      });
    }

    const host = header(request, 'host')?.toLowerCase();
    if (host === undefined || !origins.hosts.has(host)) {
      return refuse(request, reply, {
        status: 403, code: 'host-refused', event: 'host-refused',
        message: `Requests for host ${JSON.stringify(host ?? '')} are not served.`,
        hint: `Open the studio at ${origins.baseUrl}.`,
      });
    }

    const cookieSecret = readCookie(header(request, 'cookie'), cookieName);
    const authorization = header(request, 'authorization');
    const bearer = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : null;
    // A request that carries the cookie gets the page's checks, even if it also sends a token (WEB-R07).
    const pageRules = cookieSecret !== null || bearer === null;
    const origin = header(request, 'origin');
    const fetchSite = header(request, 'sec-fetch-site');
    const safe = SAFE_METHODS.has(request.method);
    const isApi = path === '/api' || path.startsWith('/api/');

    if (pageRules) {
      if (!safe && (origin === undefined || !origins.origins.has(origin) || fetchSite !== 'same-origin')) {
        return refuse(request, reply, {
          status: 403, code: 'origin-refused', event: 'origin-refused',
          message: `A ${request.method} request from ${origin ?? 'an unknown origin'} (Sec-Fetch-Site: ${fetchSite ?? 'absent'}) was refused.`,
          hint: 'Changes can be made only from the studio’s own page, or with a bearer token.',
        });
      }
      if (safe && origin !== undefined && !origins.origins.has(origin)) {
        return refuse(request, reply, {
          status: 403, code: 'origin-refused', event: 'origin-refused',
          message: `A read from ${origin} was refused.`, hint: 'Other sites cannot read from the studio.',
        });
      }
      const crossSite = fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none';
      const cookieApiRead = isApi && cookieSecret !== null && fetchSite !== 'same-origin';
      if (safe && (crossSite || cookieApiRead)) {
        return refuse(request, reply, {
          status: 403, code: 'origin-refused', event: 'origin-refused',
          message: `A read with Sec-Fetch-Site: ${fetchSite ?? 'absent'} was refused.`,
          hint: 'Open the studio at its own address; other pages and ports cannot use its session.',
        });
      }
    }

    if (!isApi) return undefined;

    if (!safe && !contentTypeAllowed(request, path)) {
      return refuse(request, reply, {
        status: 415, code: 'content-type-refused', event: 'content-type-refused',
        message: `Content-Type ${JSON.stringify(header(request, 'content-type') ?? '')} is not accepted here.`,
        hint: 'Send JSON with Content-Type: application/json.',
      });
    }

    let auth: RequestAuth | null = null;
    if (cookieSecret !== null) {
      const session = await studio.sessions.authenticate(cookieSecret);
      if (session === null) return authFailure(request, reply, 'The session has expired or was revoked.');
      auth = { kind: 'session', session, key: `session:${session.id}` };
    } else if (bearer !== null) {
      auth = await bearerAuth(bearer);
      if (auth === null) return authFailure(request, reply, 'The bearer token is not valid.');
    } else {
      // No credential presented is not a guess: no backoff, no event (every unpaired page load asks once).
      return reply.code(401).send({
        error: { code: 'unauthenticated', message: 'This request carries no credentials.', hint: 'Open the URL printed by `lorasmith pair`, or send the API secret as a bearer token.' },
      });
    }

    if (auth.kind === 'session' && path.startsWith('/api/uploads')) {
      const csrf = header(request, 'x-lorasmith-upload');
      if (csrf === undefined || !sameString(csrf, auth.session.csrfToken)) {
        return refuse(request, reply, {
          status: 403, code: 'csrf-refused', event: 'csrf-refused',
          message: 'Upload requests need the X-Lorasmith-Upload header of this session.',
          hint: 'Reload the studio page and upload again.',
        });
      }
    }

    request.auth = auth;
    return undefined;
  };
}
