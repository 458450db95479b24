/**
 * Scripted behaviours of the hub double: honest file serving with Range/If-Range, and the hostile or
 * broken answers of hub-downloads.md §2.3 / §3.3 (off-list and downgrade redirects, loops, Xet 302s with
 * `Link`, hash mismatch, oversize bodies, truncation with a reset, ignored ranges, ETag changes, slow
 * drips, stalls, gzip, error statuses with Retry-After).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Handler, HandlerContext } from './hub-double.ts';

export interface ServeBytesOptions {
  /** Strong ETag to send (quoted by the caller, e.g. `"abc"`); none when absent. */
  etag?: string;
  /** Honour `Range: bytes=N-` (default true). */
  ranges?: boolean;
  /** Answer a Range request with 206 even when If-Range does not match (a broken server). */
  ignoreIfRange?: boolean;
  /** Declared Content-Length; `null` sends none (chunked). Default: the true length. */
  contentLength?: number | null;
  /** gzip the body and say so. */
  gzip?: boolean;
  /** Send this many bytes of the (full or ranged) body, wait, then cut the connection. */
  truncateAt?: number;
  /** Send this many bytes, then go silent (the socket stays open). */
  stallAfter?: number;
  /** Send the body in chunks of this size every `dripIntervalMs`. */
  dripChunk?: number;
  dripIntervalMs?: number;
  headers?: OutgoingHttpHeaders;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function gitBlobSha1Hex(data: Uint8Array): string {
  return createHash('sha1').update(`blob ${data.byteLength}\0`).update(data).digest('hex');
}

/** Deterministic pseudo-random bytes (no binary fixtures in the repo). */
export function testBytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

function writeBody(res: ServerResponse, body: Buffer, options: ServeBytesOptions): void {
  if (options.truncateAt !== undefined) {
    res.write(body.subarray(0, options.truncateAt), () => {
      // Cut the connection mid-body: the client sees the body end before Content-Length, as after a reset.
      // A graceful end (not destroy) so the bytes already sent are never discarded by a reset on a busy
      // machine: what the client received is exactly the first `truncateAt` bytes.
      // The pause lets the client consume those bytes first: a client that sees the close together with
      // unread data may drop the data (harmless in use, a smaller resume offset; fatal for a test).
      setTimeout(() => res.socket?.end(), 400);
    });
    return;
  }
  if (options.stallAfter !== undefined) {
    res.write(body.subarray(0, options.stallAfter));
    return; // silent until the test closes the double
  }
  if (options.dripChunk !== undefined) {
    const chunk = options.dripChunk;
    let offset = 0;
    const timer = setInterval(() => {
      if (res.destroyed || offset >= body.length) {
        clearInterval(timer);
        if (!res.destroyed) res.end();
        return;
      }
      res.write(body.subarray(offset, offset + chunk));
      offset += chunk;
    }, options.dripIntervalMs ?? 20);
    res.on('close', () => clearInterval(timer));
    return;
  }
  res.end(body);
}

/** Serve bytes like a CDN: ETag, Accept-Ranges, Range → 206 when If-Range matches, else 200. */
export function serveBytes(content: Uint8Array, options: ServeBytesOptions = {}): Handler {
  const full = Buffer.from(content);
  return (req, res) => {
    const headers: OutgoingHttpHeaders = { 'content-type': 'application/octet-stream', ...options.headers };
    if (options.etag !== undefined) headers.etag = options.etag;
    let status = 200;
    let body = full;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const rangeOk = options.ranges !== false && range !== null && (options.ignoreIfRange === true || ifRange === undefined || ifRange === options.etag);
    if (options.ranges !== false) headers['accept-ranges'] = 'bytes';
    if (rangeOk && range !== null) {
      const start = Number(range[1]);
      if (start >= full.length) {
        res.writeHead(416, { 'content-range': `bytes */${full.length}` });
        res.end();
        return;
      }
      status = 206;
      body = full.subarray(start);
      headers['content-range'] = `bytes ${start}-${full.length - 1}/${full.length}`;
    }
    if (options.gzip === true) {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    if (options.contentLength !== null) headers['content-length'] = String(options.contentLength ?? body.length);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    writeBody(res, body, options);
  };
}

/** A redirect; `location` may be computed from the context (e.g. an absolute URL on another host). */
export function redirectTo(location: string | ((ctx: HandlerContext) => string), options: { status?: number; headers?: OutgoingHttpHeaders } = {}): Handler {
  return (_req, res, ctx) => {
    const target = typeof location === 'string' ? location : location(ctx);
    res.writeHead(options.status ?? 302, { location: target, 'content-length': '0', ...options.headers });
    res.end();
  };
}

/** The Hub's Xet-backed `/resolve` 302: X-Linked-*, X-Repo-Commit, X-Xet-Hash and a `Link` header. */
export function xetRedirect(params: { location: string | ((ctx: HandlerContext) => string); sha256: string; size: number; commit: string; linkTargets: { auth: string; reconstruction: string } }): Handler {
  return redirectTo(params.location, {
    status: 302,
    headers: {
      'x-linked-etag': `"${params.sha256}"`,
      'x-linked-size': String(params.size),
      'x-repo-commit': params.commit,
      'x-xet-hash': 'f'.repeat(64),
      link: `<${params.linkTargets.auth}>; rel="xet-auth", <${params.linkTargets.reconstruction}>; rel="xet-reconstruction-info"`,
      etag: '"not-a-sha256"',
    },
  });
}

/** A status with an optional body and headers (401/403/404/410/429 …). */
export function respond(status: number, options: { headers?: OutgoingHttpHeaders; body?: string } = {}): Handler {
  return (_req, res) => {
    const body = options.body ?? '';
    res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...options.headers });
    res.end(body);
  };
}

/** The nth request gets the nth handler; the last one repeats. */
export function sequence(...handlers: Handler[]): Handler {
  return (req, res, ctx) => {
    const handler = handlers[Math.min(ctx.count, handlers.length - 1)];
    if (handler === undefined) throw new Error('sequence() needs at least one handler');
    return handler(req, res, ctx);
  };
}
