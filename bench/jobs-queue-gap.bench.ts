/**
 * The gap between one queued run ending and the next one's engine starting (issue #8, point 8), target < 1 s.
 * A real studio in this process (`startStudio`), one GPU slot (fake nvidia-smi), N runs of the KOHYA ENGINE
 * DOUBLE queued at once; each run goes through the real run shim and sandbox, succeeds, and has its output
 * scanned into the library. Per gap, from the files the runs leave:
 *
 *   ended      the first run's shim records its exit (status.json `exit.at`)
 *   released   its job is final (the record's `finishedAt`: output imported; its slot was given back before the
 *              import, so the next run's prepare overlaps it)
 *   prepared   the next run's shim.json is written (manifest recheck, sandbox choice, engine prepare done)
 *   shim       the next run's shim process starts (its start time in /proc)
 *   shim ready the shim has loaded its code and claimed the run (status.json `startedAt`)
 *   engine     the next run's engine process starts (status.json `engine`, its start time in /proc)
 *
 *   node bench/jobs-queue-gap.bench.ts [runs]
 */
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createLogger } from '../src/core/logger.ts';
import type { ShimStatus } from '../src/jobs/shim/protocol.ts';
import { startStudio } from '../src/server/serve.ts';
import { runConfig } from '../test/jobs/helpers/job-workspace.ts';
import { makeJobsSetting } from '../test/jobs/helpers/jobs-e2e.ts';

const RUNS = Number(process.argv[2] ?? 4);
const TICKS_PER_SECOND = 100;

/** Wall-clock ms of a /proc start time (clock ticks since boot), by the boot clock's offset now. */
async function ticksToMs(ticks: string): Promise<number> {
  const uptime = Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
  return Date.now() - uptime * 1000 + (Number(ticks) * 1000) / TICKS_PER_SECOND;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const setting = await makeJobsSetting(1);
const running = { close: async () => {} } as { close(): Promise<void> };
try {
  Object.assign(process.env, setting.env);
  const studio = await startStudio({ home: setting.ws.home, port: 0, log: createLogger({ level: 'warn' }) });
  running.close = studio.close;
  const jobs = studio.studio.jobs;
  const names = Array.from({ length: RUNS }, (_, i) => `gap${i}`);
  // Short runs: one epoch at the double's speed, so the bench is about the gap, not the training.
  await setting.engine.set(Object.fromEntries(names.map((name) => [name, { speed: 200 }])));
  const queued = [];
  for (const name of names) queued.push(await jobs.enqueue({ config: runConfig({ base: setting.ws.checkpointId, name, epochs: 1, saveState: false }) }));
  for (;;) {
    const states = await Promise.all(queued.map(async (job) => (await jobs.get(job.id)).state));
    if (states.every((state) => ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(state))) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const rows = [];
  for (const job of queued) {
    const record = await jobs.get(job.id);
    const runDir = await studio.studio.workspace.resolve('runs', job.id);
    const status = JSON.parse(await readFile(path.join(runDir, 'status.json'), 'utf8')) as ShimStatus;
    rows.push({
      state: record.state,
      sandbox: record.sandbox,
      ended: status.exit === null ? Number.NaN : Date.parse(status.exit.at),
      released: record.finishedAt === null ? Number.NaN : Date.parse(record.finishedAt),
      prepared: (await stat(path.join(runDir, 'shim.json'))).mtimeMs,
      shim: await ticksToMs(status.shim.startTicks),
      shimReady: Date.parse(status.startedAt),
      engine: status.engine === null ? Number.NaN : await ticksToMs(status.engine.startTicks),
    });
  }
  console.log(`runs: ${rows.map((row) => `${row.state} (${row.sandbox})`).join(', ')}`);
  const parts: Record<string, number[]> = { 'ended → released': [], 'released → prepared': [], 'prepared → shim': [], 'shim → shim ready': [], 'shim ready → engine': [], 'gap (ended → engine)': [] };
  for (let i = 1; i < rows.length; i++) {
    const [before, next] = [rows[i - 1]!, rows[i]!];
    parts['ended → released']!.push(before.released - before.ended);
    parts['released → prepared']!.push(next.prepared - before.released);
    parts['prepared → shim']!.push(next.shim - next.prepared);
    parts['shim → shim ready']!.push(next.shimReady - next.shim);
    parts['shim ready → engine']!.push(next.engine - next.shimReady);
    parts['gap (ended → engine)']!.push(next.engine - before.ended);
  }
  for (const [name, values] of Object.entries(parts)) console.log(`${name.padEnd(22)} median ${Math.round(median(values))} ms  (${values.map((v) => Math.round(v)).join(', ')})`);
} finally {
  await running.close();
  await rm(setting.ws.home, { recursive: true, force: true });
  await rm(setting.ws.files, { recursive: true, force: true });
}
