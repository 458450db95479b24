/** kohya as a TrainingEngine, without launching: the neutral events, saved states, per-epoch file names. */
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunConfig } from '../../schema/index.ts';
import { KohyaTrainingEngine, neutralEvents } from './engine.ts';

const missing = { installed: false, location: { python: '/p', venvDir: '/v', engineRoot: '/e', tokenizerCacheDir: '/t' }, note: 'not here' };
const engine = new KohyaTrainingEngine({ workspace: { library: {} as never, datasets: { root: '/nowhere' } }, locate: async () => missing });

let runDir: string;
beforeAll(async () => {
  runDir = await mkdtemp(path.join(tmpdir(), 'lorasmith-kohya-engine-'));
  const output = path.join(runDir, 'work', 'output');
  const state = async (name: string, at: number, withFile = true) => {
    await mkdir(path.join(output, name), { recursive: true });
    if (withFile) {
      await writeFile(path.join(output, name, 'train_state.json'), '{}');
      await utimes(path.join(output, name, 'train_state.json'), at, at);
    }
  };
  await state('dog-000001-state', 1000);
  await state('dog-step00000040-state', 2000);
  await state('dog-000002-state', 3000, false);
  await state('cat-000003-state', 4000);
  await mkdir(path.join(runDir, 'elsewhere'), { recursive: true });
  await writeFile(path.join(runDir, 'elsewhere', 'train_state.json'), '{}');
  await symlink(path.join(runDir, 'elsewhere'), path.join(output, 'dog-state'));
});
afterAll(async () => rm(runDir, { recursive: true, force: true }));

describe('KohyaTrainingEngine', () => {
  it('the newest saved state of this output name that holds train_state.json is what a resume starts from', async () => {
    expect(await engine.savedState(runDir, 'dog')).toMatch(/dog-step00000040-state$/);
    expect(await engine.savedState(runDir, 'cow')).toBeNull();
    expect(await engine.savedState(path.join(runDir, 'none'), 'dog')).toBeNull();
  });

  it('per-epoch and per-step files match the pattern; the final file and other names do not', () => {
    const pattern = engine.savedCheckpointPattern('my.lora');
    expect(pattern.exec('my.lora-000003.safetensors')?.[1]).toBe('000003');
    expect(pattern.exec('my.lora-step00000120.safetensors')?.[2]).toBe('00000120');
    expect(pattern.test('my.lora.safetensors')).toBe(false);
    expect(pattern.test('myXlora-000003.safetensors')).toBe(false);
  });

  it('an engine that is not installed refuses the run before it is queued', async () => {
    // The note says what is missing; the hint points to where the whole picture is instead of repeating it.
    await expect(engine.assertInstalled()).rejects.toMatchObject({ code: 'engine-not-installed', message: expect.stringContaining('not here'), hint: expect.stringContaining('lorasmith engine detect') });
    expect(await engine.commit()).toBeNull();
  });

  it('a FluxFlow config handed to kohya is a scheduler bug, not a missing feature', async () => {
    const bug = { code: 'kohya-launch-invalid', status: 500, message: 'A fluxflow run was handed to the kohya sd-scripts engine.', hint: expect.stringContaining('bug in the job scheduler') };
    await expect(engine.inputs({ kind: 'fluxflow' } as RunConfig)).rejects.toMatchObject(bug);
    await expect(engine.prepare({ config: { kind: 'fluxflow' } as RunConfig, runDir, gpus: [] })).rejects.toMatchObject(bug);
  });

  it('neutral events: training bars become progress with the epoch, other bars and bookkeeping are dropped', () => {
    const events = neutralEvents(
      [
        { kind: 'progress', bar: 'caching', step: 1, total: 3, percent: 33, postfix: {} },
        { kind: 'summary', totalSteps: 40 },
        { kind: 'progress', bar: 'training', step: 5, total: 40, percent: 12, itPerSec: 2, remainingS: 17, loss: 0.1, postfix: { avr_loss: '0.1' } },
        { kind: 'state-saving', at: 'epoch', number: 1 },
        { kind: 'model-saved' },
        { kind: 'sample', step: 5 },
        { kind: 'checkpoint', path: '/w/dog.safetensors', final: true },
      ],
      () => 2,
    );
    expect(events).toEqual([
      { kind: 'progress', step: 0, total: 40 },
      { kind: 'progress', step: 5, total: 40, itPerSec: 2, remainingS: 17, loss: 0.1, epoch: 2 },
      { kind: 'sample', step: 5 },
      { kind: 'checkpoint', path: '/w/dog.safetensors', final: true },
    ]);
  });
});
