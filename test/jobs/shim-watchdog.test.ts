/**
 * The per-phase hang watchdog in a real shim: a double that goes silent in start-up is stopped when the
 * start-up idle limit passes; one whose steps stop is stopped at max(floor, factor × the last step time) in
 * the training phase — and not while its steps still come. Both end with `exit.reason = 'watchdog'` and the
 * phase that hung.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShim, waitForShimExit } from '../../src/jobs/shim/client.ts';
import { logText, makeRoot, makeRun, probeSpec, removeRoot } from './shim-fixture.ts';

let root: string;
beforeAll(async () => {
  root = await makeRoot();
});
afterAll(async () => {
  await removeRoot(root);
});

describe('watchdog', () => {
  it('stops a double that stays silent in the start-up phase', async () => {
    const run = await makeRun(root);
    const spec = probeSpec(run, 'bwrap', ['silent'], { phases: [{ phase: 'startup', enter: [], ignoreCase: false, idleTimeoutS: 4 }] });
    await startShim({ runDir: run.runDir, spec });
    const final = await waitForShimExit({ runDir: run.runDir, timeoutMs: 60_000 });
    expect(final).toMatchObject({ state: 'exited', phase: 'startup', exit: { reason: 'watchdog', detail: expect.stringMatching(/^no output for \d+\.\d s in phase "startup" \(limit 4 s\)$/) } });
    expect(logText(run.runDir)).toBe('starting\n');
  });

  it('stops a double whose steps stop, in the training phase, at the step limit', async () => {
    const run = await makeRun(root);
    const spec = probeSpec(run, 'bwrap', ['steps', '6', '150'], {
      phases: [
        { phase: 'startup', enter: [], ignoreCase: false, idleTimeoutS: 30 },
        { phase: 'training', enter: ['^running training$'], ignoreCase: false, stepPattern: '^steps: (\\d+)/', stepFactor: 5, stepFloorS: 2 },
      ],
    });
    await startShim({ runDir: run.runDir, spec });
    const final = await waitForShimExit({ runDir: run.runDir, timeoutMs: 60_000 });
    // Every step was logged before the watchdog fired: it did not fire while steps came (150 ms each, floor 2 s).
    expect(logText(run.runDir)).toContain('steps: 6/60\n');
    expect(final).toMatchObject({ phase: 'training', exit: { reason: 'watchdog', detail: expect.stringMatching(/^no new step for \d+\.\d s in phase "training" \(limit \d+\.\d s: max\(2 s, 5 × last step \d+\.\d s\)\)$/) } });
  });
});
