/**
 * Jobs end to end through the HTTP API: `lorasmith serve` in its own process, the real run shim (bubblewrap
 * where it works), the KOHYA ENGINE DOUBLE as the engine, a fake nvidia-smi with two GPUs. A full run followed
 * over SSE with the bearer token and the page's cookie, the failure modes, two runs on two GPUs at once, a
 * malicious output, stop and resume, and the server SIGKILLed in the middle of a run.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/jobs/job-types.ts';
import { rawRequest } from '../helpers/http.ts';
import { runConfig } from './helpers/job-workspace.ts';
import { followOverSse, isFinal, makeJobsSetting, startServe, waitForJob, type JobsSetting, type ServeProcess } from './helpers/jobs-e2e.ts';

let setting: JobsSetting;
let serve: ServeProcess;

beforeAll(async () => {
  setting = await makeJobsSetting(2);
  serve = await startServe(setting);
}, 180_000);

afterAll(async () => {
  await serve.stop();
  await rm(setting.ws.home, { recursive: true, force: true });
  await rm(setting.ws.files, { recursive: true, force: true });
});

async function enqueue(name: string, extra: Record<string, unknown> = {}): Promise<JobRecord> {
  const { status, body } = await serve.request<JobRecord & { error?: unknown }>('POST', '/api/jobs', { config: runConfig({ base: setting.ws.checkpointId, name, ...extra }) });
  if (status !== 200) throw new Error(`enqueue answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

describe('a full run through the API', () => {
  it('is queued, runs under the shim in a sandbox, streams its records and events, and ends in the library', async () => {
    await setting.engine.set({ api: { speed: 60 } });
    const job = await enqueue('api');
    expect(job).toMatchObject({ state: 'queued', name: 'api', device: 'gpu' });
    // The dataset is locked while the run exists: edits are refused with the reason.
    const rename = await serve.request<{ error: { code: string; message: string } }>('PATCH', '/api/datasets/dogs', { name: 'cats' });
    expect(rename.status).toBe(409);
    expect(rename.body.error).toMatchObject({ code: 'dataset-locked', message: expect.stringContaining(job.id) });

    const { records, events } = await followOverSse(serve, job.id);
    const final = records.at(-1);
    expect(final?.failure).toBeNull();
    expect(final).toMatchObject({ state: 'succeeded', sandbox: expect.stringMatching(/^(bwrap|cgroup|unsandboxed)$/), slots: ['0'] });
    // The stream replays the job's events from the start, so every state is there; the records are its state as it
    // changes from the moment the client connected (a run may already have left the queue by then).
    const states = events.flatMap((e) => (e.event.kind === 'state' ? [(e.event as unknown as { state: string }).state] : []));
    expect(states).toEqual(['queued', 'running', 'succeeded']);
    expect(records.map((r) => r.state).every((state) => ['queued', 'starting', 'running', 'succeeded'].includes(state))).toBe(true);
    const steps = records.map((r) => r.progress.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(events.map((e) => e.seq)).toEqual(events.map((_e, i) => i + 1));
    expect(events.map((e) => e.event.kind)).toEqual(expect.arrayContaining(['state', 'phase', 'epoch', 'progress', 'checkpoint', 'output']));

    const model = await serve.request<{ id: string; kind: string; source: { type: string; provenance: Record<string, unknown> } }>('GET', `/api/models/${final?.outputModelId ?? ''}`);
    expect(model.body).toMatchObject({ kind: 'lora', source: { type: 'run', provenance: { job: job.id } } });
    const logs = await serve.request<{ lines: string[] }>('GET', `/api/jobs/${job.id}/logs?lines=500`);
    expect(logs.body.lines).toContain('model saved.');
    const history = await serve.request<{ events: Array<{ seq: number }> }>('GET', `/api/jobs/${job.id}/history`);
    expect(history.body.events).toHaveLength(events.length);
    const metrics = await serve.request<{ points: Array<{ tag: string; step: number }>; cursor: Record<string, number> }>('GET', `/api/jobs/${job.id}/metrics`);
    expect([...new Set(metrics.body.points.map((p) => p.tag))]).toEqual(expect.arrayContaining(['loss/current', 'loss/average', 'lr/unet', 'loss/epoch_average']));
    const more = await serve.request<{ points: unknown[] }>('GET', `/api/jobs/${job.id}/metrics?cursor=${encodeURIComponent(JSON.stringify(metrics.body.cursor))}`);
    expect(more.body.points).toEqual([]);
    const checkpoints = await serve.request<{ checkpoints: Array<{ name: string; epoch: number }> }>('GET', `/api/jobs/${job.id}/checkpoints`);
    expect(checkpoints.body.checkpoints).toEqual([expect.objectContaining({ name: 'api-000001.safetensors', epoch: 1 })]);
    const promoted = await serve.request<{ model: { id: string; source: { type: string } } }>('POST', `/api/jobs/${job.id}/promote`, { epoch: 1 });
    expect(promoted.status).toBe(200);
    expect(promoted.body.model.source.type).toBe('run');
    // The lock went with the run.
    expect((await serve.request('GET', '/api/datasets/dogs')).status).toBe(200);
    const spec = JSON.parse(await readFile(path.join(setting.ws.home, 'runs', job.id, 'shim.json'), 'utf8')) as { env: Record<string, string>; sandbox: { mode: string } };
    expect(spec.env).toMatchObject({ CUDA_VISIBLE_DEVICES: '0', HF_HUB_OFFLINE: '1', TORCH_FORCE_WEIGHTS_ONLY_LOAD: '1' });
    expect(JSON.stringify(spec.env)).not.toContain('hf_');
  }, 180_000);

  it('the page follows the same stream with its cookie; a wrong token gets 401', async () => {
    const pairing = await rawRequest({ url: serve.pairingUrl, headers: { 'sec-fetch-site': 'none' } });
    const cookie = (pairing.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
    const [job] = (await serve.request<{ jobs: JobRecord[] }>('GET', '/api/jobs?state=succeeded')).body.jobs;
    const page = await followOverSse(serve, job?.id ?? '', { cookie, 'sec-fetch-site': 'same-origin' });
    expect(page.records.at(-1)?.state).toBe('succeeded');
    const wrong = await fetch(`${serve.url}/api/jobs/${job?.id ?? ''}/events`, { headers: { authorization: 'Bearer lsc_wrong' } });
    expect(wrong.status).toBe(401);
  });
});

describe('failure modes and slots', () => {
  it('OOM at step N, a crash, and "No data found" with exit 0 all end failed with their reason; two GPUs run two at once', async () => {
    await setting.engine.set({ oom: { fail: 'oom:5', speed: 50 }, crash: { fail: 'crash:3', speed: 50 }, nodata: { fail: 'nodata' } });
    const jobs = [await enqueue('oom'), await enqueue('crash'), await enqueue('nodata')];
    // Two GPUs: the first two start together, the third waits for a slot.
    const both = await Promise.all(jobs.slice(0, 2).map((job) => waitForJob(serve, job.id, (j) => j.state !== 'queued')));
    expect(both.flatMap((j) => j.slots).sort()).toEqual(['0', '1']);
    const ended = await Promise.all(jobs.map((job) => waitForJob(serve, job.id, isFinal)));
    expect(ended.map((j) => [j.name, j.state, j.failure?.code])).toEqual([
      ['oom', 'failed', 'cuda-oom'],
      ['crash', 'failed', 'crash'],
      ['nodata', 'failed', 'no-data'],
    ]);
    expect(ended[0]?.failure?.lastLines?.join('\n')).toContain('CUDA out of memory');
  }, 180_000);

  it('a run that hangs in training is stopped by the watchdog (numbers from the jobs settings) and fails as hung', async () => {
    await serve.request('PATCH', '/api/settings', { jobs: { stepFactor: 1, stepFloorS: 5 } });
    try {
      await setting.engine.set({ hung: { fail: 'hang:training' } });
      const job = await enqueue('hung');
      const done = await waitForJob(serve, job.id, isFinal);
      expect(done).toMatchObject({ state: 'failed', failure: { code: 'hang', message: expect.stringContaining('watchdog') } });
      const spec = JSON.parse(await readFile(path.join(setting.ws.home, 'runs', job.id, 'shim.json'), 'utf8')) as { phases: Array<{ phase: string; stepFloorS?: number }> };
      expect(spec.phases.find((phase) => phase.phase === 'training')).toMatchObject({ stepFloorS: 5, stepFactor: 1 });
    } finally {
      await serve.request('PATCH', '/api/settings', { jobs: { stepFactor: 20, stepFloorS: 900 } });
    }
  }, 120_000);

  it('a run whose output is a malicious pickle is refused: failed, and nothing reaches the library', async () => {
    await setting.engine.set({ evil: { output: 'malicious' } });
    const job = await enqueue('evil', { epochs: 1 });
    const done = await waitForJob(serve, job.id, isFinal);
    expect(done).toMatchObject({ state: 'failed', outputModelId: null, failure: { code: 'output-refused' } });
    const models = await serve.request<{ models: Array<{ source: { provenance?: { job?: string } } }> }>('GET', '/api/models');
    expect(models.body.models.some((m) => m.source.provenance?.job === job.id)).toBe(false);
  }, 120_000);
});

describe('stop, resume, and a server killed mid-run', () => {
  it('stop keeps the last save; resume continues from the saved state to the end', async () => {
    await setting.engine.set({ stopme: { speed: 10 } });
    const job = await enqueue('stopme', { epochs: 3 });
    await waitForJob(serve, job.id, (j) => (j.progress.epoch ?? 0) >= 2);
    const stop = await serve.request<{ job: JobRecord; lastSave: { checkpoint: string | null; state: string | null }; note: string }>('POST', `/api/jobs/${job.id}/stop`, {});
    expect(stop.body.note).toMatch(/last save/);
    expect(stop.body.lastSave.state).toMatch(/^stopme-00000\d-state$/);
    const stopped = await waitForJob(serve, job.id, isFinal);
    expect(stopped).toMatchObject({ state: 'cancelled', resumable: true, failure: { code: 'stopped' } });
    await setting.engine.set({ stopme: { speed: 200 } });
    const resumed = await serve.request<JobRecord>('POST', `/api/jobs/${job.id}/resume`, {});
    expect(resumed.body).toMatchObject({ resumedFrom: job.id, state: 'queued' });
    const done = await waitForJob(serve, resumed.body.id, isFinal);
    expect(done.state).toBe('succeeded');
    const toml = await readFile(path.join(setting.ws.home, 'runs', done.id, 'run.toml'), 'utf8');
    expect(toml).toMatch(/^resume = ".*\/work\/resume\/stopme-00000\d-state"$/m);
  }, 180_000);

  it('SIGKILL of the server in the middle of a run: the next server reattaches it and it finishes', async () => {
    await setting.engine.set({ survivor: { speed: 12 } });
    const job = await enqueue('survivor');
    await waitForJob(serve, job.id, (j) => j.state === 'running' && j.progress.step >= 5);
    serve.child.kill('SIGKILL');
    await serve.exited();
    // The run goes on without any server.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    serve = await startServe(setting);
    const done = await waitForJob(serve, job.id, isFinal);
    expect(done.failure).toBeNull();
    expect(done.state).toBe('succeeded');
    const { body } = await serve.request<{ events: Array<{ seq: number; event: { kind: string; state?: string; epoch?: number } }> }>('GET', `/api/jobs/${job.id}/history?limit=10000`);
    expect(body.events.map((e) => e.seq)).toEqual(body.events.map((_e, i) => i + 1));
    expect(body.events.filter((e) => e.event.kind === 'epoch').map((e) => e.event.epoch)).toEqual([1, 2]);
    expect(body.events.filter((e) => e.event.kind === 'state' && e.event.state === 'running')).toHaveLength(1);
    const file = (await readFile(path.join(setting.ws.home, 'runs', job.id, 'events.jsonl'), 'utf8')).trim().split('\n');
    expect(file).toHaveLength(body.events.length);
  }, 180_000);
});
