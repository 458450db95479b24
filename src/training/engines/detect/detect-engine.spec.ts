import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuProbe } from '../../planner/probe-gpus.ts';
import type { ProgramRequest } from '../../../core/run-program.ts';
import { KOHYA_PINNED_COMMIT, detectEngine } from './detect-engine.ts';
import { engineLocation } from './engine-location.ts';
import type { StartupFileSet } from './locks.ts';
import { readGitHead } from './read-git-head.ts';

const noGpu = async (): Promise<GpuProbe> => ({ mode: 'cpu', reason: 'test' });
const OTHER = 'a'.repeat(40);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lorasmith-detect-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
interface FakeOptions {
  torch?: string | 'missing';
  fluxflow?: string | 'missing';
  python?: string;
  head?: string;
  ref?: 'loose' | 'packed';
  sdScripts?: boolean;
}

/** engines/{kohya,fluxflow} with a fake venv whose bin/python is a Node script that prints versions. */
async function fakeEngines(options: FakeOptions = {}): Promise<string> {
  const enginesDir = path.join(root, `ws${counter++}`, 'engines');
  for (const engine of ['kohya', 'fluxflow']) {
    const venv = path.join(enginesDir, engine, 'venv');
    await mkdir(path.join(venv, 'bin'), { recursive: true });
    await writeFile(path.join(venv, 'pyvenv.cfg'), 'home = /usr/bin\n');
    const python = path.join(venv, 'bin', 'python');
    const script = `#!${process.execPath}
const args = process.argv.slice(2);
if (args[0] !== '-E' || args[1] !== '-s' || args[2] !== '-c' || args.length !== 4) { process.stderr.write('unexpected argv ' + JSON.stringify(args)); process.exit(2); }
const code = args[3];
if (Object.keys(process.env).some((k) => k.startsWith('SECRET'))) { process.stderr.write('leaked env'); process.exit(3); }
if (code.startsWith('import sys;')) { process.stdout.write(${JSON.stringify(options.python ?? '3.11.9')} + '\\n'); process.exit(0); }
if (code.startsWith('import torch;')) {
  const torch = ${JSON.stringify(options.torch ?? '2.7.1+cu126 12.6')};
  if (torch === 'missing') { process.stderr.write("Traceback (most recent call last):\\nModuleNotFoundError: No module named 'torch'\\n"); process.exit(1); }
  process.stdout.write(torch + '\\n'); process.exit(0);
}
if (code.includes("m.version('fluxflow-training')")) {
  const v = ${JSON.stringify(options.fluxflow ?? '0.8.1')};
  if (v === 'missing') { process.stderr.write('importlib.metadata.PackageNotFoundError: fluxflow-training\\n'); process.exit(1); }
  process.stdout.write(v + '\\n'); process.exit(0);
}
process.exit(4);
`;
    await writeFile(python, script);
    await chmod(python, 0o755);
  }
  if (options.sdScripts !== false) {
    const src = path.join(enginesDir, 'kohya', 'sd-scripts');
    await mkdir(path.join(src, 'library'), { recursive: true });
    await mkdir(path.join(src, '.git', 'refs', 'heads'), { recursive: true });
    await writeFile(path.join(src, 'train_network.py'), '# fake\n');
    await writeFile(path.join(src, 'library', 'train_util.py'), '# fake\n');
    const sha = options.head ?? KOHYA_PINNED_COMMIT;
    if (options.ref === undefined) await writeFile(path.join(src, '.git', 'HEAD'), `${sha}\n`);
    else {
      await writeFile(path.join(src, '.git', 'HEAD'), 'ref: refs/heads/main\n');
      if (options.ref === 'loose') await writeFile(path.join(src, '.git', 'refs', 'heads', 'main'), `${sha}\n`);
      else await writeFile(path.join(src, '.git', 'packed-refs'), `# pack-refs with: peeled fully-peeled sorted\n${sha} refs/heads/main\n`);
    }
  }
  await mkdir(path.join(enginesDir, 'fluxflow', 'cache'), { recursive: true });
  return enginesDir;
}

describe('detectEngine (kohya) on fake layouts', () => {
  it('a complete install: commit, python, torch, CUDA, venv', async () => {
    const enginesDir = await fakeEngines();
    const status = await detectEngine({ engine: 'kohya', env: { SECRET_TOKEN: 'x', HOME: root }, settings: { enginesDir }, probeGpus: noGpu });
    expect(status).toMatchObject({
      engine: 'kohya',
      installed: true,
      root: path.join(enginesDir, 'kohya', 'sd-scripts'),
      python: path.join(enginesDir, 'kohya', 'venv', 'bin', 'python'),
      venv: path.join(enginesDir, 'kohya', 'venv'),
      commit: KOHYA_PINNED_COMMIT,
      commitIsPinned: true,
      pythonVersion: '3.11.9',
      torch: { version: '2.7.1+cu126', cuda: '12.6' },
      accelerateConfig: false,
      gpus: { mode: 'cpu' },
      sources: { root: 'workspace', python: 'workspace' },
      problems: [],
    });
  });

  it('runs the python with -E -s -c, argv only, and a small explicit environment', async () => {
    const enginesDir = await fakeEngines();
    const seen: ProgramRequest[] = [];
    await detectEngine({
      engine: 'kohya',
      env: { HOME: '/home/u', HF_TOKEN: 'hf_secret', PYTHONPATH: '/evil' },
      settings: { enginesDir },
      probeGpus: noGpu,
      run: async (request) => {
        seen.push(request);
        return { kind: 'exited', code: 0, signal: null, stdout: request.args[3]?.startsWith('import sys') ? '3.10.12\n' : '2.6.0+cu124 12.4\n', stderr: '', truncated: false };
      },
    });
    expect(seen).toHaveLength(2);
    for (const request of seen) {
      expect(request.args.slice(0, 3)).toEqual(['-E', '-s', '-c']);
      expect(Object.keys(request.env).sort()).toEqual(['HF_HUB_OFFLINE', 'HOME', 'LANG', 'PATH', 'PYTHONNOUSERSITE', 'TORCH_FORCE_WEIGHTS_ONLY_LOAD']);
      expect(request.timeoutMs).toBeGreaterThan(0);
    }
    expect(seen[1]?.args[3]).toBe('import torch; print(torch.__version__, torch.version.cuda)');
  });

  it('reads the commit through refs and packed-refs; flags an unpinned commit', async () => {
    const loose = await fakeEngines({ ref: 'loose', head: OTHER });
    const status = await detectEngine({ engine: 'kohya', env: {}, settings: { enginesDir: loose }, probeGpus: noGpu });
    expect(status.commit).toBe(OTHER);
    expect(status.commitIsPinned).toBe(false);
    expect(status.installed).toBe(true);
    expect(status.problems.join('\n')).toContain('not the pinned');
    const packed = await fakeEngines({ ref: 'packed' });
    expect((await readGitHead(path.join(packed, 'kohya', 'sd-scripts')))?.commit).toBe(KOHYA_PINNED_COMMIT);
  });

  it('a CPU-only torch is installed but said so; a missing torch is not installed', async () => {
    const cpu = await fakeEngines({ torch: '2.7.1+cpu None' });
    const cpuStatus = await detectEngine({ engine: 'kohya', env: {}, settings: { enginesDir: cpu }, probeGpus: noGpu });
    expect(cpuStatus.torch).toEqual({ version: '2.7.1+cpu', cuda: null });
    expect(cpuStatus.problems.join('\n')).toContain('CPU-only');
    const missing = await fakeEngines({ torch: 'missing' });
    const missingStatus = await detectEngine({ engine: 'kohya', env: {}, settings: { enginesDir: missing }, probeGpus: noGpu });
    expect(missingStatus.installed).toBe(false);
    expect(missingStatus.torch).toBeNull();
    expect(missingStatus.problems.join('\n')).toContain("No module named 'torch'");
  });

  it('nothing installed: problems name the fix, nothing runs', async () => {
    const seen: ProgramRequest[] = [];
    const enginesDir = path.join(root, 'empty', 'engines');
    const status = await detectEngine({ engine: 'kohya', env: {}, settings: { enginesDir }, probeGpus: noGpu, run: async (r) => (seen.push(r), { kind: 'not-found', message: '' }) });
    expect(status).toMatchObject({ installed: false, commit: null, pythonVersion: null, torch: null, venv: null });
    expect(status.problems.join('\n')).toMatch(/lorasmith engine install kohya/);
    expect(seen).toHaveLength(0);
  });

  it('LORASMITH_KOHYA_ROOT / LORASMITH_KOHYA_PYTHON win over settings and the workspace', async () => {
    const real = await fakeEngines();
    const env = { LORASMITH_KOHYA_ROOT: path.join(real, 'kohya', 'sd-scripts'), LORASMITH_KOHYA_PYTHON: path.join(real, 'kohya', 'venv', 'bin', 'python') };
    const status = await detectEngine({ engine: 'kohya', env, settings: { enginesDir: path.join(root, 'nowhere'), kohyaRoot: '/x', kohyaPython: '/y' }, probeGpus: noGpu });
    expect(status).toMatchObject({ installed: true, sources: { root: 'env', python: 'env' } });
    expect(engineLocation('kohya', {}, { kohyaRoot: '/x', kohyaPython: '/y/bin/python' })).toMatchObject({ root: '/x', python: '/y/bin/python', sources: { root: 'settings', python: 'settings' } });
    expect(engineLocation('kohya', { LORASMITH_HOME: '/srv/ls' })).toMatchObject({ root: '/srv/ls/engines/kohya/sd-scripts', python: '/srv/ls/engines/kohya/venv/bin/python' });
  });

  it('a relative engine path is a problem, not a program to run', async () => {
    const status = await detectEngine({ engine: 'kohya', env: { LORASMITH_KOHYA_PYTHON: 'venv/bin/python' }, settings: { enginesDir: path.join(root, 'none') }, probeGpus: noGpu });
    expect(status.installed).toBe(false);
    expect(status.problems.join('\n')).toContain('not an absolute path');
  });

  it('finds an accelerate default config', async () => {
    const enginesDir = await fakeEngines();
    const hfHome = path.join(root, 'hf');
    await mkdir(path.join(hfHome, 'accelerate'), { recursive: true });
    await writeFile(path.join(hfHome, 'accelerate', 'default_config.yaml'), 'compute_environment: LOCAL_MACHINE\n');
    expect((await detectEngine({ engine: 'kohya', env: { HF_HOME: hfHome }, settings: { enginesDir }, probeGpus: noGpu })).accelerateConfig).toBe(true);
  });

  it('reports the GPU probe', async () => {
    const enginesDir = await fakeEngines();
    const gpus: GpuProbe = { mode: 'gpu', gpus: [{ index: 0, name: 'NVIDIA L4', memoryTotalMiB: 23034, memoryFreeMiB: 22000, driverVersion: '570.86.10' }] };
    expect((await detectEngine({ engine: 'kohya', env: {}, settings: { enginesDir }, probeGpus: async () => gpus })).gpus).toEqual(gpus);
  });
});

describe('detectEngine: start-up files in the engine cache', () => {
  const commit = 'f'.repeat(40);
  const set = (overrides: Partial<StartupFileSet> = {}): StartupFileSet => ({
    repo: 'openai/clip-vit-large-patch14',
    revision: commit,
    layout: 'folder',
    gated: false,
    families: 'SD 1.x',
    files: [{ path: 'vocab.json', sha256: 'a'.repeat(64), size: 2 }],
    ...overrides,
  });

  it('a set counts only when every file is there (and its Hub-cache ref); a missing required set is a problem with the fix, a gated one a note', async () => {
    const enginesDir = await fakeEngines();
    const cache = path.join(enginesDir, 'kohya', 'cache', 'tokenizers');
    const gemma = set({ repo: 'google/gemma-2-2b', layout: 'hub-cache', gated: true, files: [{ path: 'tokenizer.json', sha256: 'b'.repeat(64), size: 2 }] });
    const detect = (sets: StartupFileSet[]) => detectEngine({ engine: 'kohya', env: {}, settings: { enginesDir }, probeGpus: noGpu, startupFiles: sets });
    const before = await detect([set(), gemma]);
    expect(before.startupFiles).toEqual({ dir: cache, missing: ['openai/clip-vit-large-patch14'], missingOptional: ['google/gemma-2-2b'] });
    expect(before.installed).toBe(true);
    expect(before.problems).toEqual([expect.stringContaining('lorasmith engine install kohya --startup-files-only')]);

    await mkdir(path.join(cache, 'openai_clip-vit-large-patch14'), { recursive: true });
    await writeFile(path.join(cache, 'openai_clip-vit-large-patch14', 'vocab.json'), '{}');
    const snapshot = path.join(cache, 'models--google--gemma-2-2b', 'snapshots', commit);
    await mkdir(snapshot, { recursive: true });
    await writeFile(path.join(snapshot, 'tokenizer.json'), '{}');
    // Without refs/main transformers cannot find the snapshot offline.
    expect((await detect([set(), gemma])).startupFiles).toMatchObject({ missing: [], missingOptional: ['google/gemma-2-2b'] });
    await mkdir(path.join(cache, 'models--google--gemma-2-2b', 'refs'), { recursive: true });
    await writeFile(path.join(cache, 'models--google--gemma-2-2b', 'refs', 'main'), commit);
    const after = await detect([set(), gemma]);
    expect(after.startupFiles).toMatchObject({ missing: [], missingOptional: [] });
    expect(after.problems).toEqual([]);
    // An unpinned set can never be complete: nothing says which bytes belong there.
    expect((await detect([set({ revision: null })])).startupFiles.missing).toEqual(['openai/clip-vit-large-patch14']);
  });
});

describe('detectEngine (fluxflow)', () => {
  it('LORASMITH_FLUXFLOW_PYTHON, torch and the fluxflow-training version', async () => {
    const enginesDir = await fakeEngines();
    const python = path.join(enginesDir, 'fluxflow', 'venv', 'bin', 'python');
    const status = await detectEngine({ engine: 'fluxflow', env: { LORASMITH_FLUXFLOW_PYTHON: python }, settings: { enginesDir }, probeGpus: noGpu });
    expect(status).toMatchObject({ installed: true, python, commit: null, commitIsPinned: null, packageVersion: '0.8.1', sources: { python: 'env' } });
  });

  it('without the package it is not installed', async () => {
    const enginesDir = await fakeEngines({ fluxflow: 'missing' });
    const status = await detectEngine({ engine: 'fluxflow', env: {}, settings: { enginesDir }, probeGpus: noGpu });
    expect(status.installed).toBe(false);
    expect(status.problems.join('\n')).toContain('fluxflow-training is not installed');
  });
});

describe('readGitHead', () => {
  it('follows a .git file and rejects odd refs', async () => {
    const repo = path.join(root, 'worktree');
    const gitDir = path.join(root, 'gitdir');
    await mkdir(repo, { recursive: true });
    await mkdir(gitDir, { recursive: true });
    await writeFile(path.join(repo, '.git'), `gitdir: ${gitDir}\n`);
    await writeFile(path.join(gitDir, 'HEAD'), `${OTHER}\n`);
    expect(await readGitHead(repo)).toEqual({ commit: OTHER, ref: null });
    await writeFile(path.join(gitDir, 'HEAD'), 'ref: refs/../../etc/passwd\n');
    expect(await readGitHead(repo)).toBeNull();
    await writeFile(path.join(gitDir, 'HEAD'), 'garbage\n');
    expect(await readGitHead(repo)).toBeNull();
    expect(await readGitHead(path.join(root, 'no-such'))).toBeNull();
  });
});
