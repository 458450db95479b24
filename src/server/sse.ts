/**
 * Server-Sent Events on the raw response: the studio's only live channel (no WebSocket routes, WEB-R07).
 * The headers the reply already holds (helmet's security headers) are kept.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

const HEARTBEAT_MS = 15_000;

export interface SseChannel {
  send(event: string, data: unknown): void;
  /** `send` with data already serialised: one JSON.stringify for every stream an update goes to. */
  sendJson(event: string, json: string): void;
  close(): void;
  /** Resolves when the client goes away or `close()` is called. */
  readonly closed: Promise<void>;
}

export function openSse(request: FastifyRequest, reply: FastifyReply): SseChannel {
  reply.hijack();
  const raw = reply.raw;
  const kept = Object.entries(reply.getHeaders()).filter((entry): entry is [string, string | number | string[]] => entry[1] !== undefined);
  raw.writeHead(200, {
    ...Object.fromEntries(kept),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.write(': connected\n\n');
  let open = true;
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const finish = () => {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    resolveClosed();
  };
  request.raw.on('close', finish);
  // The frames sent in one turn of the event loop (a batch of events recorded together) leave the socket in one
  // write. The socket is corked, not the response: the response's own corking reorders chunks around `end()`.
  const socket = raw.socket;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket?.uncork();
  };
  const sendJson = (event: string, json: string) => {
    if (!open) return;
    if (!corked && socket !== null) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    raw.write(`event: ${event}\ndata: ${json}\n\n`);
  };
  return {
    send(event, data) {
      sendJson(event, JSON.stringify(data));
    },
    sendJson,
    close() {
      if (!open) return;
      finish();
      raw.end();
    },
    closed,
  };
}
