/**
 * One request chain under a provider policy (DL-R02, DL-R03, DL-R04, DL-R11, LOG-R04).
 *
 * Every hop is our own `node:https` request: redirects are followed here (≤ 5), each `Location` resolved
 * against the current URL and re-checked against the provider's redirect allowlist (no `http`, on exempt
 * hosts neither); the host name is resolved before connecting, refused when any answer is loopback,
 * private, link-local, CGNAT, multicast or unspecified (unless the host is exempt), and the socket is
 * pinned to the checked address by a lookup that returns it (no second DNS query), while TLS verifies the
 * certificate for the host name. The provider credential goes only to its origins, never after the chain
 * has left its first origin, and never with a URL whose query carries it; `Authorization`, `Cookie` and
 * `Proxy-Authorization` from callers are never forwarded. `Accept-Encoding: identity` is always sent and
 * an encoded answer refused.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { LorasmithError } from '../core/errors.ts';
import { registerSecret, urlForLog } from '../core/redact.ts';
import { LORASMITH_VERSION } from '../core/version.ts';
import { isPublicAddress } from './address-policy.ts';
import { hubError } from './hub-error.ts';
import { checkUrl, type CheckedUrl, type ProviderCredential, type ProviderPolicy, type UrlRole } from './url-policy.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** DNS resolution, injectable for tests: every address of a name, in the resolver's order. */
export type LookupFn = (hostname: string) => Promise<ResolvedAddress[]>;

export type TlsCa = string | Buffer | Array<string | Buffer>;

export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Response headers a caller may need; everything else (`Set-Cookie` above all) is dropped. */
const KEPT_RESPONSE_HEADERS = [
  'accept-ranges',
  'cache-control',
  'content-encoding',
  'content-length',
  'content-range',
  'content-type',
  'etag',
  'last-modified',
  'link',
  'location',
  'ratelimit',
  'ratelimit-policy',
  'retry-after',
  'x-error-code',
  'x-error-message',
  'x-linked-etag',
  'x-linked-size',
  'x-repo-commit',
  'x-xet-hash',
] as const;

/** Request headers that survive a cross-origin hop; everything else stays with its first origin. */
const CROSS_ORIGIN_SAFE_HEADERS = new Set(['accept', 'accept-language', 'user-agent', 'range', 'if-range', 'content-type']);
/** Request headers a caller may never set: credentials (only the policy's, by origin) and framing. */
const FORBIDDEN_REQUEST_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'host',
  'accept-encoding',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'proxy-connection',
]);

export interface SafeFetchParams {
  url: string | URL;
  policy: ProviderPolicy;
  /** Allowlist of the first URL: `api` (default) or `redirect` (a URL the caller got from a response). */
  role?: UrlRole;
  method?: string;
  /** Extra request headers; credentials and framing headers are dropped (see FORBIDDEN_REQUEST_HEADERS). */
  headers?: Record<string, string>;
  /** A replayable body (kept on 307/308) or a stream (a 307/308 after it is refused). */
  body?: string | Uint8Array | Readable;
  /** `follow` (default): checked redirects; `manual`: the first 3xx is returned; `error`: a 3xx throws. */
  redirect?: 'follow' | 'manual' | 'error';
  /** At most MAX_REDIRECTS. */
  maxRedirects?: number;
  /** The credential for this chain; default the policy's. `null` sends none. */
  credential?: ProviderCredential | null;
  signal?: AbortSignal;
  lookup?: LookupFn;
  /** Replaces Node's CA store (tests); default the system store (NODE_EXTRA_CA_CERTS extends it). */
  ca?: TlsCa;
  /** Until the TLS handshake is done. Default 30 s. */
  connectTimeoutMs?: number;
  /** No byte for this long, while waiting for headers or body → `network`. Default 60 s. */
  idleTimeoutMs?: number;
}

export interface SafeHop {
  status: number;
  /** Scheme, host and path only (LOG-R02). */
  urlForLog: string;
  /** The kept headers of that redirect answer (X-Linked-Etag, X-Linked-Size, X-Repo-Commit, Link …), without Location. */
  headers: Readonly<Record<string, string>>;
}

export interface SafeResponse {
  status: number;
  /** Lower-case names, only KEPT_RESPONSE_HEADERS. */
  headers: Readonly<Record<string, string>>;
  /** The final URL, query included: for this process only, never logged or stored. */
  url: URL;
  urlForLog: string;
  /** The redirects that led here, in order. */
  redirects: SafeHop[];
  /** Whether the final request carried the credential. */
  credentialSent: boolean;
  /** The response body (empty for HEAD); errors with a `network` LorasmithError on a stall. */
  body: Readable;
  /** Stop reading and close the connection. */
  dispose(): void;
}

export type SafeFetchFn = (params: SafeFetchParams) => Promise<SafeResponse>;

export const defaultLookup: LookupFn = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => ({ address: answer.address, family: answer.family === 6 ? 6 : 4 }));
};

/** Normalise an error met while reading a body into a typed one (LOG-R03). */
export function transferError(error: unknown, signal?: AbortSignal): LorasmithError {
  if (signal?.aborted === true) return cancelled();
  if (error instanceof LorasmithError) return error;
  return hubError({
    code: 'network',
    message: 'The connection broke off during the transfer.',
    hint: 'Check the network and try again; the download resumes where it stopped.',
    details: { errno: errnoOf(error) },
  });
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function cancelled(): LorasmithError {
  return hubError({ code: 'cancelled', message: 'The download was cancelled.' });
}

function errnoOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

const TLS_ERRNO = /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|EPROTO/;

function connectionError(error: unknown, checked: CheckedUrl, signal: AbortSignal | undefined): LorasmithError {
  if (signal?.aborted === true) return cancelled();
  if (error instanceof LorasmithError) return error;
  const errno = errnoOf(error);
  if (errno !== undefined && TLS_ERRNO.test(errno)) {
    return hubError({
      code: 'unsafe',
      message: `The TLS certificate of ${checked.hostname} could not be verified.`,
      hint: 'lorasmith only talks to servers with a valid certificate for their name.',
      details: { rule: 'DL-R03', host: checked.hostname, errno },
    });
  }
  return hubError({
    code: 'network',
    message: `Could not reach ${checked.hostname}.`,
    hint: 'Check the network connection and try again.',
    details: { host: checked.hostname, errno },
  });
}

function credentialToken(credential: ProviderCredential): string {
  const value = credential.value.trim();
  const space = value.indexOf(' ');
  return space === -1 ? value : value.slice(space + 1).trim();
}

/** DL-R04: a token never travels in a URL, wherever the URL came from. */
function assertNoCredentialInUrl(checked: CheckedUrl, credential: ProviderCredential | undefined): void {
  if (credential === undefined) return;
  const token = credentialToken(credential);
  if (token.length < 8) return;
  const query = checked.url.search;
  let decoded = query;
  try {
    decoded = decodeURIComponent(query.replace(/\+/g, ' '));
  } catch {
    // Keep the raw query: a broken escape cannot hide the token from the raw comparison.
  }
  if (query.includes(token) || decoded.includes(token) || checked.url.pathname.includes(token)) {
    throw hubError({
      code: 'unsafe',
      message: `A request to ${checked.hostname} would carry the access token in its URL; it was not sent.`,
      hint: 'Tokens are only ever sent in the Authorization header.',
      details: { rule: 'DL-R04', host: checked.hostname },
    });
  }
}

async function resolveChecked(checked: CheckedUrl, lookup: LookupFn, hop: number): Promise<ResolvedAddress> {
  const literal = isIP(checked.hostname);
  if (literal !== 0) return { address: checked.hostname, family: literal === 6 ? 6 : 4 };
  let answers: ResolvedAddress[];
  try {
    answers = await lookup(checked.hostname);
  } catch (error) {
    throw hubError({
      code: 'network',
      message: `Could not resolve ${checked.hostname}.`,
      hint: 'Check the network connection and the DNS settings.',
      details: { host: checked.hostname, errno: errnoOf(error) },
    });
  }
  const first = answers[0];
  if (first === undefined) {
    throw hubError({ code: 'network', message: `${checked.hostname} has no address.`, details: { host: checked.hostname } });
  }
  if (!checked.exempt) {
    const refused = answers.find((answer) => !isPublicAddress(answer.address));
    if (refused !== undefined) {
      throw hubError({
        code: hop === 0 ? 'unsafe' : 'redirect-refused',
        message: `${checked.hostname} resolves to a loopback, private or link-local address; lorasmith does not connect there.`,
        hint: 'Only a configured endpoint (LORASMITH_HF_ENDPOINT, LORASMITH_CIVITAI_ENDPOINT) may be on a local address.',
        details: { rule: 'DL-R03', host: checked.hostname },
      });
    }
  }
  return first;
}

function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  const lookup = (
    _hostname: string,
    options: { all?: boolean },
    callback: (error: Error | null, address: string | Array<{ address: string; family: number }>, family?: number) => void,
  ): void => {
    if (options.all === true) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };
  return lookup as unknown as LookupFunction;
}

function pickHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of KEPT_RESPONSE_HEADERS) {
    const value = res.headers[name];
    if (typeof value === 'string') out[name] = value;
    else if (Array.isArray(value)) out[name] = value.join(', ');
  }
  return out;
}

interface HopRequest {
  checked: CheckedUrl;
  method: string;
  headers: Record<string, string>;
  body: string | Uint8Array | Readable | undefined;
  hop: number;
}

interface TransportOptions {
  lookup: LookupFn;
  ca: TlsCa | undefined;
  signal: AbortSignal | undefined;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
}

async function requestHop(request: HopRequest, transport: TransportOptions): Promise<IncomingMessage> {
  const { checked } = request;
  if (transport.signal?.aborted === true) throw cancelled();
  const pinned = await resolveChecked(checked, transport.lookup, request.hop);
  if (isAborted(transport.signal)) throw cancelled();

  return await new Promise<IncomingMessage>((resolve, reject) => {
    let response: IncomingMessage | undefined;
    let settled = false;
    const fail = (error: LorasmithError): void => {
      if (response !== undefined) response.destroy(error);
      else req.destroy(error);
    };
    // Plain http only reaches here under a policy the user opened to it (ProviderPolicy.allowHttp).
    const plain = checked.url.protocol === 'http:';
    const tls = plain
      ? {}
      : {
          ...(isIP(checked.hostname) === 0 ? { servername: checked.hostname } : {}),
          ...(transport.ca === undefined ? {} : { ca: transport.ca }),
          rejectUnauthorized: true,
          minVersion: 'TLSv1.2' as const,
        };
    const req = (plain ? http : https).request({
      protocol: plain ? 'http:' : 'https:',
      hostname: checked.hostname,
      port: checked.port,
      path: `${checked.url.pathname}${checked.url.search}`,
      method: request.method,
      headers: request.headers,
      agent: false,
      lookup: pinnedLookup(pinned),
      family: pinned.family,
      ...tls,
      ...(transport.signal === undefined ? {} : { signal: transport.signal }),
    });
    const connectTimer = setTimeout(() => {
      fail(hubError({ code: 'network', message: `Connecting to ${checked.hostname} timed out.`, details: { host: checked.hostname } }));
    }, transport.connectTimeoutMs);
    req.once('socket', (socket) => {
      if (plain) socket.once('connect', () => clearTimeout(connectTimer));
      else (socket as TLSSocket).once('secureConnect', () => clearTimeout(connectTimer));
      socket.setTimeout(transport.idleTimeoutMs);
      socket.on('timeout', () => {
        fail(
          hubError({
            code: 'network',
            message: `${checked.hostname} stopped sending data for ${Math.round(transport.idleTimeoutMs / 1000)} s.`,
            hint: 'Try again later; the download resumes where it stopped.',
            details: { host: checked.hostname, reason: 'stall' },
          }),
        );
      });
      socket.once('close', () => clearTimeout(connectTimer));
    });
    req.once('response', (res) => {
      response = res;
      settled = true;
      clearTimeout(connectTimer);
      resolve(res);
    });
    req.once('error', (error) => {
      clearTimeout(connectTimer);
      if (!settled) {
        settled = true;
        reject(connectionError(error, checked, transport.signal));
      }
    });
    const body = request.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
    else {
      body.once('error', (error) => req.destroy(error));
      body.pipe(req);
    }
  });
}

function sanitiseHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (FORBIDDEN_REQUEST_HEADERS.has(lower) || lower.startsWith('proxy-')) continue;
    if (/[\r\n\0]/.test(value)) continue;
    out[lower] = value;
  }
  return out;
}

/**
 * Fetch one URL under a provider policy, following redirects under the same policy. Returns the final
 * response with its body unread; throws a `LorasmithError` (`invalid`, `redirect-refused`, `unsafe`,
 * `unsupported`, `network`, `cancelled`).
 */
export async function safeFetch(params: SafeFetchParams): Promise<SafeResponse> {
  const policy = params.policy;
  const credential = params.credential === null ? undefined : (params.credential ?? policy.credential);
  if (credential !== undefined) {
    registerSecret(credential.value);
    registerSecret(credentialToken(credential));
  }
  const maxRedirects = Math.min(params.maxRedirects ?? MAX_REDIRECTS, MAX_REDIRECTS);
  const transport: TransportOptions = {
    lookup: params.lookup ?? defaultLookup,
    ca: params.ca,
    signal: params.signal,
    connectTimeoutMs: params.connectTimeoutMs ?? 30_000,
    idleTimeoutMs: params.idleTimeoutMs ?? 60_000,
  };

  let checked = checkUrl({ url: params.url, policy, role: params.role ?? 'api' });
  const firstOrigin = checked.origin;
  let method = (params.method ?? 'GET').toUpperCase();
  let body = params.body;
  let headers = sanitiseHeaders(params.headers);
  if (body !== undefined && (typeof body === 'string' || body instanceof Uint8Array)) {
    headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
  } else if (params.headers !== undefined) {
    const length = Object.entries(params.headers).find(([name]) => name.toLowerCase() === 'content-length')?.[1];
    if (length !== undefined && /^\d+$/.test(length)) headers['content-length'] = length;
  }
  let leftFirstOrigin = false;
  const redirects: SafeHop[] = [];
  const seen = new Set<string>([checked.href]);

  for (let hop = 0; ; hop += 1) {
    assertNoCredentialInUrl(checked, credential);
    const sendCredential = credential !== undefined && !leftFirstOrigin && credential.origins.includes(checked.origin);
    const hopHeaders: Record<string, string> = {
      'user-agent': `lorasmith/${LORASMITH_VERSION}`,
      ...headers,
      'accept-encoding': 'identity',
      ...(sendCredential ? { authorization: credential.value } : {}),
    };
    const res = await requestHop({ checked, method, headers: hopHeaders, body, hop }, transport);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;

    if (REDIRECT_STATUSES.has(status) && typeof location === 'string' && params.redirect !== 'manual') {
      const redirectHeaders = pickHeaders(res);
      delete redirectHeaders.location;
      res.destroy();
      if (params.redirect === 'error') {
        throw hubError({
          code: 'redirect-refused',
          message: `${checked.hostname} answered with a redirect where none was expected.`,
          details: { rule: 'DL-R02', host: checked.hostname, status },
        });
      }
      redirects.push({ status, urlForLog: urlForLog(checked.url), headers: redirectHeaders });
      if (redirects.length > maxRedirects) {
        throw hubError({
          code: 'redirect-refused',
          message: `More than ${maxRedirects} redirects, starting at ${urlForLog(params.url)}; lorasmith stopped following them.`,
          details: { rule: 'DL-R02', redirects: redirects.length },
        });
      }
      const next = checkUrl({ url: location, base: checked.url, policy, role: 'redirect', refusalCode: 'redirect-refused' });
      if (seen.has(next.href)) {
        throw hubError({
          code: 'redirect-refused',
          message: `${next.hostname} redirected in a loop (${urlForLog(next.url)}).`,
          details: { rule: 'DL-R02', host: next.hostname },
        });
      }
      seen.add(next.href);
      if (next.origin !== firstOrigin || next.origin !== checked.origin) {
        leftFirstOrigin = true;
        headers = Object.fromEntries(Object.entries(headers).filter(([name]) => CROSS_ORIGIN_SAFE_HEADERS.has(name) || name === 'content-length'));
      }
      if (status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST') {
        method = 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('content-')));
      } else if (body !== undefined && !(typeof body === 'string' || body instanceof Uint8Array)) {
        throw hubError({
          code: 'redirect-refused',
          message: `${checked.hostname} redirected a streamed upload; it cannot be sent again.`,
          details: { rule: 'DL-R02', host: checked.hostname, status },
        });
      }
      checked = next;
      continue;
    }

    const picked = pickHeaders(res);
    const encoding = picked['content-encoding']?.trim().toLowerCase();
    if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
      res.destroy();
      throw hubError({
        code: 'unsupported',
        message: `${checked.hostname} sent an encoded answer (${encoding.slice(0, 20)}) although lorasmith asked for identity.`,
        hint: 'Encoded transfers cannot be size-checked or resumed; try again later or report the mirror.',
        details: { rule: 'DL-R11', host: checked.hostname },
      });
    }
    if (!REDIRECT_STATUSES.has(status)) delete picked.location;
    return {
      status,
      headers: picked,
      url: checked.url,
      urlForLog: urlForLog(checked.url),
      redirects,
      credentialSent: sendCredential,
      body: res,
      dispose: () => res.destroy(),
    };
  }
}
