/**
 * What the provider clients need to reach the network, injectable for tests (DL-R03): the DNS lookup,
 * the CA bundle, the chain fetch, a clock and a sleep, and the bounded retry of 429/503 answers
 * (CV-R08: at most 3 retries, each wait honouring Retry-After and capped at 60 s).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { LorasmithError } from '../core/errors.ts';
import { DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_WAIT_MS, parseRetryAfter } from './download-file.ts';
import { hubError } from './hub-error.ts';
import { statusError } from './http-status-error.ts';
import { safeFetch, transferError, type LookupFn, type SafeFetchFn, type SafeResponse, type TlsCa } from './safe-fetch.ts';
import type { ProviderPolicy, UrlRole } from './url-policy.ts';

export interface HubNetwork {
  lookup?: LookupFn;
  ca?: TlsCa;
  fetchImpl?: SafeFetchFn;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  retry?: { maxRetries?: number; maxWaitMs?: number };
}

export const defaultSleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  await delay(ms, undefined, signal === undefined ? undefined : { signal });
};

/** API answers are small: a listing page or a version JSON. */
export const MAX_API_BODY_BYTES = 16 * 1024 * 1024;

export interface ApiFailure {
  status: number;
  headers: Readonly<Record<string, string>>;
  urlForLog: string;
  /** The body parsed as JSON when it was JSON and small, else undefined. */
  body: unknown;
  credentialSent: boolean;
}

export interface FetchJsonParams {
  url: string;
  policy: ProviderPolicy;
  network: HubNetwork;
  role?: UrlRole;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** Provider wording of an error answer; default statusError. */
  mapError?: (failure: ApiFailure) => LorasmithError;
  maxBytes?: number;
}

export interface JsonAnswer {
  json: unknown;
  headers: Readonly<Record<string, string>>;
  /** The final URL (for this process only; never logged). */
  url: URL;
  urlForLog: string;
}

/** Read a body up to a cap; more → `size`. */
export async function readBody(response: SafeResponse, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        response.dispose();
        throw hubError({ code: 'size', message: `${response.urlForLog} sent a larger answer than lorasmith accepts (${maxBytes} bytes).` });
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw transferError(error, signal);
  }
  return Buffer.concat(chunks);
}

function parseJson(buffer: Buffer): unknown {
  try {
    return JSON.parse(buffer.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * One API request answered with JSON: safeFetch under the policy, 429/503 retried with Retry-After
 * (bounded), any other non-2xx mapped to a typed error (no retry), the body capped and parsed.
 */
export async function fetchJson(params: FetchJsonParams): Promise<JsonAnswer> {
  const network = params.network;
  const fetchImpl = network.fetchImpl ?? safeFetch;
  const sleep = network.sleep ?? defaultSleep;
  const now = network.now ?? Date.now;
  const maxRetries = Math.min(network.retry?.maxRetries ?? DEFAULT_MAX_RETRIES, 10);
  const maxWaitMs = network.retry?.maxWaitMs ?? DEFAULT_MAX_RETRY_WAIT_MS;
  const maxBytes = params.maxBytes ?? MAX_API_BODY_BYTES;
  for (let attempt = 0; ; attempt += 1) {
    const response = await fetchImpl({
      url: params.url,
      policy: params.policy,
      ...(params.role === undefined ? {} : { role: params.role }),
      method: params.method ?? 'GET',
      headers: { accept: 'application/json', ...(params.body === undefined ? {} : { 'content-type': 'application/json' }), ...params.headers },
      ...(params.body === undefined ? {} : { body: params.body }),
      ...(params.signal === undefined ? {} : { signal: params.signal }),
      ...(network.lookup === undefined ? {} : { lookup: network.lookup }),
      ...(network.ca === undefined ? {} : { ca: network.ca }),
    });
    if ((response.status === 429 || response.status === 503) && attempt < maxRetries) {
      response.dispose();
      const wait = Math.min(parseRetryAfter(response.headers['retry-after'], now()) ?? 1000 * 2 ** attempt, maxWaitMs);
      try {
        await sleep(wait, params.signal);
      } catch (error) {
        throw transferError(error, params.signal);
      }
      continue;
    }
    const buffer = await readBody(response, maxBytes, params.signal);
    if (response.status < 200 || response.status > 299) {
      const failure: ApiFailure = {
        status: response.status,
        headers: response.headers,
        urlForLog: response.urlForLog,
        body: buffer.length <= 65536 ? parseJson(buffer) : undefined,
        credentialSent: response.credentialSent,
      };
      throw (params.mapError ?? ((f: ApiFailure) => statusError({ status: f.status, headers: f.headers, urlForLog: f.urlForLog })))(failure);
    }
    const json = parseJson(buffer);
    if (json === undefined) {
      throw hubError({ code: 'invalid', message: `${response.urlForLog} did not answer with JSON.`, hint: 'The endpoint may not be a Hugging Face or Civitai API; check LORASMITH_*_ENDPOINT.' });
    }
    return { json, headers: response.headers, url: response.url, urlForLog: response.urlForLog };
  }
}
