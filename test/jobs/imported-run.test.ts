/**
 * A run imported from an sd-scripts `--config_file` TOML, queued as a job: its model file and image folder sit
 * outside the workspace (operator inputs). Through the CLI in-process and through a running studio (real run
 * shim, bubblewrap where it works, the KOHYA ENGINE DOUBLE): it runs to success with the inputs bound
 * read-only and hashed into the manifest. In-process through the jobs domain: an input changed between enqueue
 * and start fails the run with the file named; an unsafe pickle refuses enqueue. Over HTTP only the install's
 * API secret may send operator paths or resume a job built on them: a browser session and a named token are
 * refused, each refusal a security event.
 */
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { JobService } from '../../src/jobs/job-service.ts';
import { jobSettingsSchema } from '../../src/jobs/job-settings.ts';
import type { JobRecord } from '../../src/jobs/job-types.ts';
import { openStudio } from '../../src/studio/studio.ts';
import { KohyaTrainingEngine } from '../../src/training/engines/kohya/engine.ts';
import type { OperatorImport } from '../../src/training/import/operator-job.ts';
import { probeGpus } from '../../src/training/planner/probe-gpus.ts';
import { studioRunResolver } from '../../src/training/resolve-run.ts';
import { rawRequest } from '../helpers/http.ts';
import { maliciousPickle } from '../helpers/model-files.ts';
import { PNG, sd1CheckpointSafetensors } from '../train/train-workspace.ts';
import { isFinal, makeJobsSetting, runCli, startServe, waitForJob, type JobsSetting } from './helpers/jobs-e2e.ts';
import { processRunner } from './helpers/process-runner.ts';

let setting: JobsSetting;
/** Another tool's files, outside the workspace. */
let ext: string;
let model: string;
let images: string;

beforeAll(async () => {
  setting = await makeJobsSetting(2);
  ext = path.join(setting.ws.files, 'kohya-home');
  model = path.join(ext, 'models', 'sd15.safetensors');
  images = path.join(ext, 'train', '10_sks dog');
  await mkdir(path.dirname(model), { recursive: true });
  await writeFile(model, sd1CheckpointSafetensors());
  await writeFile(path.join(ext, 'models', 'evil.ckpt'), maliciousPickle(`touch ${path.join(ext, 'pwned')}`));
  await mkdir(images, { recursive: true });
  for (const image of ['a', 'b']) {
    await writeFile(path.join(images, `${image}.png`), PNG);
    await writeFile(path.join(images, `${image}.caption`), `sks dog, photo ${image}`);
  }
}, 180_000);

afterAll(async () => {
  await rm(setting.ws.home, { recursive: true, force: true });
  await rm(setting.ws.files, { recursive: true, force: true });
});

/** An sd-scripts `--config_file` TOML: the model by a relative path, the image folder absolute, output_dir elsewhere. */
function sdScriptsToml(name: string, base = 'models/sd15.safetensors'): string {
  return `[model_arguments]
pretrained_model_name_or_path = "${base}"

[dataset_arguments]
train_data_dir = "${path.join(ext, 'train')}"
resolution = "512,512"
caption_extension = ".caption"

[training_arguments]
output_dir = "/somewhere/else/out"
logging_dir = "/somewhere/else/logs"
output_name = "${name}"
network_module = "networks.lora"
network_dim = 8
network_alpha = 4
learning_rate = 1e-4
max_train_epochs = 2
train_batch_size = 1
save_every_n_epochs = 1
save_state = true
seed = 42
`;
}

async function configFile(name: string, base?: string): Promise<string> {
  const file = path.join(ext, `${name}.toml`);
  await writeFile(file, sdScriptsToml(name, base));
  return file;
}

function request(text: string, fileName: string): OperatorImport {
  return { text, fileName, baseDir: ext, from: 'kohya', family: 'sd1' };
}

interface ShimSpecFile {
  sandbox: { mode: string; readOnly: string[]; writable: string[] };
}

interface ManifestFile {
  models: unknown[];
  datasets: unknown[];
  operator: Array<{ field: string; role: string; path: string; files: Array<{ path: string; sha256: string }> }>;
}

async function readRunFile<T>(id: string, name: string): Promise<T> {
  return JSON.parse(await readFile(path.join(setting.ws.home, 'runs', id, name), 'utf8')) as T;
}

describe('lorasmith train an sd-scripts config', () => {
  it('in this process: queued, run to success on the operator inputs, bound read-only and in the manifest', async () => {
    await setting.engine.set({ 'imported-local': { speed: 100 } });
    const result = runCli(setting, ['train', await configFile('imported-local'), '--family', 'sd1', '--json']);
    expect(result.stderr).toBe('');
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as { type: string; job: JobRecord };
    expect(summary).toMatchObject({ type: 'summary', job: { state: 'succeeded', name: 'imported-local', datasets: [] } });
    expect(result.code).toBe(0);
    expect(summary.job.outputModelId).not.toBeNull();
    const id = summary.job.id;

    const spec = await readRunFile<ShimSpecFile>(id, 'shim.json');
    expect(spec.sandbox.readOnly).toEqual(expect.arrayContaining([model, images]));
    expect(spec.sandbox.writable).toEqual([path.join(setting.ws.home, 'runs', id, 'work')]);
    const manifest = await readRunFile<ManifestFile>(id, 'manifest.json');
    expect(manifest.models).toEqual([]);
    expect(manifest.datasets).toEqual([]);
    expect(manifest.operator.map((input) => [input.field, input.path])).toEqual([
      ['model.base', model],
      ['datasets[0].dataset', path.join(ext, 'train')],
    ]);
    expect(manifest.operator[1]?.files.map((file) => path.relative(images, file.path))).toEqual(['a.caption', 'a.png', 'b.caption', 'b.png']);
    // The images were linked into the run's work/, where the engine writes its caches (never into the operator's folder).
    const dataset = await readFile(path.join(setting.ws.home, 'runs', id, 'dataset.toml'), 'utf8');
    expect(dataset).toContain(path.join(setting.ws.home, 'runs', id, 'work', 'images'));
    expect(dataset).not.toContain(images);
  }, 180_000);

  it('an unsafe pickle as the base model: the run is refused with the verdict, exit 1, nothing queued', async () => {
    const before = JSON.parse(runCli(setting, ['jobs', 'list', '--json']).stdout) as { jobs: JobRecord[] };
    const result = runCli(setting, ['train', await configFile('imported-evil', 'models/evil.ckpt'), '--family', 'sd1']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(path.join(ext, 'models', 'evil.ckpt'));
    const after = JSON.parse(runCli(setting, ['jobs', 'list', '--json']).stdout) as { jobs: JobRecord[] };
    expect(after.jobs).toHaveLength(before.jobs.length);
  }, 120_000);
});

describe('the jobs domain in this process', () => {
  const quiet = createLogger({ level: 'warn', destination: new Writable({ write: (_chunk, _encoding, callback) => callback() }) });

  async function withService<T>(work: (jobs: JobService) => Promise<T>): Promise<T> {
    const studio = await openStudio({ home: setting.ws.home, env: {}, log: quiet });
    const runner = processRunner();
    const jobs = new JobService({
      db: studio.db,
      workspace: studio.workspace,
      log: quiet,
      library: studio.library,
      securityEvents: studio.securityEvents,
      runner,
      engines: { kohya: new KohyaTrainingEngine({ workspace: studio, locate: async () => ({ installed: true, location: setting.engine.location }) }) },
      probeGpus: () => probeGpus({ path: setting.env.PATH ?? '' }),
      resolver: studioRunResolver(studio),
      settings: async () => jobSettingsSchema.parse({}),
      pollMs: 50,
    });
    try {
      return await work(jobs);
    } finally {
      await jobs.close();
      runner.killAll();
      await studio.close();
    }
  }

  async function untilEnded(jobs: JobService, id: string): Promise<JobRecord> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const job = await jobs.get(id);
      if (isFinal(job) || Date.now() > deadline) return job;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('an image changed between enqueue and start fails the run with the file named', async () => {
    await withService(async (jobs) => {
      const job = await jobs.enqueueImported({ import: request(sdScriptsToml('imported-edited'), 'edited.toml') });
      expect(job.state).toBe('queued');
      // Not supervising yet: the job waits while the operator's caption changes.
      const caption = path.join(images, 'b.caption');
      const original = await readFile(caption, 'utf8');
      await writeFile(caption, 'changed while queued');
      try {
        await jobs.supervise();
        const done = await untilEnded(jobs, job.id);
        expect(done).toMatchObject({ state: 'failed', failure: { code: 'manifest-mismatch' } });
        expect(done.failure?.message).toContain(`${caption} changed`);
      } finally {
        await writeFile(caption, original);
      }
    });
  }, 120_000);

  it('a model file replaced by an unsafe pickle between enqueue and start fails the run with its verdict', async () => {
    const swapped = path.join(ext, 'models', 'swapped.safetensors');
    await writeFile(swapped, sd1CheckpointSafetensors());
    await withService(async (jobs) => {
      const job = await jobs.enqueueImported({ import: request(sdScriptsToml('imported-swapped', 'models/swapped.safetensors'), 'swapped.toml') });
      await writeFile(swapped, maliciousPickle(`touch ${path.join(ext, 'pwned')}`));
      await jobs.supervise();
      const done = await untilEnded(jobs, job.id);
      expect(done).toMatchObject({ state: 'failed', failure: { code: 'operator-input-refused', message: expect.stringContaining(swapped) } });
    });
  }, 120_000);

  it('a safe PyTorch checkpoint is converted into the run’s inputs/ at start; the engine gets the copy, never the pickle', async () => {
    const ckpt = path.join(ext, 'models', 'lightning-sd.ckpt');
    await copyFile(path.resolve('test/fixtures/torch/lightning-sd.ckpt'), ckpt);
    await setting.engine.set({ 'imported-ckpt': { speed: 100 } });
    await withService(async (jobs) => {
      const job = await jobs.enqueueImported({ import: request(sdScriptsToml('imported-ckpt', 'models/lightning-sd.ckpt'), 'ckpt.toml') });
      await jobs.supervise();
      const done = await untilEnded(jobs, job.id);
      expect(done.failure).toBeNull();
      expect(done.state).toBe('succeeded');
      const converted = path.join(setting.ws.home, 'runs', job.id, 'inputs', 'model.base.safetensors');
      expect((await stat(converted)).isFile()).toBe(true);
      const spec = await readRunFile<ShimSpecFile>(job.id, 'shim.json');
      expect(spec.sandbox.readOnly).not.toContain(ckpt);
      expect(await readFile(path.join(setting.ws.home, 'runs', job.id, 'run.toml'), 'utf8')).toContain(converted);
      const manifest = await readRunFile<ManifestFile>(job.id, 'manifest.json');
      expect(manifest.operator[0]).toMatchObject({ field: 'model.base', path: ckpt, files: [{ path: ckpt }] });
    });
  }, 120_000);

  it('an unsafe pickle refuses enqueue', async () => {
    await withService(async (jobs) => {
      const before = (await jobs.list()).length;
      await expect(jobs.enqueueImported({ import: request(sdScriptsToml('imported-pickle', 'models/evil.ckpt'), 'evil.toml') })).rejects.toMatchObject({
        code: 'operator-input-refused',
        message: expect.stringContaining(path.join(ext, 'models', 'evil.ckpt')),
      });
      expect(await jobs.list()).toHaveLength(before);
    });
  }, 60_000);
});

describe('through a running studio', () => {
  it('the CLI queues and resumes it with the API secret; a browser session and a named token are refused both, as security events', async () => {
    const token = runCli(setting, ['token', 'create', 'install', '--json']);
    expect(token.code).toBe(0);
    const named = (JSON.parse(token.stdout) as { token: string }).token;
    const serve = await startServe(setting);
    try {
      await setting.engine.set({ 'imported-remote': { speed: 100 } });
      const file = await configFile('imported-remote');
      const trained = runCli(setting, ['train', file, '--family', 'sd1']);
      expect(trained.stdout).toContain('queued in the studio at');
      expect(trained.stdout).toMatch(/: succeeded/);
      expect(trained.code).toBe(0);
      const jobs = (await serve.request<{ jobs: JobRecord[] }>('GET', '/api/jobs?state=succeeded')).body.jobs;
      const remote = jobs.find((job) => job.name === 'imported-remote');
      expect(remote).toBeDefined();
      const spec = await readRunFile<ShimSpecFile>(remote?.id ?? '', 'shim.json');
      expect(spec.sandbox.readOnly).toEqual(expect.arrayContaining([model, images]));

      const pairing = await rawRequest({ url: serve.pairingUrl, headers: { 'sec-fetch-site': 'none' } });
      const cookie = (pairing.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
      const fromPage = (route: string, body: string) =>
        rawRequest({ url: `${serve.url}${route}`, method: 'POST', headers: { cookie, origin: serve.url, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' }, body });
      const fromToken = (route: string, body: string) => rawRequest({ url: `${serve.url}${route}`, method: 'POST', headers: { authorization: `Bearer ${named}`, 'content-type': 'application/json' }, body });
      const refusals = async () => (await serve.request<{ events: Array<{ kind: string; detail: string }> }>('GET', '/api/security-events?limit=500')).body.events.filter((event) => event.kind === 'operator-paths-refused').map((event) => event.detail);

      // This run crashes after its first epoch's save, so it can be resumed.
      await setting.engine.set({ 'imported-resume': { fail: 'crash:25', speed: 100 } });
      const body = JSON.stringify({ import: request(await readFile(await configFile('imported-resume'), 'utf8'), 'imported-resume.toml') });
      const page = await fromPage('/api/jobs', body);
      expect(page.status).toBe(403);
      expect(page.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'operator-paths-refused', message: expect.stringContaining('browser session') });
      // A named token — even one called "install" — is not the CLI's credential.
      const byToken = await fromToken('/api/jobs', body);
      expect(byToken.status).toBe(403);
      expect(byToken.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'operator-paths-refused', message: expect.stringContaining('the named token "install"') });
      expect((await serve.request<{ jobs: JobRecord[] }>('GET', '/api/jobs')).body.jobs.filter((job) => job.state === 'queued')).toEqual([]);
      expect(await refusals()).toEqual([expect.stringMatching(/^POST \/api\/jobs: .*named token "install"/), expect.stringMatching(/^POST \/api\/jobs: .*browser session/)]);

      // With the API secret the same body is queued.
      const queued = await serve.request<JobRecord>('POST', '/api/jobs', JSON.parse(body) as unknown);
      expect(queued.status).toBe(200);
      const crashed = await waitForJob(serve, queued.body.id, isFinal);
      expect(crashed).toMatchObject({ state: 'failed', resumable: true, failure: { code: 'crash' } });

      // Resuming it reads the operator's files again: the same rule as queueing it.
      const route = `/api/jobs/${crashed.id}/resume`;
      const pageResume = await fromPage(route, '{}');
      expect(pageResume.status).toBe(403);
      expect(pageResume.json<{ error: { code: string; message: string; hint: string } }>().error).toMatchObject({
        code: 'operator-paths-refused',
        message: expect.stringContaining(`Job ${crashed.id} runs an imported config`),
        hint: expect.stringContaining(`lorasmith jobs resume ${crashed.id}`),
      });
      expect((await fromToken(route, '{}')).status).toBe(403);
      expect((await serve.request<{ jobs: JobRecord[] }>('GET', '/api/jobs')).body.jobs.filter((job) => job.resumedFrom === crashed.id)).toEqual([]);
      expect((await refusals()).slice(0, 2)).toEqual([expect.stringMatching(new RegExp(`^POST ${route}: .*named token "install"`)), expect.stringMatching(new RegExp(`^POST ${route}: .*browser session`))]);

      await setting.engine.set({ 'imported-resume': { speed: 100 } });
      const resumed = await serve.request<JobRecord>('POST', route, {});
      expect(resumed.status).toBe(200);
      // The scheduler may claim it before the record is read back: queued or starting.
      expect(resumed.body).toMatchObject({ state: expect.stringMatching(/^(queued|starting)$/), resumedFrom: crashed.id });
      expect((await waitForJob(serve, resumed.body.id, isFinal)).state).toBe('succeeded');
      expect(await refusals()).toHaveLength(4);
    } finally {
      await serve.stop();
    }
  }, 300_000);
});
