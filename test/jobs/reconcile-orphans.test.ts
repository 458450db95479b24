/**
 * Reconciliation of orphans: a run shim SIGKILLed in unsandboxed mode (no PID namespace) leaves its engine
 * running; before the run is called interrupted, the studio's runner kills that engine, identified by pid and
 * start time from status.json — and never a process that merely reuses the pid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shimRunner } from '../../src/jobs/shim-runner.ts';
import { isProcessAlive, readShimStatus, startShim } from '../../src/jobs/shim/index.ts';
import type { ShimStatus } from '../../src/jobs/shim/protocol.ts';
import { logText, makeRoot, makeRun, probeSpec, removeRoot, waitFor } from './shim-fixture.ts';

let root: string;

beforeAll(async () => {
  root = await makeRoot();
});

afterAll(async () => {
  await removeRoot(root);
});

describe('an engine left by a SIGKILLed shim (unsandboxed)', () => {
  it('survives the shim, and is killed by the runner before the run is decided; a stale identity kills nothing', async () => {
    const run = await makeRun(root);
    const shim = await startShim({ runDir: run.runDir, spec: probeSpec(run, 'unsandboxed', ['signals']) });
    await waitFor('the engine running', () => logText(run.runDir).includes('ENGINE-TICKS'));
    const running = (await readShimStatus(run.runDir)) as ShimStatus;
    expect(running.engine).not.toBeNull();
    const engine = running.engine!;

    process.kill(shim.pid, 'SIGKILL');
    await waitFor('the shim gone', () => !isProcessAlive(shim));
    const left = (await readShimStatus(run.runDir)) as ShimStatus;
    expect(left.exit).toBeNull();
    expect(isProcessAlive(engine)).toBe(true);

    const runner = shimRunner();
    // A recorded identity that is not this process (the pid reused after a reboot) is left alone.
    expect(runner.killOrphanedEngine?.({ ...left, engine: { pid: engine.pid, startTicks: '1' } })).toBe(false);
    expect(isProcessAlive(engine)).toBe(true);

    expect(runner.killOrphanedEngine?.(left)).toBe(true);
    await waitFor('the orphaned engine gone', () => !isProcessAlive(engine));
    // Nothing left to kill the second time.
    expect(runner.killOrphanedEngine?.(left)).toBe(false);
  });
});
