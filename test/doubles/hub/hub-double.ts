/**
 * A local HTTPS hub double: one TLS server on 127.0.0.1 whose certificate (a throwaway CA, see
 * test-pki.ts) names several hosts, and an injectable `lookup` that maps those names to addresses, so
 * the API (`hub.test`), the CDN (`cdn.test`) and an attacker (`evil.test`) are different origins and the
 * downloader's credential handling is observable. `link-local.test` resolves to 169.254.169.254 and
 * `private.test` to 10.0.0.1: the downloader must refuse them before connecting.
 *
 * Every request is recorded (method, Host, SNI name, path, headers) so tests can assert where a canary
 * token went. Routes are `(host, path) → handler`; behaviours.ts has the scripted hostile handlers.
 */
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { LookupFn, ResolvedAddress } from '../../../src/hub/safe-fetch.ts';
import { createTestPki, DEFAULT_TEST_HOSTS } from './test-pki.ts';

export interface RecordedRequest {
  method: string;
  /** The Host header without port. */
  host: string;
  /** The TLS SNI name the client sent. */
  servername: string | undefined;
  /** Path and query as requested. */
  path: string;
  headers: IncomingHttpHeaders;
}

export interface HandlerContext {
  double: HubDouble;
  /** How many requests this route had before this one (0 for the first). */
  count: number;
  /** The parsed request URL (host from the Host header). */
  url: URL;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, ctx: HandlerContext) => void | Promise<void>;

export type AddressAnswer = ResolvedAddress[] | ((call: number) => ResolvedAddress[]);

export interface HubDouble {
  readonly port: number;
  /** PEM of the throwaway CA, for the client's `ca`. */
  readonly ca: Buffer;
  readonly requests: RecordedRequest[];
  /** Host names the lookup was asked for, in order. */
  readonly lookupCalls: string[];
  readonly lookup: LookupFn;
  /** `https://host:port` */
  origin(host: string): string;
  url(host: string, pathAndQuery: string): string;
  route(host: string, path: string, handler: Handler): void;
  /** Change what the lookup answers for a host name (a function gets the call number, from 0). */
  mapHost(host: string, answer: AddressAnswer): void;
  requestsTo(host: string): RecordedRequest[];
  /** Forget routes, records and host overrides. */
  reset(): void;
  close(): Promise<void>;
}

const LOOPBACK: ResolvedAddress[] = [{ address: '127.0.0.1', family: 4 }];

function defaultAnswers(): Map<string, AddressAnswer> {
  return new Map<string, AddressAnswer>([
    ['hub.test', LOOPBACK],
    ['cdn.test', LOOPBACK],
    ['cdn2.test', LOOPBACK],
    ['evil.test', LOOPBACK],
    ['mirror.test', LOOPBACK],
    ['localhost', LOOPBACK],
    ['link-local.test', [{ address: '169.254.169.254', family: 4 }]],
    ['private.test', [{ address: '10.0.0.1', family: 4 }]],
  ]);
}

export async function startHubDouble(params: { hosts?: string[] } = {}): Promise<HubDouble> {
  const pki = createTestPki(params.hosts ?? DEFAULT_TEST_HOSTS);
  const routes = new Map<string, { handler: Handler; count: number }>();
  const requests: RecordedRequest[] = [];
  const lookupCalls: string[] = [];
  let answers = defaultAnswers();
  const lookupCounts = new Map<string, number>();
  const sockets = new Set<Socket>();

  const server = https.createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    const hostHeader = req.headers.host ?? '';
    const host = hostHeader.replace(/:\d+$/, '').toLowerCase();
    const path = req.url ?? '/';
    requests.push({
      method: req.method ?? 'GET',
      host,
      servername: (req.socket as TLSSocket).servername || undefined,
      path,
      headers: { ...req.headers },
    });
    const url = new URL(path, `https://${host || 'unknown.test'}`);
    const entry = routes.get(`${host} ${url.pathname}`);
    if (entry === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no route in the hub double');
      return;
    }
    const count = entry.count;
    entry.count += 1;
    Promise.resolve(entry.handler(req, res, { double, count, url })).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  server.keepAliveTimeout = 1;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {
    // A client that refuses our certificate is part of some tests.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('hub double has no port');
  const port = address.port;

  const double: HubDouble = {
    port,
    ca: pki.ca,
    requests,
    lookupCalls,
    lookup: async (hostname) => {
      lookupCalls.push(hostname);
      const call = lookupCounts.get(hostname) ?? 0;
      lookupCounts.set(hostname, call + 1);
      const answer = answers.get(hostname.toLowerCase());
      if (answer === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return typeof answer === 'function' ? answer(call) : answer;
    },
    origin: (host) => `https://${host}:${port}`,
    url: (host, pathAndQuery) => `https://${host}:${port}${pathAndQuery}`,
    route: (host, path, handler) => {
      routes.set(`${host} ${path}`, { handler, count: 0 });
    },
    mapHost: (host, answer) => {
      answers.set(host, answer);
    },
    requestsTo: (host) => requests.filter((request) => request.host === host),
    reset: () => {
      routes.clear();
      requests.length = 0;
      lookupCalls.length = 0;
      lookupCounts.clear();
      answers = defaultAnswers();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return double;
}
