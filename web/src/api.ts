/**
 * The one way the page talks to the studio. Cookies go with every request (same origin only); mutating
 * requests carry JSON bodies. The browser adds Origin and Sec-Fetch-Site itself, which is what the server
 * checks. No secret is ever stored by the page: the session lives in an HttpOnly cookie.
 */
import type { ApiErrorBody } from './types.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string | null;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    this.hint = body.hint ?? null;
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

let unauthorizedListener: (() => void) | null = null;

/** The app learns here that its session ended (expired, revoked, or the cookie is gone). */
export function setUnauthorizedListener(listener: (() => void) | null): void {
  unauthorizedListener = listener;
}

export function sessionEnded(): void {
  unauthorizedListener?.();
}

function isErrorEnvelope(value: unknown): value is { error: ApiErrorBody } {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = (value as { error: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

async function readError(response: Response): Promise<ApiError> {
  let parsed: unknown = null;
  try {
    parsed = await response.json();
  } catch {
    // Not JSON (a proxy page, an empty body): fall through to a generic error.
  }
  if (isErrorEnvelope(parsed)) return new ApiError(response.status, parsed.error);
  return new ApiError(response.status, {
    code: `http-${response.status}`,
    message: `The studio answered ${response.status} ${response.statusText}`.trim(),
    hint: null,
  });
}

export interface RequestOptions {
  body?: unknown;
  /** A binary body (an upload chunk), sent as it is; the caller sets its Content-Type in `headers`. */
  raw?: Blob;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** The session check itself handles 401 as "not paired" instead of "session ended". */
  quietUnauthorized?: boolean;
}

export async function request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  const init: RequestInit = { method, credentials: 'same-origin', headers, cache: 'no-store' };
  if (options.signal) init.signal = options.signal;
  if (options.raw !== undefined) {
    init.body = options.raw;
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }

  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    throw new ApiError(0, {
      code: 'network',
      message: 'Could not reach the lorasmith studio.',
      hint: 'Check that `lorasmith serve` is still running, then try again.',
    });
  }

  if (!response.ok) {
    const error = await readError(response);
    if (response.status === 401 && !options.quietUnauthorized) sessionEnded();
    throw error;
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, options),
  post: <T>(path: string, body: unknown) => request<T>('POST', path, { body }),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, { body }),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, { body }),
  delete: <T = void>(path: string) => request<T>('DELETE', path),
};

/** Builds a path with an encoded segment, so names and ids can never change the route. */
export function apiPath(prefix: string, segment: string, suffix = ''): string {
  return `${prefix}/${encodeURIComponent(segment)}${suffix}`;
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, {
    code: 'client',
    message: error instanceof Error ? error.message : 'Something went wrong in the page.',
    hint: 'Reload the page; if it happens again, report it with the steps that led here.',
  });
}
