/**
 * Download one file into quarantine (DL-R05, DL-R06, DL-R07, DL-R09 in part, DL-R11).
 *
 * The bytes go to `<quarantineDir>/<name>.incomplete` (mode 0600) while SHA-256 (and, when asked, the
 * git-blob SHA-1 `blob <size>\0…`) is computed; the transfer stops as soon as more bytes arrive than
 * declared (`size`). At the end the digests are compared case-insensitively (`integrity`), HTML and JSON
 * bodies are refused (`invalid`, unless JSON is expected), the caller's `validate(file)` runs, and only
 * then is the file renamed to `<quarantineDir>/<name>`. Without a provider digest the result says
 * `verified: false`: the caller keeps the download in `awaiting-confirmation`.
 *
 * Resume (`resume: true`): the provider URL is requested again (a fresh redirect chain: signed URLs
 * expire), with `Range: bytes=<n>-` and `If-Range: <ETag the transfer host gave for the partial>` (kept
 * in a sidecar `<name>.incomplete.json`). Only a 206 whose Content-Range starts at n (and whose total is
 * the expected size) continues; a 200 restarts from byte 0, a changed ETag restarts, and the partial
 * prefix is hashed again first, so the whole file is verified.
 *
 * On failure the partial and its sidecar are deleted, except after `network` / `rate-limited` errors,
 * which leave a resumable partial behind. Cancelling (AbortSignal) deletes it. 429/503 are retried
 * (≤ 3 times, each wait honouring Retry-After, capped at 60 s); other 4xx are not retried.
 *
 * Use one quarantine folder per download: `<name>` is the sanitised name (ARC-R07) and is overwritten.
 */
import { constants as fsConstants } from 'node:fs';
import { lstat, mkdir, open, readFile, rename, rm, statfs, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { errnoCode, LorasmithError } from '../core/errors.ts';
import { sanitizeFileName } from '../core/file-names.ts';
import { DownloadSink } from './download-sink.ts';
import { hubError } from './hub-error.ts';
import { statusError } from './http-status-error.ts';
import { safeFetch, transferError, type LookupFn, type SafeFetchFn, type SafeResponse, type TlsCa } from './safe-fetch.ts';
import { sniffMarkup } from './sniff-markup.ts';
import type { ProviderPolicy } from './url-policy.ts';

const GiB = 1024 ** 3;
export const DEFAULT_MAX_BYTES = 64 * GiB;
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_MAX_RETRY_WAIT_MS = 60_000;
/** Expected sizes from which the file is written on a worker thread (download-sink.ts). */
export const DEFAULT_WORKER_WRITES_FROM = 64 * 1024 ** 2;
const MAX_RESTARTS = 2;
const PROGRESS_INTERVAL_MS = 250;
const SIDECAR_VERSION = 1;

export interface DownloadExpected {
  /** Exact size in bytes from provider metadata (a cap when `sizeTolerance` is given). */
  size?: number;
  /** Bytes beyond `size` still accepted; then `size` is a hint (Civitai `sizeKB`), not an exact length. */
  sizeTolerance?: number;
  /** 64 hex, any case. */
  sha256?: string;
  /** 40 hex git-blob SHA-1 (HF non-LFS files); needs `size`. */
  gitSha1?: string;
}

export type ProgressFn = (bytes: number, total: number | undefined, bytesPerSecond: number) => void;

export interface DownloadToQuarantineParams {
  url: string | URL;
  policy: ProviderPolicy;
  expected: DownloadExpected;
  quarantineDir: string;
  /** The file name (sanitised by ARC-R07 rules before use). */
  name: string;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  /** The request chain; default safeFetch. */
  fetchImpl?: SafeFetchFn;
  /** Continue a partial left by an earlier attempt (after a network error or a restart). */
  resume?: boolean;
  /** Content validator run on the complete, digest-checked file before it leaves `.incomplete`. */
  validate?: (file: string) => Promise<void>;
  /** Accept a JSON body (a config file of a multi-file model); HTML is always refused. */
  allowJson?: boolean;
  lookup?: LookupFn;
  ca?: TlsCa;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Global cap (DL-R05), default 64 GiB. */
  maxBytes?: number;
  /** Retries of 429 / 503 (default 3) and the cap of each wait (default 60 s). */
  retry?: { maxRetries?: number; maxWaitMs?: number };
  /** Injectable wait (tests); rejects when the signal aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injectable clock in ms (progress rate, Retry-After dates). */
  now?: () => number;
  /** Downloads whose expected size is at least this are written on a worker thread; default 64 MiB. */
  workerWritesFrom?: number;
  /** Injectable free-space probe; default `statfs`. */
  freeBytes?: (dir: string) => Promise<number>;
  /** Fail with `network` when fewer bytes than this arrive per window (a slow drip). */
  lowSpeed?: { bytesPerSecond: number; windowMs: number };
}

export type VerifiedBy = 'sha256' | 'git-sha1';

export interface DownloadResult {
  /** `<quarantineDir>/<name>`: complete, digest-checked and validated, not yet in the store. */
  file: string;
  /** The sanitised name. */
  name: string;
  size: number;
  sha256: string;
  gitSha1: string | undefined;
  /** False when the provider gave no digest: the caller asks the user (awaiting-confirmation). */
  verified: boolean;
  verifiedBy: VerifiedBy[];
  /** Bytes of an earlier partial that were reused (0 when the transfer started at byte 0). */
  resumedFrom: number;
  /** Final transfer URL as host + path (never the signed query). */
  urlForLog: string;
  /** Headers of the final response (e.g. `x-repo-commit` when the Hub served it directly). */
  headers: Readonly<Record<string, string>>;
  /** Requests made (retries and restarts included). */
  requests: number;
}

interface Sidecar {
  v: number;
  etag: string;
  size: number | null;
  sha256: string | null;
  gitSha1: string | null;
}

function invalidParam(message: string): LorasmithError {
  return hubError({ code: 'invalid', message, hint: 'This is a bug in the caller: provider metadata was not checked.' });
}

function checkExpected(expected: DownloadExpected): void {
  if (expected.size !== undefined && (!Number.isSafeInteger(expected.size) || expected.size < 0)) throw invalidParam('The expected size is not a byte count.');
  if (expected.sizeTolerance !== undefined && (!Number.isSafeInteger(expected.sizeTolerance) || expected.sizeTolerance < 0)) {
    throw invalidParam('The size tolerance is not a byte count.');
  }
  if (expected.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(expected.sha256)) throw invalidParam('The expected SHA-256 is not 64 hex digits.');
  if (expected.gitSha1 !== undefined && !/^[0-9a-fA-F]{40}$/.test(expected.gitSha1)) throw invalidParam('The expected git blob id is not 40 hex digits.');
  if (expected.gitSha1 !== undefined && (expected.size === undefined || expected.sizeTolerance !== undefined)) {
    throw invalidParam('A git blob id can only be checked with an exact expected size.');
  }
}

/** Retry-After: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** A strong ETag usable with If-Range; weak or odd ones are not kept. */
function strongEtag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return /^"[\x21\x23-\x7e]{1,200}"$/.test(trimmed) ? trimmed : undefined;
}

async function defaultFreeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}

const defaultSleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  await delay(ms, undefined, signal === undefined ? undefined : { signal });
};

async function removeQuietly(...files: string[]): Promise<void> {
  await Promise.all(files.map((file) => rm(file, { force: true })));
}

async function readSidecar(file: string): Promise<Sidecar | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const record = parsed as Record<string, unknown>;
    const etag = strongEtag(typeof record.etag === 'string' ? record.etag : undefined);
    if (record.v !== SIDECAR_VERSION || etag === undefined) return undefined;
    const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
    return { v: SIDECAR_VERSION, etag, size: typeof record.size === 'number' ? record.size : null, sha256: str(record.sha256), gitSha1: str(record.gitSha1) };
  } catch {
    return undefined;
  }
}

function sidecarFor(expected: DownloadExpected, etag: string): Sidecar {
  return {
    v: SIDECAR_VERSION,
    etag,
    size: expected.size ?? null,
    sha256: expected.sha256?.toLowerCase() ?? null,
    gitSha1: expected.gitSha1?.toLowerCase() ?? null,
  };
}

/** Hash the first `length` bytes of the partial again (Node cannot persist hash state). */
async function rehashPrefix(file: string, length: number, sink: DownloadSink, signal: AbortSignal | undefined): Promise<void> {
  const input = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  const stream = input.createReadStream({ start: 0, end: length - 1 });
  let read = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (signal?.aborted === true) {
      stream.destroy();
      throw hubError({ code: 'cancelled', message: 'The download was cancelled.' });
    }
    const behind = sink.push(chunk);
    if (behind !== undefined) await behind;
    read += chunk.length;
  }
  if (read !== length) throw hubError({ code: 'network', message: 'The partial download changed while it was being resumed.' });
}

class ProgressMeter {
  #lastReport = -Infinity;
  #startTime: number;
  #startBytes = 0;
  #sampleTime: number;
  #sampleBytes = 0;
  #rate: number | undefined;
  readonly #now: () => number;
  readonly #onProgress: ProgressFn | undefined;
  readonly #total: number | undefined;

  constructor(now: () => number, onProgress: ProgressFn | undefined, total: number | undefined) {
    this.#now = now;
    this.#onProgress = onProgress;
    this.#total = total;
    this.#startTime = now();
    this.#sampleTime = this.#startTime;
  }

  reset(bytes: number): void {
    this.#startTime = this.#now();
    this.#sampleTime = this.#startTime;
    this.#startBytes = bytes;
    this.#sampleBytes = bytes;
    this.#rate = undefined;
  }

  /** Bytes per second over the last ~0.5 s window; the average since the start until a window is full. */
  #rateAt(bytes: number, now: number): number {
    const elapsed = now - this.#sampleTime;
    if (elapsed >= 500) {
      this.#rate = ((bytes - this.#sampleBytes) * 1000) / elapsed;
      this.#sampleTime = now;
      this.#sampleBytes = bytes;
    }
    if (this.#rate !== undefined) return this.#rate;
    const sinceStart = now - this.#startTime;
    return sinceStart > 0 ? ((bytes - this.#startBytes) * 1000) / sinceStart : 0;
  }

  update(bytes: number, force = false): void {
    const now = this.#now();
    const rate = this.#rateAt(bytes, now);
    if (this.#onProgress === undefined || (!force && now - this.#lastReport < PROGRESS_INTERVAL_MS)) return;
    this.#lastReport = now;
    try {
      this.#onProgress(bytes, this.#total, Math.max(0, Math.round(rate)));
    } catch {
      // A failing progress listener never breaks a download.
    }
  }
}

class LowSpeedGuard {
  #windowStart: number;
  #windowBytes = 0;
  readonly #limit: { bytesPerSecond: number; windowMs: number } | undefined;
  readonly #now: () => number;

  constructor(limit: { bytesPerSecond: number; windowMs: number } | undefined, now: () => number) {
    this.#limit = limit;
    this.#now = now;
    this.#windowStart = now();
  }

  add(bytes: number, host: string): void {
    if (this.#limit === undefined) return;
    this.#windowBytes += bytes;
    const elapsed = this.#now() - this.#windowStart;
    if (elapsed < this.#limit.windowMs) return;
    const rate = (this.#windowBytes * 1000) / elapsed;
    if (rate < this.#limit.bytesPerSecond) {
      throw hubError({
        code: 'network',
        message: `${host} sent only ${Math.round(rate)} bytes/s, below the minimum of ${this.#limit.bytesPerSecond}.`,
        hint: 'Try again later; the download resumes where it stopped.',
        details: { reason: 'low-speed' },
      });
    }
    this.#windowStart = this.#now();
    this.#windowBytes = 0;
  }
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

function sizeError(message: string, details: Record<string, unknown>): LorasmithError {
  return hubError({ code: 'size', message, hint: 'The server sent a different file than the provider listed; nothing was kept.', details: { rule: 'DL-R05', ...details } });
}

export async function downloadToQuarantine(params: DownloadToQuarantineParams): Promise<DownloadResult> {
  const { expected, signal } = params;
  checkExpected(expected);
  let name: string;
  try {
    name = sanitizeFileName(params.name);
  } catch (error) {
    throw hubError({ code: 'invalid', message: error instanceof Error ? error.message : 'The file name was refused.', cause: error });
  }
  const now = params.now ?? Date.now;
  const sleep = params.sleep ?? defaultSleep;
  const fetchImpl = params.fetchImpl ?? safeFetch;
  const maxRetries = Math.min(params.retry?.maxRetries ?? DEFAULT_MAX_RETRIES, 10);
  const maxWaitMs = params.retry?.maxWaitMs ?? DEFAULT_MAX_RETRY_WAIT_MS;
  const maxBytes = params.maxBytes ?? DEFAULT_MAX_BYTES;
  const exact = expected.size !== undefined && expected.sizeTolerance === undefined;
  const limit = Math.min(expected.size === undefined ? maxBytes : expected.size + (expected.sizeTolerance ?? 0), maxBytes);
  if (expected.size !== undefined && expected.size > maxBytes) {
    throw sizeError(`The file is larger (${expected.size} bytes) than the download cap of ${maxBytes} bytes.`, { expected: expected.size, cap: maxBytes });
  }

  const dir = path.resolve(params.quarantineDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const partial = path.join(dir, `${name}.incomplete`);
  const sidecarPath = `${partial}.json`;
  const finalPath = path.join(dir, name);
  if (path.dirname(partial) !== dir || path.dirname(finalPath) !== dir) throw invalidParam('The file name leaves the quarantine folder.');

  // Decide what an earlier partial is worth.
  let offset = 0;
  let etag: string | undefined;
  if (params.resume === true) {
    const sidecar = await readSidecar(sidecarPath);
    const stats = await lstat(partial).catch(() => undefined);
    const expectedSidecar = sidecar === undefined ? undefined : sidecarFor(expected, sidecar.etag);
    const matches =
      sidecar !== undefined &&
      expectedSidecar !== undefined &&
      sidecar.size === expectedSidecar.size &&
      sidecar.sha256 === expectedSidecar.sha256 &&
      sidecar.gitSha1 === expectedSidecar.gitSha1;
    if (matches && stats !== undefined && stats.isFile() && stats.size > 0 && (exact ? stats.size < (expected.size ?? 0) : stats.size <= limit)) {
      offset = stats.size;
      etag = sidecar.etag;
    }
  }
  if (offset === 0) await removeQuietly(partial, sidecarPath);

  // Free disk space: what is still to come, plus 10 % (DL-R05).
  if (expected.size !== undefined) {
    const needed = Math.ceil((expected.size - offset) * 1.1);
    const free = await (params.freeBytes ?? defaultFreeBytes)(dir);
    if (free < needed) {
      throw hubError({
        code: 'disk-full',
        message: `Not enough free space in the quarantine folder: ${needed} bytes needed, ${free} free.`,
        hint: 'Free some disk space and start the download again.',
        details: { needed, free },
      });
    }
  }

  const resumedFrom = offset;
  const meter = new ProgressMeter(now, params.onProgress, expected.size);
  let requests = 0;
  let retries = 0;
  let restarts = 0;
  let keepPartial = false;
  let handle: FileHandle | undefined;
  let sink: DownloadSink | undefined;
  const workerWritesFrom = params.workerWritesFrom ?? DEFAULT_WORKER_WRITES_FROM;
  /** A fresh sink (digests from byte 0) for each attempt; a resume pushes the partial's prefix first. */
  const freshSink = async (): Promise<DownloadSink> => {
    await sink?.close();
    sink = new DownloadSink({
      ...(expected.gitSha1 === undefined ? {} : { gitBlobSize: expected.size }),
      worker: expected.size !== undefined && expected.size >= workerWritesFrom,
    });
    return sink;
  };

  const restartFromZero = async (): Promise<void> => {
    restarts += 1;
    if (restarts > MAX_RESTARTS) {
      throw hubError({ code: 'invalid', message: 'The server kept answering ranged requests inconsistently; the download was abandoned.', details: { rule: 'DL-R07' } });
    }
    offset = 0;
    etag = undefined;
    await removeQuietly(partial, sidecarPath);
  };

  try {
    for (;;) {
      if (signal?.aborted === true) throw hubError({ code: 'cancelled', message: 'The download was cancelled.' });
      const attempt = await freshSink();
      if (offset > 0) await rehashPrefix(partial, offset, attempt, signal);
      requests += 1;
      const response: SafeResponse = await fetchImpl({
        url: params.url,
        policy: params.policy,
        role: 'api',
        method: 'GET',
        headers: offset > 0 && etag !== undefined ? { range: `bytes=${offset}-`, 'if-range': etag } : {},
        ...(signal === undefined ? {} : { signal }),
        ...(params.lookup === undefined ? {} : { lookup: params.lookup }),
        ...(params.ca === undefined ? {} : { ca: params.ca }),
        ...(params.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: params.connectTimeoutMs }),
        ...(params.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: params.idleTimeoutMs }),
      });
      const { status, headers } = response;

      if (status === 429 || status === 503) {
        response.dispose();
        if (retries >= maxRetries) {
          keepPartial = offset > 0;
          throw statusError({ status, headers, urlForLog: response.urlForLog });
        }
        const wait = Math.min(parseRetryAfter(headers['retry-after'], now()) ?? 1000 * 2 ** retries, maxWaitMs);
        retries += 1;
        try {
          await sleep(wait, signal);
        } catch (error) {
          throw transferError(error, signal);
        }
        continue;
      }
      if (status === 416 && offset > 0) {
        response.dispose();
        await restartFromZero();
        continue;
      }
      if (status !== 200 && status !== 206) {
        response.dispose();
        throw statusError({ status, headers, urlForLog: response.urlForLog });
      }

      let start = 0;
      if (status === 206) {
        const range = CONTENT_RANGE.exec(headers['content-range'] ?? '');
        const responseEtag = strongEtag(headers.etag);
        const consistent =
          offset > 0 &&
          range !== null &&
          Number(range[1]) === offset &&
          (!exact || (range[3] === String(expected.size) && Number(range[2]) === (expected.size ?? 0) - 1)) &&
          (responseEtag === undefined || responseEtag === etag);
        if (!consistent) {
          response.dispose();
          if (offset === 0) {
            throw hubError({ code: 'invalid', message: `${response.urlForLog} answered a partial range that was not asked for.`, details: { rule: 'DL-R07' } });
          }
          await restartFromZero();
          continue;
        }
        start = offset;
      } else if (offset > 0) {
        // DL-R07: a 200 to a ranged request (validator mismatch, another backend) restarts from byte 0.
        restarts += 1;
        offset = 0;
        etag = undefined;
        await removeQuietly(partial, sidecarPath);
        return await finishWith(response, await freshSink(), 0);
      }
      return await finishWith(response, attempt, start);
    }
  } catch (error) {
    // The worker goes first: once it has stopped, nothing writes through the descriptor closed next.
    await sink?.close();
    await handle?.close().catch(() => undefined);
    const typed = transferError(error, signal);
    if (!(keepPartial && (typed.code === 'network' || typed.code === 'rate-limited'))) await removeQuietly(partial, sidecarPath);
    throw typed;
  } finally {
    await sink?.close();
  }

  async function finishWith(response: SafeResponse, attempt: DownloadSink, start: number): Promise<DownloadResult> {
    const { headers } = response;
    const host = response.urlForLog;
    const declared = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
    if (declared !== undefined && Number.isSafeInteger(declared)) {
      if (start + declared > limit) {
        response.dispose();
        throw sizeError(`${host} announced ${start + declared} bytes, more than the ${limit} expected.`, { declared: start + declared, limit });
      }
      if (exact && start + declared !== expected.size) {
        response.dispose();
        throw sizeError(`${host} announced ${start + declared} bytes; the provider listed ${expected.size}.`, { declared: start + declared, expected: expected.size });
      }
    }

    // Keep the transfer host's ETag for If-Range on a later resume (never X-Linked-Etag).
    const transferEtag = strongEtag(headers.etag);
    if (transferEtag !== undefined) await writeFileAtomic(sidecarPath, JSON.stringify(sidecarFor(expected, transferEtag)), 0o600);
    else await removeQuietly(sidecarPath);

    // A fresh start creates the file exclusively (the old partial was removed): a concurrent download of
    // the same name, or a planted link, fails instead of being written through.
    const flags = fsConstants.O_WRONLY | fsConstants.O_NOFOLLOW | (start === 0 ? fsConstants.O_CREAT | fsConstants.O_EXCL : 0);
    handle = await open(partial, flags, 0o600);
    await handle.chmod(0o600);
    if (start > 0) await handle.truncate(start);
    keepPartial = transferEtag !== undefined;

    let received = start;
    const guard = new LowSpeedGuard(params.lowSpeed, now);
    attempt.attach(handle, start);
    meter.reset(received);
    meter.update(received, true);
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received > limit) {
          keepPartial = false;
          response.dispose();
          throw sizeError(`${host} sent more than the ${limit} bytes expected; the transfer was stopped.`, { limit });
        }
        // A promise only when hashing or writing falls behind: most chunks cost no await here.
        const behind = attempt.push(chunk);
        if (behind !== undefined) await behind;
        guard.add(chunk.length, host);
        meter.update(received);
      }
      await attempt.flush();
    } catch (error) {
      response.dispose();
      // Every byte received so far reaches the partial before it is kept (resume continues right after
      // it) or deleted (no write may still be in flight then).
      await attempt.flush().catch(() => undefined);
      if (errnoCode(error) === 'ENOSPC' || errnoCode(error) === 'EDQUOT') {
        keepPartial = false;
        throw hubError({ code: 'disk-full', message: 'The disk filled up during the download.', hint: 'Free some disk space and start the download again.' });
      }
      throw error;
    }
    keepPartial = false;
    meter.update(received, true);
    await handle.sync();
    await handle.close();
    handle = undefined;

    if (exact && received !== expected.size) {
      throw sizeError(`${host} sent ${received} bytes; the provider listed ${expected.size}.`, { received, expected: expected.size });
    }

    const { sha256, gitSha1 } = await attempt.digest();
    const verifiedBy: VerifiedBy[] = [];
    if (expected.sha256 !== undefined) {
      if (sha256 !== expected.sha256.toLowerCase()) {
        throw hubError({
          code: 'integrity',
          message: `The file from ${host} does not match the SHA-256 the provider listed; it was deleted.`,
          hint: 'The server sent different bytes than the provider listed. Try again later or report it.',
          details: { rule: 'DL-R06', expected: expected.sha256.toLowerCase(), actual: sha256 },
        });
      }
      verifiedBy.push('sha256');
    }
    if (expected.gitSha1 !== undefined) {
      if (gitSha1 !== expected.gitSha1.toLowerCase()) {
        throw hubError({
          code: 'integrity',
          message: `The file from ${host} does not match the git blob id the provider listed; it was deleted.`,
          details: { rule: 'HF-R03', expected: expected.gitSha1.toLowerCase(), actual: gitSha1 },
        });
      }
      verifiedBy.push('git-sha1');
    }

    // DL-R09: a login page or an error document is never kept as a model.
    const head = await readHead(partial, 512);
    const markup = sniffMarkup(head);
    if (markup === 'html' || (markup === 'json' && params.allowJson !== true)) {
      throw hubError({
        code: 'invalid',
        message: `${host} sent ${markup === 'html' ? 'an HTML page' : 'a JSON document'} instead of a model file; it was deleted.`,
        hint: 'This is usually a login page or an error message: check the token and the model id.',
        details: { rule: 'DL-R09', kind: markup },
      });
    }
    if (params.validate !== undefined) {
      try {
        await params.validate(partial);
      } catch (error) {
        if (error instanceof LorasmithError) throw error;
        throw hubError({ code: 'invalid', message: 'The downloaded file failed validation; it was deleted.', cause: error });
      }
    }

    await rename(partial, finalPath);
    await removeQuietly(sidecarPath);
    return {
      file: finalPath,
      name,
      size: received,
      sha256,
      gitSha1,
      verified: verifiedBy.length > 0,
      verifiedBy,
      resumedFrom: start > 0 ? resumedFrom : 0,
      urlForLog: response.urlForLog,
      headers,
      requests,
    };
  }
}

async function readHead(file: string, length: number): Promise<Uint8Array> {
  const handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
