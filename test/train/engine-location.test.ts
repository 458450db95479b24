/** Where a dry run takes the kohya engine from: the environment, the workspace, or clearly marked placeholders. */
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
});
