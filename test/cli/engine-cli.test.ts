/**
 * `lorasmith engine detect|set|install` as users run it (a separate process), on fake layouts and a fake
 * machine (test/train/engine-fakes.ts): the JSON contract, locations from the environment and the settings,
 * and an install that shows its plan and is refused, before anything runs, while the repository's locks carry
 * no hashes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KOHYA_PINNED_COMMIT } from '../../src/training/engines/detect/index.ts';
import { makeHome } from '../helpers/studio.ts';
import { fakeMachine, fakeSdScripts, fakeVenv, type FakeMachine } from '../train/engine-fakes.ts';

const cli = path.resolve('src/cli/main.ts');
let root: string;
let machine: FakeMachine;
let kohya: { root: string; python: string };

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lorasmith-engine-cli-'));
  machine = await fakeMachine(root);
  kohya = {
    root: await fakeSdScripts(path.join(root, 'opt', 'sd-scripts'), KOHYA_PINNED_COMMIT),
    python: await fakeVenv(root, path.join(root, 'opt', 'venv'), ['torch-2.7.1-cu128.txt']),
  };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string>, cwd?: string) {
  const result = spawnSync(process.execPath, [cli, 'engine', ...args], {
    env: { HOME: root, LORASMITH_LOG_LEVEL: 'warn', PATH: machine.path, ...env },
    encoding: 'utf8',
    timeout: 60_000,
    input: '',
    ...(cwd === undefined ? {} : { cwd }),
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('lorasmith engine', () => {
  it('--help documents the three subcommands; a wrong one is a usage error', async () => {
    const help = run(['--help'], { LORASMITH_HOME: await makeHome() });
    expect(help.code).toBe(0);
    for (const word of ['engine detect', 'engine install', 'engine set', '--startup-files-only', 'LORASMITH_KOHYA_ROOT']) expect(help.stdout).toContain(word);
    const wrong = run(['frob', '--json'], { LORASMITH_HOME: await makeHome() });
    expect(wrong.code).toBe(2);
    expect(JSON.parse(wrong.stdout).error.code).toBe('usage');
  });

  it('detect --json: the environment’s engine, the GPUs nvidia-smi lists, exit 0 only when every engine asked about is installed', async () => {
    const home = await makeHome();
    const env = { LORASMITH_HOME: home, LORASMITH_KOHYA_ROOT: kohya.root, LORASMITH_KOHYA_PYTHON: kohya.python };
    const one = run(['detect', 'kohya', '--json'], env);
    expect(one.code).toBe(0);
    const report = JSON.parse(one.stdout) as { gpus: { mode: string; gpus: Array<{ name: string }> }; engines: Array<Record<string, unknown>> };
    expect(report.gpus).toMatchObject({ mode: 'gpu', gpus: [{ name: 'NVIDIA H200' }] });
    expect(report.engines).toEqual([
      expect.objectContaining({ engine: 'kohya', installed: true, root: kohya.root, commit: KOHYA_PINNED_COMMIT, commitIsPinned: true, torch: { version: '2.7.1+cu128', cuda: '12.8' }, sources: { root: 'env', python: 'env' } }),
    ]);
    const both = run(['detect', '--json'], env);
    expect(both.code).toBe(1);
    expect((JSON.parse(both.stdout) as typeof report).engines.map((engine) => [engine.engine, engine.installed])).toEqual([
      ['kohya', true],
      ['fluxflow', false],
    ]);
  });

  it('set stores operator paths (relative ones from the current folder), detect then reads them, --clear forgets them', async () => {
    const home = await makeHome();
    const env = { LORASMITH_HOME: home };
    const set = run(['set', 'kohya', '--root', 'sd-scripts', '--python', kohya.python, '--json'], env, path.dirname(kohya.root));
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ engines: { kohyaRoot: kohya.root, kohyaPython: kohya.python, fluxflowPython: null } });
    const text = run(['detect', 'kohya'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`location     ${kohya.root} (settings)`);
    expect(text.stdout).toContain('torch        2.7.1+cu128 (CUDA 12.8)');
    expect(text.stdout).toContain('GPUs: #0 NVIDIA H200');
    // The environment still wins over the settings.
    const elsewhere = run(['detect', 'kohya', '--json'], { ...env, LORASMITH_KOHYA_ROOT: path.join(root, 'none') });
    expect(JSON.parse(elsewhere.stdout).engines[0]).toMatchObject({ installed: false, sources: { root: 'env', python: 'settings' } });
    const missing = run(['set', 'kohya', '--root', path.join(root, 'nope'), '--json'], env);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: 'engine-location-invalid', message: expect.stringContaining('does not exist') });
    expect(JSON.parse(run(['set', 'kohya', '--clear', '--json'], env).stdout)).toEqual({ engines: { kohyaRoot: null, kohyaPython: null, fluxflowPython: null } });
    expect(run(['set', 'kohya', '--clear', '--root', kohya.root], env).code).toBe(2);
  });

  it('install shows the plan, then refuses while the repository’s locks carry no hashes; nothing but the machine checks ran', async () => {
    const home = await makeHome();
    const before = (await machine.calls()).length;
    const json = run(['install', 'kohya', '--yes', '--json'], { LORASMITH_HOME: home });
    expect(json.code).toBe(1);
    const [planLine, errorLine] = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(planLine).toMatchObject({ type: 'plan', engine: 'kohya', notes: [expect.stringContaining('CUDA 12.8')] });
    expect((planLine?.steps as Array<{ id: string }>).map((step) => step.id)).toContain('requirements');
    expect(errorLine).toMatchObject({ error: { code: 'engine-lock-unpinned', message: expect.stringContaining('torch-2.7.1-cu128.txt'), hint: expect.stringContaining('pip-compile --generate-hashes') } });
    expect((await machine.calls()).slice(before).map((call) => call.program)).toEqual(['python3', 'nvidia-smi']);

    const text = run(['install', 'fluxflow'], { LORASMITH_HOME: home });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('Install plan for FluxFlow');
    expect(text.stdout).toContain('--require-hashes');
    expect(text.stdout).toContain('sha256 NOT PINNED');
    expect(text.stderr).toMatch(/^error: The install was refused before anything ran: .*fluxflow\.txt/m);
  });
});
