/**
 * GPU stats through fake `nvidia-smi` programs (Node scripts with a `#!` line, alone in a folder that is the
 * whole PATH) run by the real program runner: readings, [N/A] cells, a failing one, a hanging one, garbage,
 * and the sampler polling only while runs are active, one query at a time.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPU_STATS_ARGS, createGpuStatsSampler, parseGpuStats, sampleGpuStats, type GpuStatsSample } from '../../../src/jobs/metrics/gpu-stats.ts';

let root: string;
let counter = 0;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lorasmith-gpu-stats-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * A folder holding only an `nvidia-smi` that checks its argv, appends its pid to `calls.log` beside it
 * (and to `overlaps.log` if the previous call's process is still alive), then runs `body` (with `call`,
 * the 1-based number of this call).
 */
async function fakeSmi(body: string): Promise<{ dir: string; calls: () => Promise<number[]>; overlaps: () => Promise<string> }> {
  const dir = path.join(root, `bin${counter++}`);
  await mkdir(dir);
  const log = path.join(dir, 'calls.log');
  const overlapLog = path.join(dir, 'overlaps.log');
  const file = path.join(dir, 'nvidia-smi');
  const script = [
    `#!${process.execPath}`,
    `const fs = require('node:fs');`,
    `if (JSON.stringify(process.argv.slice(2)) !== ${JSON.stringify(JSON.stringify(GPU_STATS_ARGS))}) { process.stderr.write('bad args'); process.exit(9); }`,
    `const before = fs.existsSync(${JSON.stringify(log)}) ? fs.readFileSync(${JSON.stringify(log)}, 'utf8').trim().split('\\n') : [];`,
    `const previous = Number(before.at(-1));`,
    `if (previous > 0) { try { process.kill(previous, 0); fs.appendFileSync(${JSON.stringify(overlapLog)}, previous + ' alive when ' + process.pid + ' started\\n'); } catch {} }`,
    `fs.appendFileSync(${JSON.stringify(log)}, process.pid + '\\n');`,
    `const call = before.length + 1;`,
    body,
    '',
  ].join('\n');
  await writeFile(file, script);
  await chmod(file, 0o755);
  const calls = async (): Promise<number[]> => {
    const text = await readFile(log, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map(Number);
  };
  const overlaps = async (): Promise<string> => readFile(overlapLog, 'utf8').catch(() => '');
  return { dir, calls, overlaps };
}

const TWO_GPUS = `process.stdout.write('0, GPU-5f1c2a4e-8b7d-4c21-9e0f-1a2b3c4d5e6f, 87, 20211, 24564, 71\\n1, GPU-0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d, 3, 512, 24564, 38\\n');`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('sampleGpuStats with fake nvidia-smi programs', () => {
  it('two GPUs → their utilisation, memory and temperature, stamped by the injected clock', async () => {
    const { dir } = await fakeSmi(TWO_GPUS);
    expect(await sampleGpuStats({ path: dir, now: () => 1_750_000_000_000 })).toEqual({
      state: 'ok',
      at: 1_750_000_000_000,
      gpus: [
        { index: 0, uuid: 'GPU-5f1c2a4e-8b7d-4c21-9e0f-1a2b3c4d5e6f', utilizationPct: 87, memoryUsedMiB: 20211, memoryTotalMiB: 24564, temperatureC: 71 },
        { index: 1, uuid: 'GPU-0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d', utilizationPct: 3, memoryUsedMiB: 512, memoryTotalMiB: 24564, temperatureC: 38 },
      ],
    });
  });

  it('[N/A] and [Not Supported] cells (a MIG slice) → null readings', async () => {
    const { dir } = await fakeSmi(`process.stdout.write('0, MIG-4f2d1c3b-aaaa-bbbb-cccc-0123456789ab, [N/A], 1024, 9984, [Not Supported]\\r\\n');`);
    const sample = await sampleGpuStats({ path: dir });
    expect(sample.state === 'ok' && sample.gpus).toEqual([{ index: 0, uuid: 'MIG-4f2d1c3b-aaaa-bbbb-cccc-0123456789ab', utilizationPct: null, memoryUsedMiB: 1024, memoryTotalMiB: 9984, temperatureC: null }]);
  });

  it('a failing nvidia-smi (driver gone) → error with its message', async () => {
    const { dir } = await fakeSmi(`process.stdout.write("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\\n"); process.exit(9);`);
    const sample = await sampleGpuStats({ path: dir });
    expect(sample.state).toBe('error');
    expect(sample.state === 'error' && sample.reason).toMatch(/exited with status 9: NVIDIA-SMI has failed because it couldn't communicate/);
  });

  it('a hanging nvidia-smi → error after the time limit, and the program is killed', async () => {
    const { dir, calls } = await fakeSmi(`setInterval(() => {}, 1000);`);
    const started = Date.now();
    const sample = await sampleGpuStats({ path: dir, timeoutMs: 2_000 });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(sample.state === 'error' && sample.reason).toMatch(/did not answer within 2 s \(a hung driver\?\)/);
    const [pid] = await calls();
    expect(pid).toBeGreaterThan(0);
    expect(() => process.kill(pid ?? 0, 0)).toThrow(); // no such process any more
  });

  it('no nvidia-smi on PATH, or "No devices were found" → unavailable (a CPU machine)', async () => {
    const empty = path.join(root, `empty${counter++}`);
    await mkdir(empty);
    expect(await sampleGpuStats({ path: empty })).toMatchObject({ state: 'unavailable', reason: expect.stringMatching(/not on PATH/) });
    const { dir } = await fakeSmi(`process.stdout.write('No devices were found\\n'); process.exit(6);`);
    expect(await sampleGpuStats({ path: dir })).toMatchObject({ state: 'unavailable', reason: expect.stringMatching(/No devices were found/) });
  });

  it('output that does not parse → error naming the problem', async () => {
    const { dir } = await fakeSmi(`process.stdout.write('0, GPU-abc, 87, 20211, 24564\\n');`);
    expect(await sampleGpuStats({ path: dir })).toMatchObject({ state: 'error', reason: expect.stringMatching(/does not parse \(expected 6 columns, got 5/) });
  });

  it('an injected runner that throws → error, not a rejection', async () => {
    const sample = await sampleGpuStats({ run: async () => Promise.reject(new Error('EMFILE: too many open files')) });
    expect(sample).toMatchObject({ state: 'error', reason: expect.stringMatching(/EMFILE/) });
  });
});

describe('parseGpuStats', () => {
  it.each([
    ['utilisation above 100', '0, GPU-1, 101, 1, 2, 30', /above 100/],
    ['used above total', '0, GPU-1, 5, 3, 2, 30', /used above total/],
    ['negative temperature', '0, GPU-1, 5, 1, 2, -4', /whole numbers or \[N\/A\]/],
    ['a unit left in', '0, GPU-1, 5 %, 1, 2, 30', /whole numbers or \[N\/A\]/],
    ['a bad uuid', '0, not a uuid, 5, 1, 2, 30', /bad GPU UUID/],
    ['duplicate index', '0, GPU-1, 5, 1, 2, 30\n0, GPU-2, 5, 1, 2, 30', /listed twice/],
  ])('refuses %s', (_label, text, reason) => {
    expect(parseGpuStats(text)).toMatch(reason);
  });
});

describe('createGpuStatsSampler', () => {
  it('polls only while active: nothing before, readings at the interval, none after, again when reactivated', async () => {
    const { dir, calls, overlaps } = await fakeSmi(`process.stdout.write('0, GPU-1, ' + Math.min(call, 100) + ', 100, 200, 40\\n');`);
    const samples: GpuStatsSample[] = [];
    const sampler = createGpuStatsSampler({ path: dir, intervalMs: 40, onSample: (s) => samples.push(s) });
    await sleep(150);
    expect(await calls()).toEqual([]);
    expect(sampler.latest()).toBeUndefined();

    sampler.setActive(true);
    sampler.setActive(true); // idempotent: still one loop
    for (let waited = 0; samples.length < 4 && waited < 10_000; waited += 20) await sleep(20);
    sampler.setActive(false);
    await sleep(150); // a reading in flight when it went inactive is still delivered
    const seen = samples.length;
    expect(seen).toBeGreaterThanOrEqual(4);
    const utilisation = samples.map((s) => (s.state === 'ok' ? s.gpus[0]?.utilizationPct : -1));
    expect(utilisation).toEqual(utilisation.map((_, i) => i + 1)); // one call per reading, in order
    expect(sampler.latest()).toEqual(samples.at(-1));

    const callsWhenInactive = (await calls()).length;
    await sleep(300);
    expect((await calls()).length).toBe(callsWhenInactive);
    expect(samples.length).toBe(seen);

    sampler.setActive(true);
    for (let waited = 0; samples.length === seen && waited < 10_000; waited += 20) await sleep(20);
    expect(samples.length).toBeGreaterThan(seen);
    await sampler.stop();
    const after = (await calls()).length;
    await sleep(200);
    expect((await calls()).length).toBe(after);
    sampler.setActive(true); // stopped for good
    await sleep(100);
    expect((await calls()).length).toBe(after);
    expect(await overlaps()).toBe('');
  });

  it('a hanging nvidia-smi: error readings, and never two queries at once', async () => {
    const { dir, calls, overlaps } = await fakeSmi(`setInterval(() => {}, 1000);`);
    const samples: GpuStatsSample[] = [];
    const sampler = createGpuStatsSampler({ path: dir, intervalMs: 10, timeoutMs: 1_000, onSample: (s) => samples.push(s) });
    sampler.setActive(true);
    for (let waited = 0; samples.length < 3 && waited < 20_000; waited += 20) await sleep(20);
    await sampler.stop();
    expect(samples.length).toBeGreaterThanOrEqual(3);
    expect(samples.every((s) => s.state === 'error' && /did not answer/.test(s.reason))).toBe(true);
    // Each query starts only after the previous one was killed at its time limit.
    expect((await calls()).length).toBeGreaterThanOrEqual(3);
    expect(await overlaps()).toBe('');
  });

  it('a failure then recovery: an error reading, then readings again; a throwing listener does not stop it', async () => {
    const { dir } = await fakeSmi(`if (call === 2) { process.stderr.write('Unable to determine the device handle for GPU0000:01:00.0: Unknown Error\\n'); process.exit(15); } ${TWO_GPUS}`);
    const states: string[] = [];
    const sampler = createGpuStatsSampler({
      path: dir,
      intervalMs: 20,
      onSample: (s) => {
        states.push(s.state);
        if (states.length === 1) throw new Error('listener bug');
      },
    });
    sampler.setActive(true);
    for (let waited = 0; states.length < 4 && waited < 10_000; waited += 20) await sleep(20);
    await sampler.stop();
    expect(states.slice(0, 4)).toEqual(['ok', 'error', 'ok', 'ok']);
    expect(sampler.latest()?.state).toBe('ok');
  });
});
