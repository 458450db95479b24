/**
 * A WHATWG-`fetch`-shaped function with the rules of safeFetch, for libraries that take a `fetch`
 * parameter (`@huggingface/hub`, HF-R08): the first URL must be on the policy's API hosts (or redirect
 * hosts with `role: 'redirect'`), redirects are followed by safeFetch under the same policy, an
 * `Authorization` header the library sets is bound to the policy's credential origins and dropped on
 * every cross-origin hop, `Cookie` / `Proxy-Authorization` are never sent, `Accept-Encoding` is identity.
 * A `Link: next` page on another origin is therefore refused (HF-R05) unless it is an API host.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { safeFetch, type LookupFn, type SafeFetchFn, type TlsCa } from './safe-fetch.ts';
import { originOfHostEntry, type ProviderCredential, type ProviderPolicy, type UrlRole } from './url-policy.ts';

export type WhatwgFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface CreateSafeFetchParams {
  policy: ProviderPolicy;
  role?: UrlRole;
  lookup?: LookupFn;
  ca?: TlsCa;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** For tests: the underlying chain fetch. */
  fetchImpl?: SafeFetchFn;
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export function createSafeFetch(params: CreateSafeFetchParams): WhatwgFetch {
  const fetchImpl = params.fetchImpl ?? safeFetch;
  return async (input, init) => {
    const streamed = init?.body instanceof ReadableStream;
    const request = new Request(input, streamed ? { ...init, duplex: 'half' } as RequestInit : init);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const authorization = request.headers.get('authorization');
    let credential: ProviderCredential | undefined = params.policy.credential;
    if (authorization !== null) {
      credential = {
        header: 'authorization',
        value: authorization,
        origins: params.policy.credential?.origins ?? params.policy.apiHosts.map(originOfHostEntry),
      };
    }
    let body: Uint8Array | Readable | undefined;
    if (request.body !== null) {
      body = streamed
        ? Readable.fromWeb(request.body as unknown as NodeReadableStream<Uint8Array>)
        : new Uint8Array(await request.arrayBuffer());
    }
    const redirect = init?.redirect ?? (input instanceof Request ? input.redirect : 'follow');
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const res = await fetchImpl({
      url: request.url,
      policy: params.policy,
      ...(params.role === undefined ? {} : { role: params.role }),
      method: request.method,
      headers,
      ...(body === undefined ? {} : { body }),
      redirect,
      credential: credential ?? null,
      ...(signal === undefined || signal === null ? {} : { signal }),
      ...(params.lookup === undefined ? {} : { lookup: params.lookup }),
      ...(params.ca === undefined ? {} : { ca: params.ca }),
      ...(params.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: params.connectTimeoutMs }),
      ...(params.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: params.idleTimeoutMs }),
    });
    const hasBody = !NULL_BODY_STATUSES.has(res.status) && request.method !== 'HEAD';
    if (!hasBody) res.dispose();
    const response = new Response(hasBody ? (Readable.toWeb(res.body) as unknown as ReadableStream<Uint8Array>) : null, {
      status: res.status,
      headers: res.headers,
    });
    Object.defineProperty(response, 'url', { value: res.url.href });
    Object.defineProperty(response, 'redirected', { value: res.redirects.length > 0 });
    return response;
  };
}
