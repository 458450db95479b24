/** Raw HTTP for tests: node:http lets a test set Host, Origin and Sec-Fetch-Site exactly as an attacker would. */
import http from 'node:http';
import https from 'node:https';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

export interface RawRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** For TLS tests with a self-signed certificate. */
  ca?: Buffer;
  /** Connect here instead of the URL's host (Host header stays as given). */
  connectHost?: string;
}

export function rawRequest(request: RawRequest): Promise<RawResponse> {
  const url = new URL(request.url);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      {
        host: request.connectHost ?? url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: request.method ?? 'GET',
        headers: {
          ...(request.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(request.body)) }),
          ...(request.connectHost === undefined ? {} : { host: url.host }),
          ...request.headers,
        },
        ...(request.ca === undefined ? {} : { ca: request.ca, servername: url.hostname }),
        setHost: request.headers?.host === undefined && request.connectHost === undefined,
        // A fresh connection per request: a kept-alive socket the server closed would fail the next test.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
        });
      },
    );
    req.on('error', reject);
    if (request.body !== undefined) req.write(request.body);
    req.end();
  });
}
