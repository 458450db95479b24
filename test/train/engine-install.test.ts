/**
 * `engine install` end to end on a fake machine (engine-fakes.ts: python3, git and nvidia-smi as real
 * programs in a temp bin/) and the HTTPS hub double: the plan is built from what the machine reports, the
 * runner executes every step through the audited program runner and the hub module, refuses unpinned locks
 * and unconfirmed installs before anything runs, stops at the first failing step with what was done, and a
 * finished install is what detection then reports.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHubContext } from '../../src/hub/hub-context.ts';
import {
  KOHYA_PINNED_COMMIT,
  detectEngines,
  fetchStartupFiles,
  prepareInstall,
  runInstall,
  type HubFetch,
  type StartupFileSet,
} from '../../src/training/engines/detect/index.ts';
import { sha256Hex } from '../doubles/hub/behaviours.ts';
import { commitId, installHfRepo } from '../doubles/hub/hf-protocol.ts';
import { startHubDouble, type HubDouble } from '../doubles/hub/hub-double.ts';
import { testNetwork, testSettings } from '../hub/pull-harness.ts';
import { fakeMachine, hashedLock, type FakeMachineOptions } from './engine-fakes.ts';

const TOKENIZER_COMMIT = commitId('tokenizer');
const VOCAB = Buffer.from('{"hello": 0, "world": 1}');
const MERGES = Buffer.from('#version: 0.2\nh e\n');

let root: string;
let d: HubDouble;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lorasmith-engine-install-'));
  d = await startHubDouble();
  installHfRepo(d, {
    repo: 'org/tok',
    refs: { main: TOKENIZER_COMMIT },
    commits: { [TOKENIZER_COMMIT]: [{ path: 'tokenizer/vocab.json', content: VOCAB, lfs: false }, { path: 'tokenizer/merges.txt', content: MERGES }] },
  });
  installHfRepo(d, {
    repo: 'org/gated',
    refs: { main: TOKENIZER_COMMIT },
    commits: { [TOKENIZER_COMMIT]: [{ path: 'tokenizer.json', content: VOCAB, lfs: false }] },
    access: () => ({ status: 401, headers: { 'x-error-code': 'GatedRepo' }, body: '{"error":"Access to model org/gated is restricted."}' }),
  });
});
afterAll(async () => {
  await d.close();
  await rm(root, { recursive: true, force: true });
});

const tokenizerSet = (overrides: Partial<StartupFileSet> = {}): StartupFileSet => ({
  repo: 'org/tok',
  revision: TOKENIZER_COMMIT,
  subfolder: 'tokenizer',
  layout: 'folder',
  gated: false,
  families: 'SD 1.x',
  files: [
    { path: 'vocab.json', sha256: sha256Hex(VOCAB), size: VOCAB.length },
    { path: 'merges.txt', sha256: sha256Hex(MERGES), size: MERGES.length },
  ],
  ...overrides,
});

let counter = 0;
interface Setup {
  dir: string;
  enginesDir: string;
  quarantineDir: string;
  locksDir: string;
  env: Record<string, string>;
  machine: Awaited<ReturnType<typeof fakeMachine>>;
  fetch: (fetch: HubFetch, signal?: AbortSignal) => Promise<void>;
}

async function setup(options: { machine?: FakeMachineOptions; kohyaLock?: string; sets?: StartupFileSet[]; fluxflowSets?: StartupFileSet[] } = {}): Promise<Setup> {
  const dir = path.join(root, `case-${counter++}`);
  const machine = await fakeMachine(dir, options.machine);
  const enginesDir = path.join(dir, 'ws', 'engines');
  const quarantineDir = path.join(dir, 'ws', 'quarantine');
  const locksDir = path.join(dir, 'locks');
  await mkdir(locksDir, { recursive: true });
  for (const tag of ['cu128', 'cu126', 'cu118', 'cpu']) await writeFile(path.join(locksDir, `torch-2.7.1-${tag}.txt`), hashedLock(`torch==2.7.1+${tag}`, 'filelock==3.18.0'));
  await writeFile(path.join(locksDir, `kohya-${KOHYA_PINNED_COMMIT.slice(0, 12)}.txt`), options.kohyaLock ?? hashedLock('accelerate==1.6.0', 'transformers==4.54.1'));
  await writeFile(path.join(locksDir, 'fluxflow.txt'), hashedLock('fluxflow==0.8.1', 'fluxflow-training==0.8.1'));
  await writeFile(path.join(locksDir, 'startup-files.json'), JSON.stringify({ kohya: options.sets ?? [tokenizerSet()], fluxflow: options.fluxflowSets ?? [] }));
  const hub = buildHubContext({ settings: testSettings(d), network: testNetwork(d) });
  return {
    dir,
    enginesDir,
    quarantineDir,
    locksDir,
    env: { PATH: machine.path, HOME: dir },
    machine,
    fetch: (fetch, signal) => fetchStartupFiles({ fetch, hub, quarantineDir, ...(signal === undefined ? {} : { signal }) }),
  };
}

async function listTree(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).map(String).sort();
  } catch {
    return [];
  }
}

describe('engine install (kohya) on a fake machine', () => {
  it('plans from what the machine reports, runs every step in order, and detection then finds a pinned, CUDA-ready engine', async () => {
    const s = await setup();
    const prepared = await prepareInstall({ engine: 'kohya', env: s.env, enginesDir: s.enginesDir, locksDir: s.locksDir });
    expect(prepared.target).toMatchObject({ python: path.join(s.machine.bin, 'python3'), pythonVersion: '3.11.9', git: path.join(s.machine.bin, 'git'), driverCuda: '12.8' });
    expect(prepared.notes.join('\n')).toContain('NVIDIA driver 570.133.20 (CUDA 12.8) on NVIDIA H200');
    expect(prepared.steps.find((step) => step.id === 'torch')?.lock?.indexUrl).toBe('https://download.pytorch.org/whl/cu128');

    const events: string[] = [];
    const result = await runInstall({ steps: prepared.steps, confirm: async () => true, fetchStartupFiles: s.fetch, onStep: (event) => events.push(`${event.phase}:${event.step.id}`) });
    expect(result).toMatchObject({ ok: true, failed: null });
    expect(result.steps.map((step) => `${step.id}:${step.status}`)).toEqual([
      'git-init:done',
      'git-fetch:done',
      'git-checkout:done',
      'git-verify:done',
      'venv:done',
      'torch:done',
      'requirements:done',
      'check-torch:done',
      'startup-files:org/tok:done',
    ]);
    expect(events.slice(0, 2)).toEqual(['start:git-init', 'end:git-init']);

    const calls = await s.machine.calls();
    expect(calls.map((call) => call.program)).toEqual(['python3', 'nvidia-smi', 'git', 'git', 'git', 'git', 'python3', 'venv-python', 'venv-python', 'venv-python']);
    expect(calls.find((call) => call.argv.includes('fetch'))?.argv).toContain(KOHYA_PINNED_COMMIT);
    const pips = calls.filter((call) => call.argv.includes('pip')).map((call) => path.basename(call.argv.at(-1) ?? ''));
    expect(pips).toEqual(['torch-2.7.1-cu128.txt', `kohya-${KOHYA_PINNED_COMMIT.slice(0, 12)}.txt`]);

    // The tokenizer landed flattened where sd-scripts looks (<tokenizer_cache_dir>/<owner>_<name>/), byte for byte.
    const cacheDir = path.join(s.enginesDir, 'kohya', 'cache', 'tokenizers', 'org_tok');
    expect(await readFile(path.join(cacheDir, 'vocab.json'))).toEqual(VOCAB);
    expect(await readFile(path.join(cacheDir, 'merges.txt'))).toEqual(MERGES);
    expect(await listTree(s.quarantineDir)).toEqual([]);

    const report = await detectEngines({ env: s.env, enginesDir: s.enginesDir, engines: ['kohya'], locksDir: s.locksDir });
    expect(report.gpus).toMatchObject({ mode: 'gpu', gpus: [{ name: 'NVIDIA H200', driverVersion: '570.133.20' }] });
    expect(report.engines[0]).toMatchObject({
      installed: true,
      commit: KOHYA_PINNED_COMMIT,
      commitIsPinned: true,
      pythonVersion: '3.11.9',
      torch: { version: '2.7.1+cu128', cuda: '12.8' },
      sources: { root: 'workspace', python: 'workspace' },
      startupFiles: { missing: [], missingOptional: [] },
      problems: [],
    });

    // Every step can run again over a finished install.
    expect((await runInstall({ steps: prepared.steps, confirm: async () => true, fetchStartupFiles: s.fetch })).ok).toBe(true);
  });

  it('refuses without confirmation: nothing past the machine checks runs', async () => {
    const s = await setup();
    const prepared = await prepareInstall({ engine: 'kohya', env: s.env, enginesDir: s.enginesDir, locksDir: s.locksDir });
    await expect(runInstall({ steps: prepared.steps, confirm: async () => false, fetchStartupFiles: s.fetch })).rejects.toMatchObject({ code: 'engine-install-declined', exitCode: 1 });
    expect((await s.machine.calls()).map((call) => call.program)).toEqual(['python3', 'nvidia-smi']);
    expect(await listTree(s.enginesDir)).toEqual([]);
  });

  it('refuses an unhashed lock (and an unpinned start-up set) before asking or running anything, with how to regenerate it', async () => {
    const s = await setup({ kohyaLock: 'accelerate==1.6.0\nbitsandbytes\n', sets: [tokenizerSet({ revision: null })] });
    const prepared = await prepareInstall({ engine: 'kohya', env: s.env, enginesDir: s.enginesDir, locksDir: s.locksDir });
    let asked = false;
    const refused = runInstall({
      steps: prepared.steps,
      confirm: async () => {
        asked = true;
        return true;
      },
      fetchStartupFiles: s.fetch,
    });
    await expect(refused).rejects.toMatchObject({
      code: 'engine-lock-unpinned',
      message: expect.stringMatching(/kohya-48d368fa5577\.txt \(.*accelerate==1\.6\.0 has no --hash=sha256.* and 1 more\); start-up files of org\/tok \(no Hub commit is pinned\)/),
      hint: expect.stringContaining('pip-compile --generate-hashes --allow-unsafe --no-emit-index-url --index-url https://pypi.org/simple'),
      details: { unpinned: [expect.objectContaining({ step: 'requirements', kind: 'requirements' }), expect.objectContaining({ step: 'startup-files:org/tok', kind: 'startup-files' })] },
    });
    expect(asked).toBe(false);
    expect((await s.machine.calls()).map((call) => call.program)).toEqual(['python3', 'nvidia-smi']);
  });

  it('stops at the first failing step and says what was done, what failed and what did not run', async () => {
    const s = await setup({ machine: { failPipOn: `kohya-${KOHYA_PINNED_COMMIT.slice(0, 12)}.txt` } });
    const prepared = await prepareInstall({ engine: 'kohya', env: s.env, enginesDir: s.enginesDir, locksDir: s.locksDir });
    const result = await runInstall({ steps: prepared.steps, confirm: async () => true, fetchStartupFiles: s.fetch });
    expect(result.ok).toBe(false);
    expect(result.failed).toMatchObject({ id: 'requirements', status: 'failed', message: expect.stringContaining('exited with 1: ERROR: THESE PACKAGES DO NOT MATCH THE HASHES') });
    expect(result.steps.map((step) => step.status)).toEqual(['done', 'done', 'done', 'done', 'done', 'done', 'failed', 'not-run', 'not-run']);
    expect((await s.machine.calls()).filter((call) => call.argv.includes('-c') && call.argv.some((arg) => arg.startsWith('import torch')))).toEqual([]);
    expect(await listTree(path.join(s.enginesDir, 'kohya', 'cache'))).toEqual([]);
  });

  it('a start-up file that does not match its pinned SHA-256 fails the step and leaves nothing of the set in the cache', async () => {
    const wrong = tokenizerSet();
    wrong.files[1] = { path: 'merges.txt', sha256: 'e'.repeat(64), size: MERGES.length };
    const s = await setup({ sets: [wrong] });
    const prepared = await prepareInstall({ engine: 'kohya', env: s.env, enginesDir: s.enginesDir, locksDir: s.locksDir });
    const result = await runInstall({ steps: prepared.steps, confirm: async () => true, fetchStartupFiles: s.fetch });
    expect(result.failed).toMatchObject({ id: 'startup-files:org/tok', message: expect.stringContaining('does not match the SHA-256') });
    expect(await listTree(path.join(s.enginesDir, 'kohya', 'cache'))).toEqual([]);
    expect(await listTree(s.quarantineDir)).toEqual([]);
  });

  it('a gated set the account cannot read is skipped (optional), and detection lists it as optional and missing', async () => {
    const gated: StartupFileSet = { repo: 'org/gated', revision: TOKENIZER_COMMIT, layout: 'hub-cache', gated: true, families: 'Lumina Image 2.0', files: [{ path: 'tokenizer.json', sha256: sha256Hex(VOCAB), size: VOCAB.length }] };
    const s = await setup({ sets: [tokenizerSet(), gated] });
    const prepared = await prepareInstall({ engine: 'kohya', env: s.env, enginesDir: s.enginesDir, locksDir: s.locksDir });
    const result = await runInstall({ steps: prepared.steps, confirm: async () => true, fetchStartupFiles: s.fetch });
    expect(result.ok).toBe(true);
    expect(result.steps.at(-1)).toMatchObject({ id: 'startup-files:org/gated', status: 'skipped', message: expect.any(String) });
    const [kohya] = (await detectEngines({ env: s.env, enginesDir: s.enginesDir, engines: ['kohya'], locksDir: s.locksDir })).engines;
    expect(kohya?.startupFiles).toMatchObject({ missing: [], missingOptional: ['org/gated'] });
    expect(kohya?.problems).toEqual([]);
  });
});

describe('engine install (fluxflow) and the machine checks', () => {
  it('without nvidia-smi: the CPU build, no git, the fluxflow set; detection then finds fluxflow-training', async () => {
    const s = await setup({ machine: { driver: null } });
    const prepared = await prepareInstall({ engine: 'fluxflow', env: s.env, enginesDir: s.enginesDir, locksDir: s.locksDir });
    expect(prepared.notes.join('\n')).toContain('the CPU build: nvidia-smi is not on PATH');
    expect(prepared.steps.map((step) => step.id)).toEqual(['venv', 'torch', 'requirements', 'check-torch']);
    expect((await runInstall({ steps: prepared.steps, confirm: async () => true, fetchStartupFiles: s.fetch })).ok).toBe(true);
    const [status] = (await detectEngines({ env: s.env, enginesDir: s.enginesDir, engines: ['fluxflow'], locksDir: s.locksDir })).engines;
    expect(status).toMatchObject({ installed: true, packageVersion: '0.8.1', torch: { version: '2.7.1+cpu', cuda: null } });
    expect((await s.machine.calls()).some((call) => call.program === 'git')).toBe(false);
  });

  it('refuses an old Python, an old driver and a failing GPU probe, each with the way out', async () => {
    const old = await setup({ machine: { pythonVersion: '3.9.18' } });
    await expect(prepareInstall({ engine: 'kohya', env: old.env, enginesDir: old.enginesDir, locksDir: old.locksDir })).rejects.toMatchObject({ code: 'install-python-too-old', hint: expect.stringContaining('--python') });
    const driver = await setup({ machine: { driver: '470.82.01' } });
    await expect(prepareInstall({ engine: 'kohya', env: driver.env, enginesDir: driver.enginesDir, locksDir: driver.locksDir })).rejects.toMatchObject({ code: 'install-driver-too-old', hint: expect.stringContaining('--cpu') });
    const cpu = await prepareInstall({ engine: 'kohya', env: driver.env, enginesDir: driver.enginesDir, locksDir: driver.locksDir, cpu: true });
    expect(cpu.steps.find((step) => step.id === 'torch')?.lock?.indexUrl).toBe('https://download.pytorch.org/whl/cpu');
    await expect(
      prepareInstall({ engine: 'kohya', env: driver.env, enginesDir: driver.enginesDir, locksDir: driver.locksDir, probeGpus: async () => ({ mode: 'unknown', reason: 'nvidia-smi exited with status 9' }) }),
    ).rejects.toMatchObject({ code: 'install-gpu-unknown' });
  });

  it('says when the engine runs use lives elsewhere, and --startup-files-only plans just the Hub fetches', async () => {
    const s = await setup();
    const env = { ...s.env, LORASMITH_KOHYA_ROOT: '/opt/sd-scripts' };
    const full = await prepareInstall({ engine: 'kohya', env, enginesDir: s.enginesDir, locksDir: s.locksDir });
    expect(full.notes[0]).toContain('not this install');
    const only = await prepareInstall({ engine: 'kohya', env, enginesDir: s.enginesDir, locksDir: s.locksDir, startupFilesOnly: true });
    expect(only).toMatchObject({ target: null, gpus: null });
    expect(only.steps.map((step) => step.id)).toEqual(['startup-files:org/tok']);
    expect(only.notes[0]).toContain('its start-up files still come from');
    expect((await s.machine.calls()).filter((call) => call.program !== 'python3' && call.program !== 'nvidia-smi')).toEqual([]);
  });
});
