/**
 * A run folder for the run shim's tests, laid out as the workspace lays it out: `<root>/runs/<id>/` with
 * `work/`, a config file in the run folder, a dataset folder, a secret store holding a hub-token canary, and a
 * spec that runs the SANDBOX PROBE DOUBLE (test/doubles/sandbox-probe.ts) with this Node. The repository is
 * bound read-only so the double, its Node and node_modules are reachable inside the sandbox.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requestStop, waitForShimExit } from '../../src/jobs/shim/client.ts';
import type { SandboxMode, ShimSpec } from '../../src/jobs/shim/protocol.ts';

export const REPO = path.resolve('.');
export const PROBE_DOUBLE = path.join(REPO, 'test/doubles/sandbox-probe.ts');
export const HF_CANARY = 'hf_ShimCanary0123456789abcdefghijklmn';
/** Matches no token pattern: only its registration from the secret store can redact it. */
export const CIVITAI_CANARY = 'civitaiShimCanary0123456789';

export interface RunFixture {
  root: string;
  jobId: string;
  runDir: string;
  workDir: string;
  configFile: string;
  datasetDir: string;
  secretsFile: string;
}

let counter = 0;
const runs: string[] = [];

export async function makeRoot(): Promise<string> {
  return realpath(await mkdtemp(path.join(tmpdir(), 'lorasmith-shim-')));
}

export async function makeRun(root: string): Promise<RunFixture> {
  const jobId = `job-${process.pid}-${++counter}`;
  const runDir = path.join(root, 'runs', jobId);
  runs.push(runDir);
  const workDir = path.join(runDir, 'work');
  await mkdir(path.join(workDir, 'home'), { recursive: true });
  const configFile = path.join(runDir, 'run.toml');
  await writeFile(configFile, 'output_name = "probe"\n');
  const datasetDir = path.join(root, 'datasets', 'dogs');
  await mkdir(datasetDir, { recursive: true });
  await writeFile(path.join(datasetDir, '001.txt'), 'a dog');
  const secretsFile = path.join(root, 'secrets.json');
  await writeFile(secretsFile, JSON.stringify({ version: 1, secrets: { hf: HF_CANARY, civitai: CIVITAI_CANARY } }), { mode: 0o600 });
  return { root, jobId, runDir, workDir, configFile, datasetDir, secretsFile };
}

export function probeSpec(run: RunFixture, mode: SandboxMode, doubleArgs: string[], overrides: Partial<ShimSpec> = {}): ShimSpec {
  return {
    version: 1,
    jobId: run.jobId,
    runDir: run.runDir,
    workDir: run.workDir,
    argv: [process.execPath, PROBE_DOUBLE, ...doubleArgs],
    env: { PATH: '/usr/bin:/bin', HOME: path.join(run.workDir, 'home'), LANG: 'C.UTF-8' },
    cwd: run.workDir,
    sandbox: { mode, readOnly: [REPO, run.runDir, run.datasetDir], writable: [run.workDir], devices: [] },
    phases: [{ phase: 'startup', enter: [], ignoreCase: false }],
    snapshots: [],
    stop: { graceS: 1 },
    logs: { segmentBytes: 1024 * 1024, keepSegments: 2 },
    secretsFile: run.secretsFile,
    ...overrides,
  };
}

/** Every log segment's text, in order. */
export function logText(runDir: string): string {
  const dir = path.join(runDir, 'logs');
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .sort()
    .map((name) => readFileSync(path.join(dir, name), 'utf8'))
    .join('');
}

export async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Pids of live (non-zombie) processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (cmdline.includes(marker) && state !== 'Z') out.push(Number(name));
    } catch {
      // Gone while listed.
    }
  }
  return out;
}

/**
 * Stop every shim a failed test left running (the normal path stops its own), then remove the folder: a
 * failing assertion must not leave engines, sandboxes or sleep children behind on the machine.
 */
export async function removeRoot(root: string): Promise<void> {
  for (const runDir of runs.splice(0)) {
    if (await requestStop(runDir)) await waitForShimExit({ runDir, timeoutMs: 30_000 });
  }
  await rm(root, { recursive: true, force: true });
}
