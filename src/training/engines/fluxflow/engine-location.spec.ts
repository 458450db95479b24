import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FLUXFLOW_NOT_INSTALLED, fluxflowEngineStatus } from './engine-location.ts';

let home: string;

async function install(dir: string, options: { cache?: boolean } = {}): Promise<string> {
  const python = path.join(dir, 'venv', 'bin', 'python');
  await mkdir(path.dirname(python), { recursive: true });
  await writeFile(python, '');
  await writeFile(path.join(dir, 'venv', 'bin', 'fluxflow-train'), '');
  if (options.cache !== false) {
    const model = path.join(dir, 'cache', 'models--distilbert-base-uncased');
    await mkdir(path.join(model, 'snapshots', 'abc1234'), { recursive: true });
    await mkdir(path.join(model, 'refs'), { recursive: true });
    await writeFile(path.join(model, 'refs', 'main'), 'abc1234\n');
  }
  return python;
}

beforeEach(async () => {
  home = await realpath(await mkdtemp(path.join(tmpdir(), 'lorasmith-fluxflow-location-')));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('fluxflowEngineStatus', () => {
  it('placeholders under /<fluxflow-not-installed>/ when nothing is installed, with a note', async () => {
    const status = await fluxflowEngineStatus({ env: {}, enginesDir: path.join(home, 'engines') });
    expect(status).toMatchObject({ installed: false, source: 'placeholder' });
    const { bertWeights, ...paths } = status.location;
    expect(Object.values(paths).every((value) => typeof value === 'string' && value.startsWith(`/${FLUXFLOW_NOT_INSTALLED}/`))).toBe(true);
    expect(bertWeights).toBe(true);
    expect(status.note).toContain('not installed');
  });

  it('the workspace engine: venv, fluxflow-train, and the DistilBERT snapshot refs/main names', async () => {
    const engines = path.join(home, 'engines');
    const python = await install(path.join(engines, 'fluxflow'));
    const status = await fluxflowEngineStatus({ env: {}, enginesDir: engines });
    expect(status).toEqual({
      installed: true,
      source: 'workspace',
      location: {
        python,
        venvDir: path.join(engines, 'fluxflow', 'venv'),
        trainer: path.join(engines, 'fluxflow', 'venv', 'bin', 'fluxflow-train'),
        cacheDir: path.join(engines, 'fluxflow', 'cache'),
        bertDir: path.join(engines, 'fluxflow', 'cache', 'models--distilbert-base-uncased', 'snapshots', 'abc1234'),
        // The tokenizer alone: enough to run, not to start the text encoder from pretrained weights.
        bertWeights: false,
      },
    });
    await writeFile(path.join(status.location.bertDir ?? '', 'model.safetensors'), '');
    expect((await fluxflowEngineStatus({ env: {}, enginesDir: engines })).location.bertWeights).toBe(true);
  });

  it('LORASMITH_FLUXFLOW_PYTHON wins; an engine without its cache is not installed, and says why', async () => {
    const python = await install(path.join(home, 'elsewhere'));
    const engines = path.join(home, 'engines');
    await install(path.join(engines, 'fluxflow'), { cache: false });
    const status = await fluxflowEngineStatus({ env: { LORASMITH_FLUXFLOW_PYTHON: python }, enginesDir: engines });
    expect(status).toMatchObject({ installed: false, source: 'env', location: { python, bertDir: null, bertWeights: false, cacheDir: path.join(engines, 'fluxflow', 'cache') } });
    expect(status.note).toContain('engine install fluxflow');
    const missing = await fluxflowEngineStatus({ env: { LORASMITH_FLUXFLOW_PYTHON: path.join(home, 'nope', 'bin', 'python') }, enginesDir: engines });
    expect(missing).toMatchObject({ installed: false, source: 'env' });
    expect(missing.note).toContain('LORASMITH_FLUXFLOW_PYTHON');
  });

  it('the engines settings come after the environment and before the workspace', async () => {
    const python = await install(path.join(home, 'configured'));
    const engines = path.join(home, 'engines');
    await install(path.join(engines, 'fluxflow'));
    const status = await fluxflowEngineStatus({ env: {}, enginesDir: engines, settings: { fluxflowPython: python } });
    expect(status).toMatchObject({ installed: true, source: 'settings', location: { python, trainer: path.join(home, 'configured', 'venv', 'bin', 'fluxflow-train') } });
    const relative = await fluxflowEngineStatus({ env: { LORASMITH_FLUXFLOW_PYTHON: 'venv/bin/python' }, enginesDir: engines });
    expect(relative).toMatchObject({ installed: false, source: 'env' });
    expect(relative.note).toContain('absolute');
  });
});
