/**
 * The studio's chunked, resumable upload protocol: create, send chunks with Content-Range that continue
 * exactly where the studio's count stops, ask for that count and resume after a failed chunk, then
 * complete. Every request carries the session's CSRF token in X-Lorasmith-Upload.
 */
import { ApiError, apiPath, request } from './api.ts';
import type { UploadKind, UploadTarget } from './types.ts';

const HEADER = 'X-Lorasmith-Upload';
/** Retries of one stretch of the file before the upload gives up. */
const MAX_RETRIES = 3;
const RETRY_DELAY_MS = 600;
/** These answers will not change on a retry: the session, the token or the upload itself is refused. */
const FINAL_STATUSES = new Set([401, 403, 404, 413]);

interface UploadStatus {
  id: string;
  received: number;
  size: number;
  state: 'receiving' | 'completed' | 'failed';
  result: unknown;
}

export interface UploadOptions {
  file: File;
  kind: UploadKind;
  /** Where the studio puts what it receives, e.g. `{ dataset }` for a zip or image; the model library needs none. */
  target?: UploadTarget;
  csrfToken: string;
  /** Bytes the studio has confirmed so far. */
  onProgress: (sent: number, total: number) => void;
  signal: AbortSignal;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/** Sends `file` and completes the upload; resolves with what the kind's pipeline returned. */
export async function uploadFile({ file, kind, target, csrfToken, onProgress, signal }: UploadOptions): Promise<unknown> {
  const headers = { [HEADER]: csrfToken };
  const total = file.size;

  const created = await request<{ id: string; chunkBytes: number }>('POST', '/api/uploads', {
    body: target === undefined ? { name: file.name, size: total, kind } : { name: file.name, size: total, kind, target },
    headers,
    signal,
  });
  const path = apiPath('/api/uploads', created.id);
  const chunkBytes = Math.max(1, created.chunkBytes);

  let offset = 0;
  let retries = 0;
  onProgress(0, total);
  while (offset < total) {
    const end = Math.min(offset + chunkBytes, total);
    try {
      const status = await request<UploadStatus | undefined>('PUT', path, {
        raw: file.slice(offset, end),
        headers: {
          ...headers,
          'Content-Type': 'application/octet-stream',
          'Content-Range': `bytes ${offset}-${end - 1}/${total}`,
        },
        signal,
      });
      offset = typeof status?.received === 'number' ? status.received : end;
      retries = 0;
    } catch (error) {
      if (isAbort(error) || signal.aborted) throw error;
      if (error instanceof ApiError && FINAL_STATUSES.has(error.status)) throw error;
      if (retries >= MAX_RETRIES) throw error;
      retries += 1;
      await sleep(RETRY_DELAY_MS * retries, signal);
      // Ask the studio how much it holds and continue from exactly there. If even that fails, the
      // next round sends the same chunk again (and asks again should it fail once more).
      let status: UploadStatus | null = null;
      try {
        status = await request<UploadStatus>('GET', path, { headers, signal });
      } catch (statusError) {
        if (isAbort(statusError) || signal.aborted) throw statusError;
        if (statusError instanceof ApiError && FINAL_STATUSES.has(statusError.status)) throw statusError;
      }
      if (status !== null) {
        if (status.state === 'completed') return status.result;
        if (status.state !== 'receiving') throw error;
        offset = status.received;
      }
    }
    onProgress(Math.min(offset, total), total);
  }

  const done = await request<UploadStatus>('POST', `${path}/complete`, { body: {}, headers, signal });
  onProgress(total, total);
  return done.result;
}
