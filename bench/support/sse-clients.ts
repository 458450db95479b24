/**
 * The SSE clients of bench/jobs-sse.bench.ts, in their own process so their parsing does not share the
 * server's event loop. Opens SSE_COUNT streams on SSE_URL (the Authorization header from SSE_AUTH, kept off
 * argv), prints `{"connected": <ms>}` once every stream has its first bytes, and on `stop` (stdin) prints the
 * delivery latencies of the events that carry a timestamp: `at` (when the server recorded the event) → receipt,
 * and, where `step` holds the producer's print time, print → receipt.
 */
import http from 'node:http';
import { createInterface } from 'node:readline';

const url = new URL(process.env.SSE_URL ?? '');
const count = Number(process.env.SSE_COUNT ?? 100);
const auth = process.env.SSE_AUTH;
const delivery: number[] = [];
const endToEnd: number[] = [];
let received = 0;
let connected = 0;
let connectedAt = Number.POSITIVE_INFINITY;
const requests: http.ClientRequest[] = [];

function onMessage(block: string, now: number): void {
  let data = '';
  for (const line of block.split('\n')) if (line.startsWith('data: ')) data += line.slice(6);
  if (data === '') return;
  const parsed = JSON.parse(data) as { at?: string; step?: number; event?: { kind?: string; step?: number } };
  const at = parsed.at === undefined ? Number.NaN : Date.parse(parsed.at);
  const printed = parsed.event?.kind === 'sample' ? parsed.event.step : parsed.step;
  // Only what was produced after every client was listening: a replayed backlog is not live delivery.
  if (Number.isNaN(at) || printed === undefined || printed < connectedAt) return;
  received++;
  delivery.push(now - at);
  endToEnd.push(now - printed);
}

for (let i = 0; i < count; i++) {
  const request = http.get(url, { agent: false, headers: auth === undefined ? {} : { authorization: auth } }, (response) => {
    if (response.statusCode !== 200) throw new Error(`stream ${i} answered ${response.statusCode}`);
    response.setEncoding('utf8');
    let buffer = '';
    let first = true;
    response.on('data', (chunk: string) => {
      const now = Date.now();
      if (first) {
        first = false;
        if (++connected === count) {
          connectedAt = now;
          process.stdout.write(`${JSON.stringify({ connected: now })}\n`);
        }
      }
      buffer += chunk;
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        onMessage(buffer.slice(0, end), now);
        buffer = buffer.slice(end + 2);
      }
    });
    response.on('error', () => undefined);
  });
  request.on('error', (error) => {
    process.stderr.write(`stream ${i}: ${error.message}\n`);
    process.exit(1);
  });
  requests.push(request);
}

const pct = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
};

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line !== 'stop') return;
  for (const request of requests) request.destroy();
  const stats = (values: number[]) => ({ p50: pct(values, 50), p99: pct(values, 99), max: Math.max(...values) });
  process.stdout.write(`${JSON.stringify({ received, delivery: stats(delivery), endToEnd: stats(endToEnd) })}\n`);
  process.exit(0);
});
