/**
 * 100 SSE clients on one job whose events come at 50/s (issue #8, point 8): per-event delivery latency
 * (the event's recorded `at` → client receipt) p50/p99, target p99 < 50 ms, and the server process's CPU.
 *
 * The events go through the whole pipeline: a real studio in this process (`startStudio`), a kohya run whose
 * engine is a stand-in printing sd-scripts' sample line (`generating sample images at step …`, one `sample`
 * event per line; progress frames would be folded to one per poll) 50 times a second, through the real run
 * shim and its sandbox, parsed from the shim's log by the job's watch, appended to events.jsonl and SQLite,
 * and fanned out on `/api/jobs/<id>/events` to 100 bearer clients in a child process. The line's step is the
 * stand-in's print time, so print → receipt (including the watch's 100 ms poll) is reported too.
 * Baseline, same run: a bare node:http SSE server in this process sending the same 50 events/s to the same
 * clients (one JSON.stringify per event, no persistence).
 *
 *   node bench/jobs-sse.bench.ts [seconds]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createLogger } from '../src/core/logger.ts';
import { startStudio } from '../src/server/serve.ts';
import { runConfig } from '../test/jobs/helpers/job-workspace.ts';
import { makeJobsSetting } from '../test/jobs/helpers/jobs-e2e.ts';

const SECONDS = Number(process.argv[2] ?? 15);
const RATE = 50;
const CLIENTS = 100;
const SAMPLE_LINE = 'generating sample images at step / サンプル画像生成 ステップ: ';

interface ClientStats {
  received: number;
  delivery: { p50: number; p99: number; max: number };
  endToEnd: { p50: number; p99: number; max: number };
}

/** Start the clients; resolves once every stream is open. */
async function startClients(url: string, auth?: string): Promise<{ connected: number; finish(): Promise<ClientStats> }> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'support', 'sse-clients.ts')], {
    env: { SSE_URL: url, SSE_COUNT: String(CLIENTS), ...(auth === undefined ? {} : { SSE_AUTH: auth }) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  const { connected } = JSON.parse(String(first.value)) as { connected: number };
  return {
    connected,
    async finish() {
      child.stdin.write('stop\n');
      const last = await lines.next();
      return JSON.parse(String(last.value)) as ClientStats;
    },
  };
}

const cpuMs = (usage: NodeJS.CpuUsage): number => (usage.user + usage.system) / 1000;

function report(name: string, stats: ClientStats, cpu: number, seconds: number): void {
  const perSecond = stats.received / CLIENTS / seconds;
  console.log(
    `${name}: ${stats.received} deliveries (${perSecond.toFixed(1)} events/s per client); delivery p50 ${stats.delivery.p50} ms, p99 ${stats.delivery.p99} ms, max ${stats.delivery.max} ms; ` +
      `print → receipt p50 ${stats.endToEnd.p50} ms, p99 ${stats.endToEnd.p99} ms; server CPU ${(cpu / seconds / 10).toFixed(1)} % of a core (${Math.round(cpu)} ms over ${seconds.toFixed(1)} s)`,
  );
}

/** The baseline: a bare node:http SSE server, the same rate and clients. */
async function baseline(): Promise<void> {
  const streams = new Set<http.ServerResponse>();
  const server = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    response.write(': connected\n\n');
    streams.add(response);
    response.on('close', () => streams.delete(response));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const clients = await startClients(`http://127.0.0.1:${port}/`);
  const cpu = process.cpuUsage();
  const started = Date.now();
  for (let i = 0; i < SECONDS * RATE; i++) {
    // Drift-corrected, as the engine stand-in does.
    const due = started + (i * 1000) / RATE;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    const now = Date.now();
    const frame = `event: tick\ndata: ${JSON.stringify({ seq: i, at: new Date(now).toISOString(), step: now })}\n\n`;
    for (const stream of streams) stream.write(frame);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const used = cpuMs(process.cpuUsage(cpu));
  const seconds = (Date.now() - started) / 1000;
  report('baseline (bare node:http SSE)', await clients.finish(), used, seconds);
  for (const stream of streams) stream.destroy();
  server.close();
}

/** The engine stand-in: waits for the clients (a file in its run folder), then prints 50 sample lines/s. */
function engineSource(seconds: number): string {
  return `#!${process.execPath}
// bench/jobs-sse.bench.ts engine stand-in: sd-scripts' sample line, ${RATE}/s, the print time as its step.
const { existsSync } = require('node:fs');
const runDir = require('node:path').dirname(process.argv[process.argv.indexOf('--config_file') + 1]);
const go = runDir + '/bench-go';
const wait = () => new Promise((resolve) => setTimeout(resolve, 20));
(async () => {
  for (let i = 0; !existsSync(go) && i < 3000; i++) await wait();
  const started = Date.now();
  for (let i = 0; i < ${seconds * RATE}; i++) {
    const due = started + (i * 1000) / ${RATE};
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    process.stdout.write(${JSON.stringify(SAMPLE_LINE)} + Date.now() + '\\n');
  }
})();
`;
}

async function studioRun(): Promise<void> {
  const setting = await makeJobsSetting(1);
  const running = { close: async () => {} } as { close(): Promise<void> };
  try {
    await writeFile(setting.engine.location.python, engineSource(SECONDS), { mode: 0o755 });
    Object.assign(process.env, setting.env);
    const studio = await startStudio({ home: setting.ws.home, port: 0, log: createLogger({ level: 'warn' }) });
    running.close = studio.close;
    const job = await studio.studio.jobs.enqueue({ config: runConfig({ base: setting.ws.checkpointId, name: 'sse-bench' }) });
    const secret = (await readFile(path.join(setting.ws.home, 'api-secret'), 'utf8')).trim();
    const clients = await startClients(`${studio.url}/api/jobs/${job.id}/events`, `Bearer ${secret}`);
    // The run folder is where the engine looks for the go file (its config is there): start printing now.
    const runDir = await studio.studio.workspace.resolve('runs', job.id);
    const cpu = process.cpuUsage();
    const started = Date.now();
    await writeFile(path.join(runDir, 'bench-go'), '');
    for (;;) {
      const state = (await studio.studio.jobs.get(job.id)).state;
      if (['succeeded', 'failed', 'cancelled', 'interrupted'].includes(state)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const used = cpuMs(process.cpuUsage(cpu));
    const seconds = (Date.now() - started) / 1000;
    const sandbox = (await studio.studio.jobs.get(job.id)).sandbox;
    report(`lorasmith job stream (sandbox ${sandbox})`, await clients.finish(), used, seconds);
  } finally {
    await running.close();
    await rm(setting.ws.home, { recursive: true, force: true });
    await rm(setting.ws.files, { recursive: true, force: true });
  }
}

await baseline();
await studioRun();
