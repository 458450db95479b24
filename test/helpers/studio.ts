/**
 * A real studio for tests: a fresh workspace in a temp folder, the real server on 127.0.0.1 with a free
 * port, and helpers that speak to it as the page (cookie + same-origin headers) or as a script (bearer).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/core/logger.ts';
import { startStudio, type RunningStudio, type ServeOptions } from '../../src/server/serve.ts';
import { rawRequest, type RawRequest, type RawResponse } from './http.ts';

export interface TestStudio {
  home: string;
  running: RunningStudio;
  url: string;
  origin: string;
  host: string;
  logLines: string[];
  apiSecret(): Promise<string>;
  /** Redeem a pairing code; returns the cookie header value. */
  pair(pairingUrl?: string): Promise<string>;
  asBearer(request: Omit<RawRequest, 'url'> & { path: string }, token?: string): Promise<RawResponse>;
  asPage(request: Omit<RawRequest, 'url'> & { path: string }, cookie: string): Promise<RawResponse>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function makeHome(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'lorasmith-test-'));
}

export async function startTestStudio(options: Omit<ServeOptions, 'home' | 'log'> & { home?: string } = {}): Promise<TestStudio> {
  const home = options.home ?? (await makeHome());
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  const start = (port: number) => startStudio({ ...options, home, port, log: createLogger({ level: 'debug', destination: sink }) });
  let running = await start(options.port ?? 0);
  const self: TestStudio = {
    home,
    get running() {
      return running;
    },
    get url() {
      return running.url;
    },
    get origin() {
      return running.url;
    },
    get host() {
      return new URL(running.url).host;
    },
    logLines,
    apiSecret: async () => (await readFile(path.join(home, 'api-secret'), 'utf8')).trim(),
    async pair(pairingUrl = running.pairingUrl) {
      const response = await rawRequest({ url: pairingUrl, headers: { 'sec-fetch-site': 'none' } });
      if (response.status !== 303) throw new Error(`pairing failed: ${response.status} ${response.body}`);
      const setCookie = response.headers['set-cookie']?.[0] ?? '';
      return setCookie.split(';')[0] ?? '';
    },
    async asBearer(request, token) {
      const secret = token ?? (await self.apiSecret());
      return rawRequest({ ...request, url: `${running.url}${request.path}`, headers: { authorization: `Bearer ${secret}`, ...request.headers } });
    },
    async asPage(request, cookie) {
      const unsafe = !['GET', 'HEAD'].includes(request.method ?? 'GET');
      return rawRequest({
        ...request,
        url: `${running.url}${request.path}`,
        headers: { cookie, 'sec-fetch-site': 'same-origin', ...(unsafe ? { origin: running.url } : {}), ...request.headers },
      });
    },
    async restart() {
      const port = running.port;
      await running.close();
      running = await start(port);
    },
    async stop() {
      await running.close();
      await rm(home, { recursive: true, force: true });
    },
  };
  return self;
}
