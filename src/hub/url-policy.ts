/**
 * URL and host checks for every remote request (DL-R01, DL-R10).
 *
 * A URL is accepted only when: the raw string has no `\`, whitespace or control character and no `@` or
 * `%` in its authority; the WHATWG parser reads it as `https` with no userinfo; its host is a plain DNS
 * name (lower-cased, trailing dot removed, IDN in ASCII form) that an allowlist entry names exactly or as
 * a suffix on a label boundary; its port is absent or 443. IP literals, other ports and (in safe-fetch)
 * loopback or private addresses are allowed only for the provider's exempt hosts: the configured endpoint
 * and its configured extra redirect hosts, matched as whole `host:port` origins. Never `http`, except under a
 * policy the user opened to it explicitly (`allowHttp`: job webhooks, LOG-R05), and then never after https.
 *
 * Allowlist entries: `"host"` (exactly that host, port 443), `"host:port"`, `".suffix.tld"` or
 * `"*.suffix.tld"` (any host strictly below `suffix.tld`, port 443), or an anchored RegExp (`^…$`, port 443).
 */
import { domainToASCII } from 'node:url';
import { isIP } from 'node:net';
import { hubError, type DownloadReason } from './hub-error.ts';
import { urlForLog } from '../core/redact.ts';

export type ProviderName = 'hf' | 'civitai' | 'url' | 'webhook';

export interface ProviderCredential {
  header: 'authorization';
  /** The whole header value, e.g. `Bearer hf_…`. */
  value: string;
  /** Origins (`https://host[:port]`) that may receive it; never a redirect target on another origin. */
  origins: string[];
}

export interface ProviderPolicy {
  name: ProviderName;
  /** Hosts the first request of a chain may go to (API and download routes). */
  apiHosts: string[];
  /** Hosts a redirect may lead to (the API hosts are always included). */
  redirectHosts: Array<string | RegExp>;
  /** Loopback, private addresses, IP literals and other ports are allowed only for these `host[:port]`. */
  exemptHosts: string[];
  credential?: ProviderCredential;
  /**
   * Plain `http` URLs are accepted too (port 80 by default). Only for a destination the user allowed http for
   * explicitly (a job webhook); the hub policies never set it. A redirect from https to http is still refused.
   */
  allowHttp?: boolean;
}

export type UrlRole = 'api' | 'redirect';

export interface CheckedUrl {
  /** Normalised: lower-case ASCII host without trailing dot, no userinfo, no fragment. */
  url: URL;
  /** The re-serialised form, the only one passed on to other components (DL-R10). */
  href: string;
  /** Host name as used for DNS, SNI and the Host header (IPv6 without brackets). */
  hostname: string;
  port: number;
  /** `https://host[:port]` as the WHATWG parser serialises it. */
  origin: string;
  /** True for the configured endpoint hosts of DL-R01: no address rule (DL-R03) applies. */
  exempt: boolean;
}

export interface CheckUrlParams {
  /** A raw string (user input, a `Location` value) or an already parsed URL. */
  url: string | URL;
  policy: ProviderPolicy;
  /** `api`: the first request of a chain; `redirect`: a `Location` target. Default `api`. */
  role?: UrlRole;
  /** Resolve a relative reference (a `Location`) against this URL. */
  base?: URL;
  /** Reason code of a refusal; default `invalid` (a redirect chain uses `redirect-refused`). */
  refusalCode?: DownloadReason;
}

interface HostEntry {
  host: string;
  port: number;
  suffix: boolean;
}

const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f-\u00a0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]/;
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function refuse(code: DownloadReason, raw: string, reason: string, rule = 'DL-R01'): Error {
  return hubError({
    code,
    message: `The URL ${describe(raw)} was refused: ${reason}.`,
    hint:
      code === 'redirect-refused'
        ? 'The server redirected somewhere lorasmith does not download from; nothing was fetched there.'
        : 'Use an https URL on a host the provider settings allow.',
    details: { rule, reason },
  });
}

/** A raw URL for messages: host and path only when it parses, else a short quoted prefix. */
function describe(raw: string): string {
  const logged = urlForLog(raw);
  if (logged !== '[unparseable url]') return logged;
  const printable = raw.replace(/[^\x21-\x7e]/g, '?').slice(0, 60);
  return JSON.stringify(printable.replace(/[?#].*$/, ''));
}

/**
 * DL-R10: raw strings the WHATWG parser and other parsers (Python's urlsplit, curl) read differently.
 * Returns the reason, or undefined when the string may be parsed.
 */
export function rawUrlProblem(raw: string): string | undefined {
  if (raw.length === 0) return 'it is empty';
  if (raw.length > 8192) return 'it is longer than 8192 characters';
  if (raw.includes('\\')) return 'it contains a backslash';
  if (CONTROL_OR_SPACE.test(raw)) return 'it contains whitespace or a control character';
  let authority: string | undefined;
  const scheme = SCHEME.exec(raw);
  if (scheme !== null) {
    const rest = raw.slice(scheme[0].length);
    if (!rest.startsWith('//')) return 'the scheme is not followed by "//"';
    authority = /^\/\/([^/?#]*)/.exec(rest)?.[1];
  } else if (raw.startsWith('//')) {
    authority = /^\/\/([^/?#]*)/.exec(raw)?.[1];
  }
  if (authority !== undefined) {
    if (authority === '') return 'it has no host';
    if (authority.includes('@')) return 'its authority contains "@" (user information)';
    if (authority.includes('%')) return 'its authority contains "%"';
  }
  return undefined;
}

/** Parse an allowlist entry; throws on a malformed one (a configuration error, not a refusal). */
export function parseHostEntry(entry: string): HostEntry {
  let text = entry.trim().toLowerCase();
  let suffix = false;
  if (text.startsWith('*.')) text = text.slice(1);
  if (text.startsWith('.')) {
    suffix = true;
    text = text.slice(1);
  }
  let host = text;
  let port = 443;
  const bracket = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(text);
  const plain = /^([^:[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (bracket !== null) {
    host = bracket[1] ?? '';
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (plain !== null) {
    host = plain[1] ?? '';
    if (plain[2] !== undefined) port = Number(plain[2]);
  } else {
    throw new Error(`Malformed host entry ${JSON.stringify(entry)}: use host or host:port`);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (isIP(host) === 0) {
    const ascii = domainToASCII(host);
    if (ascii === '' || !isDnsName(ascii)) throw new Error(`Malformed host entry ${JSON.stringify(entry)}`);
    host = ascii;
  } else if (suffix) {
    throw new Error(`Malformed host entry ${JSON.stringify(entry)}: an IP address cannot be a suffix`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`Malformed port in ${JSON.stringify(entry)}`);
  return { host, port, suffix };
}

function isDnsName(host: string): boolean {
  if (host.length > 253) return false;
  return host.split('.').every((label) => LABEL.test(label));
}

function anchored(pattern: RegExp): RegExp {
  if (!pattern.source.startsWith('^') || !pattern.source.endsWith('$') || pattern.flags.includes('m')) {
    throw new Error(`Host pattern ${String(pattern)} must be anchored with ^…$ and not multi-line`);
  }
  return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
}

/** Exact or label-boundary suffix match of one host:port against a list (never a substring match). */
export function hostMatches(hostname: string, port: number, entries: ReadonlyArray<string | RegExp>): boolean {
  for (const entry of entries) {
    if (entry instanceof RegExp) {
      if (port === 443 && anchored(entry).test(hostname)) return true;
      continue;
    }
    const parsed = parseHostEntry(entry);
    if (parsed.port !== port) continue;
    if (parsed.suffix ? hostname.endsWith(`.${parsed.host}`) : hostname === parsed.host) return true;
  }
  return false;
}

/** Check that a policy is well formed (anchored patterns, parseable entries); throws on a bad one. */
export function assertPolicy(policy: ProviderPolicy): void {
  for (const entry of [...policy.apiHosts, ...policy.exemptHosts]) parseHostEntry(entry);
  for (const entry of policy.redirectHosts) {
    if (entry instanceof RegExp) anchored(entry);
    else parseHostEntry(entry);
  }
  for (const entry of policy.exemptHosts) {
    if (parseHostEntry(entry).suffix) throw new Error(`Exempt host ${JSON.stringify(entry)} must be exact`);
  }
}

/** The origin string `https://host[:port]` for a host entry (`host[:port]`). */
export function originOfHostEntry(entry: string): string {
  const parsed = parseHostEntry(entry);
  const host = isIP(parsed.host) === 6 ? `[${parsed.host}]` : parsed.host;
  return parsed.port === 443 ? `https://${host}` : `https://${host}:${parsed.port}`;
}

/**
 * Parse and check one URL against a provider policy. Returns the normalised URL; throws a
 * `LorasmithError` with `refusalCode` (default `invalid`) otherwise.
 */
export function checkUrl(params: CheckUrlParams): CheckedUrl {
  const code = params.refusalCode ?? 'invalid';
  const role = params.role ?? 'api';
  const raw = typeof params.url === 'string' ? params.url : params.url.href;
  const problem = rawUrlProblem(raw);
  if (problem !== undefined) throw refuse(code, raw, problem, 'DL-R10');

  let url: URL;
  try {
    url = params.base === undefined ? new URL(raw) : new URL(raw, params.base);
  } catch {
    throw refuse(code, raw, 'it is not a valid URL', 'DL-R10');
  }
  const http = url.protocol === 'http:' && params.policy.allowHttp === true;
  if (url.protocol !== 'https:' && !http) {
    const reason = url.protocol === 'http:' ? 'plain http is never used (https only)' : `the scheme ${url.protocol} is not https`;
    throw refuse(code, raw, reason);
  }
  if (http && params.base?.protocol === 'https:') throw refuse(code, raw, 'a redirect from https to plain http is a downgrade', 'DL-R02');
  if (url.username !== '' || url.password !== '') throw refuse(code, raw, 'it carries user information');

  let hostname = url.hostname;
  if (hostname.endsWith('.')) hostname = hostname.slice(0, -1);
  const bracketed = hostname.startsWith('[') && hostname.endsWith(']');
  const bare = bracketed ? hostname.slice(1, -1) : hostname;
  const ipVersion = isIP(bare);
  const defaultPort = http ? 80 : 443;
  const port = url.port === '' ? defaultPort : Number(url.port);
  const exempt = hostMatches(bare, port, params.policy.exemptHosts.filter((entry) => !parseHostEntry(entry).suffix));

  if (ipVersion !== 0) {
    if (!exempt) throw refuse(code, raw, 'IP addresses are not accepted as hosts');
    // An exempt IP must be written in its canonical form: `2130706433` is not `127.0.0.1`.
    const rawHost = rawAuthorityHost(raw);
    if (rawHost !== undefined && rawHost !== hostname) throw refuse(code, raw, 'the IP address is not written canonically');
  } else if (!isDnsName(hostname)) {
    throw refuse(code, raw, 'the host name is not a plain DNS name');
  }
  if (port !== defaultPort && !exempt) throw refuse(code, raw, `port ${port} is not allowed (${defaultPort} only)`);

  const allowed =
    role === 'api'
      ? hostMatches(bare, port, params.policy.apiHosts)
      : hostMatches(bare, port, params.policy.apiHosts) || hostMatches(bare, port, params.policy.redirectHosts);
  if (!allowed) {
    throw refuse(
      code,
      raw,
      role === 'api'
        ? `the host ${hostname} is not an allowed ${params.policy.name} host`
        : `the host ${hostname} is not on the ${params.policy.name} redirect allowlist`,
      role === 'api' ? 'DL-R01' : 'DL-R02',
    );
  }

  if (hostname !== url.hostname) url.hostname = hostname;
  url.hash = '';
  return { url, href: url.href, hostname: bare, port, origin: url.origin, exempt };
}

/** The host part of a raw absolute URL's authority, lower-cased, trailing dot removed. */
function rawAuthorityHost(raw: string): string | undefined {
  const match = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(raw) ?? /^\/\/([^/?#]*)/.exec(raw);
  if (match === null) return undefined;
  const authority = (match[1] ?? '').toLowerCase();
  const host = authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1) : authority.replace(/:\d*$/, '');
  return host.endsWith('.') ? host.slice(0, -1) : host;
}
