/** Where a dry run takes the kohya engine from: the environment, then the engines settings, then the workspace, or clearly marked placeholders. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KOHYA_NOT_INSTALLED, kohyaEngineStatus } from '../../src/training/dry-run.ts';
import { makeHome } from '../helpers/studio.ts';

async function fakeEngine(dir: string): Promise<{ root: string; python: string }> {
  const root = path.join(dir, 'sd-scripts');
  const python = path.join(dir, 'venv', 'bin', 'python');
  await mkdir(root, { recursive: true });
  await mkdir(path.dirname(python), { recursive: true });
  await writeFile(python, '');
  return { root, python };
}

describe('kohyaEngineStatus', () => {
  it('placeholders under /<kohya-not-installed>/ when nothing is installed, with a note', async () => {
    const engines = path.join(await makeHome(), 'engines');
    const status = await kohyaEngineStatus({ env: {}, enginesDir: engines });
    expect(status).toMatchObject({ installed: false, source: 'placeholder' });
    expect(Object.values(status.location).every((value) => value.startsWith(`/${KOHYA_NOT_INSTALLED}/`))).toBe(true);
    expect(status.note).toContain('not installed');
  });

  it('the workspace engine folder when it holds sd-scripts and a venv', async () => {
    const engines = path.join(await makeHome(), 'engines');
    const { root, python } = await fakeEngine(path.join(engines, 'kohya'));
    const status = await kohyaEngineStatus({ env: {}, enginesDir: engines });
    expect(status).toMatchObject({ installed: true, source: 'workspace', location: { engineRoot: root, python, venvDir: path.join(engines, 'kohya', 'venv'), tokenizerCacheDir: path.join(engines, 'kohya', 'cache', 'tokenizers') } });
    expect(status.note).toBeUndefined();
  });

  it('LORASMITH_KOHYA_ROOT / LORASMITH_KOHYA_PYTHON win; missing ones are kept but noted', async () => {
    const home = await makeHome();
    const { root, python } = await fakeEngine(path.join(home, 'elsewhere'));
    const env = { LORASMITH_KOHYA_ROOT: root, LORASMITH_KOHYA_PYTHON: python };
    expect(await kohyaEngineStatus({ env, enginesDir: path.join(home, 'engines') })).toMatchObject({ installed: true, source: 'env', location: { engineRoot: root, python } });
    const missing = await kohyaEngineStatus({ env: { LORASMITH_KOHYA_ROOT: path.join(home, 'nope') }, enginesDir: path.join(home, 'engines') });
    expect(missing).toMatchObject({ installed: false, source: 'env', location: { engineRoot: path.join(home, 'nope') } });
    expect(missing.note).toContain('LORASMITH_KOHYA_ROOT');
  });

  it('the engines settings come between the environment and the workspace', async () => {
    const home = await makeHome();
    const engines = path.join(home, 'engines');
    const workspace = await fakeEngine(path.join(engines, 'kohya'));
    const configured = await fakeEngine(path.join(home, 'opt'));
    const other = await fakeEngine(path.join(home, 'env'));
    const settings = { kohyaRoot: configured.root, kohyaPython: configured.python };
    expect(await kohyaEngineStatus({ env: {}, enginesDir: engines, settings })).toMatchObject({ installed: true, source: 'settings', location: { engineRoot: configured.root, python: configured.python, venvDir: path.join(home, 'opt', 'venv') } });
    // One variable is enough to make the run use the environment's engine for that path.
    expect(await kohyaEngineStatus({ env: { LORASMITH_KOHYA_PYTHON: other.python }, enginesDir: engines, settings })).toMatchObject({ source: 'env', location: { engineRoot: configured.root, python: other.python } });
    expect(await kohyaEngineStatus({ env: {}, enginesDir: engines, settings: { kohyaRoot: null, kohyaPython: null } })).toMatchObject({ source: 'workspace', location: { engineRoot: workspace.root } });
    // The cache stays the workspace's, whoever installed the engine.
    expect((await kohyaEngineStatus({ env: {}, enginesDir: engines, settings })).location.tokenizerCacheDir).toBe(path.join(engines, 'kohya', 'cache', 'tokenizers'));
    const gone = await kohyaEngineStatus({ env: {}, enginesDir: engines, settings: { kohyaRoot: path.join(home, 'gone'), kohyaPython: configured.python } });
    expect(gone).toMatchObject({ installed: false, source: 'settings' });
    expect(gone.note).toContain('lorasmith engine set kohya');
  });

  it('a relative location is not an engine, whatever is in the current folder', async () => {
    const status = await kohyaEngineStatus({ env: { LORASMITH_KOHYA_ROOT: '.', LORASMITH_KOHYA_PYTHON: 'package.json' }, enginesDir: path.join(await makeHome(), 'engines') });
    expect(status).toMatchObject({ installed: false, source: 'env' });
    expect(status.note).toContain('not given as an absolute path');
  });
});
