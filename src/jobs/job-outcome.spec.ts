/** How a run ends, from the shim's exit record and kohya's own output (the real parser, fed real lines). */
import { describe, expect, it } from 'vitest';
import { KohyaTrainingEngine } from '../training/engines/kohya/engine.ts';
import type { RunConfig } from '../training/schema/index.ts';
import { decideOutcome, type ShimExit } from './job-outcome.ts';

const engine = new KohyaTrainingEngine({ workspace: { library: {} as never, datasets: { root: '/nowhere' } }, locate: async () => ({ installed: false, location: { python: '/p', venvDir: '/v', engineRoot: '/e', tokenizerCacheDir: '/t' } }) });
const config = { kind: 'kohya', name: 'run' } as RunConfig;

function parserAfter(lines: string[]) {
  const parser = engine.createParser(config, 'run');
  for (const line of lines) parser.parse(line);
  return parser;
}

const exit = (partial: Partial<ShimExit>): ShimExit => ({ code: 0, signal: null, reason: 'exited', at: '2026-01-01T00:00:00Z', ...partial });

describe('decideOutcome', () => {
  it('a clean exit after "model saved." with the file there succeeds', () => {
    expect(decideOutcome({ exit: exit({}), parser: parserAfter(['model saved.']), outputExists: true, lastLines: [] })).toMatchObject({ state: 'succeeded', failure: null });
  });

  it('exit 0 without "model saved." fails, and "No data found" says so', () => {
    expect(decideOutcome({ exit: exit({}), parser: parserAfter([]), outputExists: false, lastLines: ['x'] }).failure).toMatchObject({ code: 'no-model-saved', lastLines: ['x'] });
    const noData = decideOutcome({ exit: exit({}), parser: parserAfter(['No data found. Please verify arguments (train_data_dir must be the parent of folders with images) / 画像がありません。']), outputExists: false, lastLines: [] });
    expect(noData).toMatchObject({ state: 'failed', failure: { code: 'no-data' } });
  });

  it('a stop is cancelled with what it keeps; a stop that came after the model was saved still succeeded', () => {
    const stopped = decideOutcome({ exit: exit({ code: null, signal: 'SIGINT', reason: 'stopped' }), parser: parserAfter(['epoch 1/3']), outputExists: false, lastLines: [] });
    expect(stopped).toMatchObject({ state: 'cancelled', failure: { code: 'stopped', message: expect.stringContaining('last save') } });
    expect(decideOutcome({ exit: exit({ reason: 'stopped' }), parser: parserAfter(['model saved.']), outputExists: true, lastLines: [] }).state).toBe('succeeded');
  });

  it('the watchdog, a failed spawn and a failed shim are failures naming what happened', () => {
    expect(decideOutcome({ exit: exit({ code: null, signal: 'SIGKILL', reason: 'watchdog', detail: 'no step in training for 900 s' }), parser: parserAfter([]), outputExists: false, lastLines: [] }).failure).toMatchObject({
      code: 'hang',
      message: expect.stringContaining('no step in training for 900 s'),
    });
    expect(decideOutcome({ exit: exit({ code: null, reason: 'spawn-failed', detail: 'ENOENT' }), parser: parserAfter([]), outputExists: false, lastLines: [] }).failure?.code).toBe('spawn-failed');
    expect(decideOutcome({ exit: exit({ code: null, reason: 'shim-error' }), parser: parserAfter([]), outputExists: false, lastLines: [] }).failure?.code).toBe('shim-error');
  });

  it('an OOM traceback is the reason, whatever the exit status', () => {
    const oom = decideOutcome({ exit: exit({ code: 1 }), parser: parserAfter(['Traceback (most recent call last):', '  File "x.py", line 1, in <module>', 'torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB']), outputExists: false, lastLines: [] });
    expect(oom).toMatchObject({ state: 'failed', failure: { code: 'cuda-oom', hint: expect.stringContaining('batch size') } });
  });
});
