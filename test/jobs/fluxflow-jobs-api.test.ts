/**
 * A FluxFlow run end to end through the HTTP API: `lorasmith serve` in its own process, the real run shim
 * (bubblewrap where it works), the FLUXFLOW ENGINE DOUBLE as the engine (LORASMITH_FLUXFLOW_PYTHON), a fake
 * nvidia-smi. The sandbox binds the engine's venv folder (the interpreter's grandparent) read-only and little
 * else, so the venv here is a hard-linked mirror of this repository's package.json, src/, test/doubles/ and
 * node_modules/ (Node itself included) with the stand-in in its bin/: the kohya e2e gets the same by naming
 * the repository as LORASMITH_KOHYA_ROOT. Hard links cost no copy and leave the repository untouched.
 */
import { link, lstat, mkdir, mkdtemp, readdir, readlink, rm, stat, symlink, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/jobs/job-types.ts';
import { sha256OfFile } from '../../src/library/import-model-set.ts';
import { writeFluxflowStandIn } from '../doubles/fluxflow/launcher.ts';
import { writeFluxflowScenarioEngine, type FluxflowScenarioEngine } from './fluxflow-scenario-engine.ts';
import { isFinal, makeJobsSetting, REPO, startServe, waitForJob, type JobsSetting, type ServeProcess } from './helpers/jobs-e2e.ts';

let setting: JobsSetting;
let serve: ServeProcess;
let mirrorRoot: string;
let engine: FluxflowScenarioEngine;

/** `from` re-created under `to`: folders made (0755), files hard-linked, links copied as links. */
async function linkTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true, mode: 0o755 });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) await linkTree(source, target);
    else if (entry.isSymbolicLink()) await symlink(await readlink(source), target);
    else if (entry.isFile()) await link(source, target);
  }
}

beforeAll(async () => {
  setting = await makeJobsSetting(1);
  // The workspace's engine cache (the tokenizer the install fetches): runs always bind this one.
  await writeFluxflowStandIn(path.join(setting.ws.home, 'engines', 'fluxflow'));
  mirrorRoot = await mkdtemp(path.join(tmpdir(), 'lorasmith-fluxflow-venv-'));
  const venv = path.join(mirrorRoot, 'fluxflow', 'venv');
  await mkdir(venv, { recursive: true });
  for (const part of ['package.json', 'src', path.join('test', 'doubles'), 'node_modules']) {
    const source = path.join(REPO, part);
    if ((await lstat(source)).isDirectory()) await linkTree(source, path.join(venv, part));
    else await link(source, path.join(venv, part));
  }
  // The sandbox user reads the mirror through its own bind: the folders must be open to it.
  for (let dir = venv; dir !== path.dirname(mirrorRoot); dir = path.dirname(dir)) await chmod(dir, 0o755);
  engine = await writeFluxflowScenarioEngine(path.join(mirrorRoot, 'fluxflow'), {
    node: path.join(venv, path.relative(REPO, process.execPath)),
    double: path.join(venv, 'test', 'doubles', 'fluxflow', 'fluxflow-double.ts'),
  });
  setting.env.LORASMITH_FLUXFLOW_PYTHON = engine.location.python;
  serve = await startServe(setting);
}, 180_000);

afterAll(async () => {
  await serve?.stop();
  await rm(setting.ws.home, { recursive: true, force: true });
  await rm(setting.ws.files, { recursive: true, force: true });
  await rm(mirrorRoot, { recursive: true, force: true });
});

function fluxflowConfig(first: string): Record<string, unknown> {
  return {
    schema: 'lorasmith/run@1',
    kind: 'fluxflow',
    data: { dataset: 'dogs', imgSize: 64 },
    model: { vaeDim: 16, featureMapsDim: 32, featureMapsDimDisc: 4 },
    output: { logInterval: 1, checkpointSaveInterval: 2, sampleSizes: [{ width: 32, height: 32 }], sampleCaptions: ['a dog'] },
    pipeline: {
      steps: [
        { name: first, nEpochs: 1, trainVae: true, optimizers: { vae: { type: 'AdamW', lr: 1e-5 } } },
        { name: 'flow', nEpochs: 1, trainDiff: true, optimizers: { flow: { type: 'Lion', lr: 5e-7 } } },
      ],
    },
  };
}

async function enqueue(first: string): Promise<JobRecord> {
  const { status, body } = await serve.request<JobRecord>('POST', '/api/jobs', { config: fluxflowConfig(first) });
  if (status !== 200) throw new Error(`enqueue answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

type Metrics = { points: Array<{ tag: string; step: number; value: number }>; cursor: Record<string, number> };

describe('a FluxFlow run through the API under the real run shim', () => {
  it('runs to succeeded, its checkpoint and text encoder enter the library as one fluxflow checkpoint, its JSONL metrics are served', async () => {
    const job = await enqueue('vae');
    expect(job).toMatchObject({ state: 'queued', engine: 'fluxflow', family: 'fluxflow' });
    const done = await waitForJob(serve, job.id, isFinal);
    expect(done.failure).toBeNull();
    expect(done).toMatchObject({ state: 'succeeded', sandbox: expect.stringMatching(/^(bwrap|cgroup|unsandboxed)$/) });
    expect(done.progress.step).toBe(done.progress.total);

    type Model = { kind: string; family: string; source: { provenance: Record<string, unknown> }; files: Array<{ path: string; size: number; sha256: string; main: boolean }> };
    const model = await serve.request<Model>('GET', `/api/models/${done.outputModelId ?? ''}`);
    expect(model.body).toMatchObject({ kind: 'checkpoint', family: 'fluxflow', source: { provenance: { job: job.id, engine: 'fluxflow' } } });
    // One entry: the checkpoint as its main file, the (larger) text encoder beside it, each as the shim kept it.
    const output = path.join(setting.ws.home, 'runs', job.id, 'work', 'output');
    const inRun = async (name: string) => ({ path: name, size: (await stat(path.join(output, name))).size, sha256: await sha256OfFile(path.join(output, name)) });
    expect(model.body.files).toEqual([
      { ...(await inRun('flxflow_final.safetensors')), main: true },
      { ...(await inRun('text_encoder.safetensors')), main: false },
    ]);
    const stored = path.join(setting.ws.home, 'models', 'checkpoint', 'run', job.id, 'final');
    expect((await readdir(stored)).sort()).toEqual(['flxflow_final.safetensors', 'text_encoder.safetensors']);

    const first = await serve.request<Metrics>('GET', `/api/jobs/${job.id}/metrics`);
    expect(first.status).toBe(200);
    const tags = new Set(first.body.points.map((point) => point.tag));
    expect([...tags]).toEqual(expect.arrayContaining(['vae_loss', 'kl_loss', 'flow_loss']));
    const again = await serve.request<Metrics>('GET', `/api/jobs/${job.id}/metrics?cursor=${encodeURIComponent(JSON.stringify(first.body.cursor))}`);
    expect(again.body.points).toEqual([]);
  });

  it('an OOM (the double\'s failure switch) ends the run failed with cuda-oom', async () => {
    await engine.set({ oom: { fail: 'oom:2' } });
    const job = await enqueue('oom');
    const done = await waitForJob(serve, job.id, isFinal);
    expect(done).toMatchObject({ state: 'failed', outputModelId: null, failure: { code: 'cuda-oom' } });
  });
});
