/**
 * The Jobs page's read-only views over real HTTP (src/server/routes/job-view-routes.ts): the sample PNGs the
 * KOHYA ENGINE DOUBLE wrote in a run folder, listed and served — never through a link, never outside work/,
 * never a file that is not a PNG — and the studio's GPU readings from a fake `nvidia-smi`, taken only while
 * a job is active.
 */
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { createGpuStatsService } from '../../src/jobs/gpu-stats-service.ts';
import type { JobUpdate } from '../../src/jobs/job-service.ts';
import { JobStore } from '../../src/jobs/job-store.ts';
import { jobsDb } from '../../src/jobs/job-tables.ts';
import type { JobRecord, JobState } from '../../src/jobs/job-types.ts';
import { GPU_STATS_ARGS } from '../../src/jobs/metrics/index.ts';
import { openStudio, type Studio } from '../../src/studio/studio.ts';
import { prepareKohyaRun } from '../../src/training/engines/kohya/launch.ts';
import type { KohyaRunInput } from '../../src/training/engines/kohya/types.ts';
import type { RunConfig } from '../../src/training/schema/index.ts';
import { kohyaDoubleEngine, writePythonStandIn } from '../doubles/kohya/launcher.ts';
import { startTestStudio, makeHome, type TestStudio } from '../helpers/studio.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lorasmith-job-views-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const quiet = createLogger({ level: 'warn', destination: new Writable({ write: (_chunk, _encoding, callback) => callback() }) });

/** A folder holding only a fake `nvidia-smi` that checks its argv, counts its calls in `calls.log`, and lists two GPUs. */
async function fakeNvidiaSmi(dir: string): Promise<{ dir: string; calls: () => Promise<number> }> {
  await mkdir(dir, { recursive: true });
  const log = path.join(dir, 'calls.log');
  const file = path.join(dir, 'nvidia-smi');
  await writeFile(
    file,
    [
      `#!${process.execPath}`,
      `const fs = require('node:fs');`,
      `if (JSON.stringify(process.argv.slice(2)) !== ${JSON.stringify(JSON.stringify(GPU_STATS_ARGS))}) { process.stderr.write('unexpected arguments'); process.exit(9); }`,
      `fs.appendFileSync(${JSON.stringify(log)}, 'x');`,
      `process.stdout.write('0, GPU-5f1c2a4e-8b7d-4c21-9e0f-1a2b3c4d5e6f, 87, 20211, 24564, 71\\n1, GPU-0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d, 3, 512, 24564, 38\\n');`,
      '',
    ].join('\n'),
  );
  await chmod(file, 0o755);
  return { dir, calls: async () => (await readFile(log, 'utf8').catch(() => '')).length };
}

/** The part of the job service the GPU sampler follows: updates and the list of active jobs, driven by the test. */
function jobSource(initial: Array<Pick<JobRecord, 'id' | 'state'>>) {
  const emitter = new EventEmitter();
  const jobs = new Map(initial.map((job) => [job.id, job]));
  return {
    list: async (params: { states?: readonly JobState[] } = {}) =>
      [...jobs.values()].filter((job) => params.states === undefined || params.states.includes(job.state)) as JobRecord[],
    subscribe: (_id: string | null, listener: (update: JobUpdate) => void) => {
      emitter.on('job', listener);
      return () => emitter.off('job', listener);
    },
    set(id: string, state: JobState) {
      jobs.set(id, { id, state });
      emitter.emit('job', { type: 'job', job: { id, state } as JobRecord });
    },
  };
}

describe('the studio GPU sampler', () => {
  it('asks nvidia-smi only while a job is starting, running or stopping, and keeps the last reading', async () => {
    const smi = await fakeNvidiaSmi(path.join(root, 'smi-service'));
    const source = jobSource([{ id: 'done', state: 'succeeded' }]);
    const service = createGpuStatsService({ jobs: source, path: smi.dir, intervalMs: 40 });
    try {
      await sleep(200);
      expect(service.view()).toEqual({ active: false, sample: null });
      expect(await smi.calls()).toBe(0);

      source.set('a', 'starting');
      await expect.poll(() => service.view().sample?.state, { timeout: 10_000 }).toBe('ok');
      expect(service.view()).toMatchObject({ active: true, sample: { state: 'ok', gpus: [{ index: 0, utilizationPct: 87, memoryUsedMiB: 20211, temperatureC: 71 }, { index: 1 }] } });
      source.set('b', 'running');
      source.set('a', 'failed');
      await expect.poll(() => smi.calls(), { timeout: 10_000 }).toBeGreaterThan(2);
      expect(service.view().active).toBe(true);

      source.set('b', 'succeeded');
      expect(service.view().active).toBe(false);
      await sleep(300);
      const after = await smi.calls();
      await sleep(400);
      expect(await smi.calls()).toBe(after);
      // The last reading stays for the page, marked as not live.
      expect(service.view()).toMatchObject({ active: false, sample: { state: 'ok' } });
    } finally {
      await service.close();
    }
  });

  it('a job already running when the studio starts turns the sampler on', async () => {
    const smi = await fakeNvidiaSmi(path.join(root, 'smi-startup'));
    const source = jobSource([{ id: 'left-running', state: 'running' }]);
    const service = createGpuStatsService({ jobs: source, path: smi.dir, intervalMs: 1000 });
    try {
      await expect.poll(() => service.view().sample?.state, { timeout: 10_000 }).toBe('ok');
      expect(service.view().active).toBe(true);
    } finally {
      await service.close();
    }
    const calls = await smi.calls();
    await sleep(1200);
    expect(await smi.calls()).toBe(calls);
  });
});

// ---- over HTTP ---------------------------------------------------------------------------------------------

/** A job record as the job service writes it (real SQLite), without running anything. */
async function seedJob(studio: Studio, params: { name: string; engine?: 'kohya' | 'fluxflow'; end?: JobState }): Promise<string> {
  const store = new JobStore({ db: jobsDb(studio.db) });
  const id = randomUUID();
  await store.insert({
    id,
    engine: params.engine ?? 'kohya',
    name: params.name,
    family: 'sd1',
    config: { schema: 'lorasmith/run@1', kind: 'kohya', name: params.name } as unknown as RunConfig,
    seed: 42,
    datasets: [],
    device: 'cpu',
    gpuRequest: null,
    allowUnsandboxed: false,
    resumedFrom: null,
    resumeState: null,
    manifestSha256: '0'.repeat(64),
  });
  // enqueue makes the run folder (0700) before the record.
  await mkdir(await studio.workspace.resolve('runs', id), { recursive: true, mode: 0o700 });
  if (params.end !== undefined) await store.transition(id, ['queued'], params.end);
  return id;
}

/** Lay out `runs/<id>/` with the real kohya adapter and let the KOHYA ENGINE DOUBLE train in it: 2 epochs, 2 sample prompts. */
async function trainWithDouble(runDir: string, engineDir: string, datasetDir: string): Promise<void> {
  const input: KohyaRunInput = {
    script: 'train_network.py',
    args: {
      pretrained_model_name_or_path: path.join(root, 'sd15.safetensors'),
      network_module: 'networks.lora',
      network_dim: 4,
      network_alpha: 2,
      learning_rate: 0.0001,
      max_train_epochs: 2,
      save_every_n_epochs: 1,
      output_name: 'views',
      sample_every_n_epochs: 1,
      sample_at_first: true,
      seed: 42,
    },
    general: { caption_extension: '.txt' },
    datasets: [{ resolution: 512, batch_size: 1, subsets: [{ name: 'character', source_dir: datasetDir, num_repeats: 2 }] }],
    samplePrompts: [
      { prompt: 'sks woman, portrait', seed: 7, width: 64, height: 96 },
      { prompt: 'sks woman, full body', seed: 8, width: 64, height: 64 },
    ],
  };
  const launch = await prepareKohyaRun(input, { runDir, engine: kohyaDoubleEngine(engineDir) });
  const [command, ...args] = launch.argv;
  const child = spawn(command ?? '', args, { cwd: launch.cwd, env: launch.env, shell: false, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`the kohya double failed (${code}): ${stderr}`);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('job views over HTTP', () => {
  let studio: TestStudio;
  let smi: Awaited<ReturnType<typeof fakeNvidiaSmi>>;
  let jobId: string;
  let fluxflowId: string;
  let linkedId: string;
  let runDir: string;
  let outside: string;
  const savedPath = process.env.PATH;

  const get = (pathname: string) => studio.asBearer({ path: pathname });
  const getBytes = async (pathname: string) => {
    const response = await fetch(`${studio.url}${pathname}`, { headers: { authorization: `Bearer ${await studio.apiSecret()}` } });
    return { status: response.status, type: response.headers.get('content-type'), cache: response.headers.get('cache-control'), nosniff: response.headers.get('x-content-type-options'), body: Buffer.from(await response.arrayBuffer()) };
  };

  beforeAll(async () => {
    const engineDir = path.join(root, 'engine');
    await writePythonStandIn(engineDir);
    const datasetDir = path.join(root, 'dataset', 'character');
    await mkdir(datasetDir, { recursive: true });
    for (const i of [0, 1, 2]) {
      await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: 60 * i, g: 90, b: 200 } } }).png().toFile(path.join(datasetDir, `img${i}.png`));
      await writeFile(path.join(datasetDir, `img${i}.txt`), 'sks woman');
    }
    outside = path.join(root, 'outside');
    await mkdir(outside, { recursive: true });
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toFile(path.join(outside, 'secret.png'));

    // Seed the jobs and their run folders with the studio closed, as a finished run leaves them.
    const home = await makeHome();
    const offline = await openStudio({ home, env: {}, log: quiet });
    jobId = await seedJob(offline, { name: 'views', end: 'succeeded' });
    fluxflowId = await seedJob(offline, { name: 'flux', engine: 'fluxflow', end: 'failed' });
    linkedId = await seedJob(offline, { name: 'linked', end: 'failed' });
    runDir = await offline.workspace.resolve('runs', jobId);
    await trainWithDouble(runDir, engineDir, datasetDir);
    const linkedOutput = path.join(await offline.workspace.resolve('runs', linkedId), 'work', 'output');
    await mkdir(linkedOutput, { recursive: true });
    await symlink(outside, path.join(linkedOutput, 'sample'));
    await offline.close();

    smi = await fakeNvidiaSmi(path.join(root, 'smi-studio'));
    // The studio's GPU sampler searches this process's PATH.
    process.env.PATH = `${smi.dir}:${savedPath ?? '/usr/bin:/bin'}`;
    studio = await startTestStudio({ home });
  }, 120_000);

  afterAll(async () => {
    process.env.PATH = savedPath;
    await studio?.stop();
  });

  describe('samples', () => {
    const sampleDir = () => path.join(runDir, 'work', 'output', 'sample');

    it('lists the PNGs the engine wrote, by epoch (0 = before training) and prompt, oldest first', async () => {
      const response = await get(`/api/jobs/${jobId}/samples`);
      expect(response.status, response.body).toBe(200);
      const { samples, skipped } = response.json<{ samples: Array<{ name: string; epoch: number; step: number | null; prompt: number; seed: number; size: number }>; skipped: number }>();
      expect(skipped).toBe(0);
      expect(samples.map((s) => [s.epoch, s.prompt, s.seed])).toEqual([
        [0, 0, 7],
        [0, 1, 8],
        [1, 0, 7],
        [1, 1, 8],
        [2, 0, 7],
        [2, 1, 8],
      ]);
      expect(samples.every((s) => s.step === null && s.name.startsWith('views_e00000') && s.size > 0)).toBe(true);
      expect(samples.map((s) => s.name).sort()).toEqual((await readdir(sampleDir())).sort());
    });

    it('serves one sample as image/png, byte for byte', async () => {
      const [name] = (await readdir(sampleDir())).sort();
      const served = await getBytes(`/api/jobs/${jobId}/samples/${encodeURIComponent(name ?? '')}`);
      expect(served.status).toBe(200);
      expect(served.type).toBe('image/png');
      expect(served.nosniff).toBe('nosniff');
      expect(served.cache).toContain('private');
      expect(served.body.equals(await readFile(path.join(sampleDir(), name ?? '')))).toBe(true);
      expect(served.body.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    });

    it('no traversal: encoded separators and dots, backslashes and other files of the run are 404', async () => {
      // A real PNG one folder up (the output folder) and the run's control files are what an attacker would want.
      await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toFile(path.join(runDir, 'work', 'output', 'up.png'));
      for (const name of ['..%2Fup.png', '%2E%2E%2Fup.png', '..%5Cup.png', '%252E%252E%252Fup.png', '..%2F..%2F..%2Fmanifest.json', '..%2F..%2Fshim.json%00.png', 'up.png', '.png']) {
        const response = await getBytes(`/api/jobs/${jobId}/samples/${name}`);
        expect(response.status, name).toBe(404);
        expect(response.body.subarray(0, 8).equals(PNG_SIGNATURE), name).toBe(false);
      }
      expect((await get(`/api/jobs/${jobId}/samples/../../../manifest.json`)).status).toBe(404);
      expect((await get(`/api/jobs/..%2F..%2Fmodels/samples`)).status).toBe(404);
    });

    it('no links: a planted symlink (to outside, or to another sample) is neither listed nor served; a sample folder that is a link is not read', async () => {
      const [real] = (await readdir(sampleDir())).sort();
      await symlink(path.join(outside, 'secret.png'), path.join(sampleDir(), 'views_e000009_00_29990101000000.png'));
      await symlink(path.join(sampleDir(), real ?? ''), path.join(sampleDir(), 'views_e000009_01_29990101000000.png'));
      await symlink(outside, path.join(sampleDir(), 'folder-link.png'));
      await mkdir(path.join(sampleDir(), 'nested'));
      await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toFile(path.join(sampleDir(), 'nested', 'deep.png'));
      const { samples, skipped } = (await get(`/api/jobs/${jobId}/samples`)).json<{ samples: Array<{ name: string }>; skipped: number }>();
      expect(samples.map((s) => s.name)).not.toEqual(expect.arrayContaining([expect.stringContaining('e000009')]));
      expect(samples).toHaveLength(6);
      expect(skipped).toBe(4);
      for (const name of ['views_e000009_00_29990101000000.png', 'views_e000009_01_29990101000000.png', 'folder-link.png%2Fsecret.png', 'nested%2Fdeep.png']) {
        expect((await getBytes(`/api/jobs/${jobId}/samples/${name}`)).status, name).toBe(404);
      }

      const linked = (await get(`/api/jobs/${linkedId}/samples`)).json<{ samples: unknown[]; skipped: number }>();
      expect(linked).toEqual({ samples: [], skipped: 1 });
      expect((await getBytes(`/api/jobs/${linkedId}/samples/secret.png`)).status).toBe(404);
    });

    it('a FIFO or a file that is not a PNG is never served', async () => {
      const fifo = path.join(sampleDir(), 'views_e000008_00_29990101000000.png');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      await writeFile(path.join(sampleDir(), 'views_e000008_01_29990101000000.png'), '<script>alert(1)</script>');
      const { samples } = (await get(`/api/jobs/${jobId}/samples`)).json<{ samples: Array<{ name: string }> }>();
      expect(samples.map((s) => s.name)).not.toContain(path.basename(fifo));
      const started = Date.now();
      expect((await getBytes(`/api/jobs/${jobId}/samples/${path.basename(fifo)}`)).status).toBe(404);
      expect(Date.now() - started).toBeLessThan(5_000);
      const fake = await getBytes(`/api/jobs/${jobId}/samples/views_e000008_01_29990101000000.png`);
      expect(fake.status).toBe(404);
      expect(fake.body.toString('utf8')).not.toContain('<script>');
    });

    it('an engine without samples lists none; an unknown job is 404', async () => {
      expect((await get(`/api/jobs/${fluxflowId}/samples`)).json()).toEqual({ samples: [], skipped: 0 });
      expect((await get(`/api/jobs/${randomUUID()}/samples`)).status).toBe(404);
      expect((await get(`/api/jobs/${randomUUID()}/samples/a.png`)).status).toBe(404);
    });
  });

  describe('GPU stats', () => {
    it('no reading while nothing runs; readings from nvidia-smi while a job is active, none after it ends', async () => {
      const idle = await get('/api/gpus/stats');
      expect(idle.status).toBe(200);
      expect(idle.json()).toEqual({ active: false, sample: null });
      await sleep(300);
      expect(await smi.calls()).toBe(0);

      // A queued CPU job: the scheduler claims the slot (starting), then the launch fails (this run folder has
      // no manifest) — the sampler follows both transitions.
      const brief = await seedJob(studio.running.studio, { name: 'brief' });
      await expect.poll(async () => (await studio.running.studio.jobs.get(brief)).state, { timeout: 15_000 }).toBe('failed');
      await expect.poll(async () => (await get('/api/gpus/stats')).json<{ active: boolean; sample: { state: string } | null }>(), { timeout: 10_000 }).toMatchObject({ active: false, sample: { state: 'ok' } });
      expect((await get('/api/gpus/stats')).json()).toMatchObject({
        active: false,
        sample: { state: 'ok', gpus: [{ index: 0, uuid: 'GPU-5f1c2a4e-8b7d-4c21-9e0f-1a2b3c4d5e6f', utilizationPct: 87, memoryUsedMiB: 20211, memoryTotalMiB: 24564, temperatureC: 71 }, { index: 1, utilizationPct: 3 }] },
      });
      const calls = await smi.calls();
      expect(calls).toBeGreaterThan(0);
      await sleep(2500);
      expect(await smi.calls()).toBe(calls);
    });
  });
});
