/**
 * The end-to-end jobs setting: a workspace with a checkpoint and the `dogs` dataset, the KOHYA ENGINE DOUBLE
 * behind its scenario stand-in, a fake `nvidia-smi` with two GPUs, and `lorasmith serve` / the CLI started as
 * their own processes with the real run shim. Under bubblewrap the engine sees only its binds, so the
 * sd-scripts folder (LORASMITH_KOHYA_ROOT) is this repository: bound read-only, it carries the double, this
 * Node and node_modules into the sandbox (the double does not need the trainer script to exist).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { readSse } from '../../../src/cli/sse-client.ts';
import type { JobRecord } from '../../../src/jobs/job-types.ts';
import { rawRequest } from '../../helpers/http.ts';
import { makeTrainWorkspace, type TrainWorkspace } from '../../train/train-workspace.ts';
import { fakeNvidiaSmi } from './job-workspace.ts';
import { writeScenarioEngine, type ScenarioEngine } from './scenario-engine.ts';

export const REPO = path.resolve('.');
const CLI = path.join(REPO, 'src/cli/main.ts');

export interface JobsSetting {
  ws: TrainWorkspace;
  engine: ScenarioEngine;
  env: NodeJS.ProcessEnv;
}

export async function makeJobsSetting(gpus = 2): Promise<JobsSetting> {
  const ws = await makeTrainWorkspace();
  const engine = await writeScenarioEngine(path.join(ws.files, 'engine'));
  const gpuDir = await fakeNvidiaSmi(path.join(ws.files, 'gpus'), gpus);
  // What `engine install` leaves: the tokenizer cache the sandbox binds read-only.
  await mkdir(path.join(ws.home, 'engines', 'kohya', 'cache', 'tokenizers'), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    LORASMITH_HOME: ws.home,
    LORASMITH_LOG_LEVEL: 'warn',
    LORASMITH_KOHYA_ROOT: REPO,
    LORASMITH_KOHYA_PYTHON: engine.location.python,
    PATH: `${gpuDir}:/usr/bin:/bin`,
    HOME: process.env.HOME ?? '/root',
  };
  return { ws, engine, env };
}

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  pairingUrl: string;
  secret: string;
  /** Bearer-authenticated JSON request. */
  request<T>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }>;
  exited(): Promise<number | null>;
  stop(): Promise<void>;
}

export async function startServe(setting: JobsSetting): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json'], { env: setting.env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const info = await new Promise<{ url: string; pairingUrl: string }>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => {
      const parsed = JSON.parse(line) as { url?: string; pairingUrl?: string };
      if (parsed.url === undefined || parsed.pairingUrl === undefined) reject(new Error(`serve said ${line} ${stderr}`));
      else resolve({ url: parsed.url, pairingUrl: parsed.pairingUrl });
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  const secret = (await readFile(path.join(setting.ws.home, 'api-secret'), 'utf8')).trim();
  const exited = () => new Promise<number | null>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
  const serve: ServeProcess = {
    child,
    ...info,
    secret,
    async request<T>(method: string, route: string, body?: unknown) {
      // A fresh connection per request (rawRequest): a kept-alive socket the server closed would fail it.
      const response = await rawRequest({
        url: `${info.url}${route}`,
        method,
        headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: response.json<T>() };
    },
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited();
    },
  };
  // Tests start several runs a minute and poll their state.
  await serve.request('PATCH', '/api/settings', { rateLimits: { trainingStartPerMinute: 1000, generalPerMinute: 100_000 } });
  return serve;
}

/** Follow a job's SSE stream (bearer) until its final record; returns every record seen. */
export async function followOverSse(serve: ServeProcess, id: string, headers: Record<string, string> = { authorization: `Bearer ${serve.secret}` }): Promise<{ records: JobRecord[]; events: Array<{ seq: number; event: { kind: string } }> }> {
  const response = await fetch(`${serve.url}/api/jobs/${id}/events`, { headers });
  if (response.status !== 200 || response.body === null) throw new Error(`stream answered ${response.status}`);
  const records: JobRecord[] = [];
  const events: Array<{ seq: number; event: { kind: string } }> = [];
  for await (const message of readSse(response.body)) {
    if (message.event === 'job') records.push(JSON.parse(message.data) as JobRecord);
    if (message.event === 'event') events.push(JSON.parse(message.data) as { seq: number; event: { kind: string } });
  }
  return { records, events };
}

/** Poll a job over the API until `done` says so. */
export async function waitForJob(serve: ServeProcess, id: string, done: (job: JobRecord) => boolean, timeoutMs = 90_000): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await serve.request<JobRecord>('GET', `/api/jobs/${id}`);
    if (status !== 200) throw new Error(`GET /api/jobs/${id} answered ${status}: ${JSON.stringify(body)}`);
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${body.state}: ${JSON.stringify(body.failure)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export const isFinal = (job: JobRecord) => ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(job.state);

export function runCli(setting: JobsSetting, args: string[], timeoutMs = 120_000): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { env: setting.env, encoding: 'utf8', timeout: timeoutMs });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
