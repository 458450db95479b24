/**
 * Stop and the process tree (PROC-R06, PROC-A09), with real shims: SIGINT reaches the engine process itself,
 * then SIGTERM, while bwrap is left alone until the grace periods end and the sandbox is killed; a double that
 * ignores both and leaves `sleep` children — one behind `setsid` — is gone entirely under bwrap and under the
 * cgroup fallback; without either, the process group dies and the setsid child is what "group kill only"
 * means. A run that ends by itself leaves nothing behind either.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive, requestStop, startShim, waitForShimExit } from '../../src/jobs/shim/client.ts';
import type { SandboxMode } from '../../src/jobs/shim/protocol.ts';
import { readShimStatus } from '../../src/jobs/shim/status-file.ts';
import { logText, makeRoot, makeRun, probeSpec, processesWith, removeRoot, waitFor } from './shim-fixture.ts';

let root: string;
beforeAll(async () => {
  root = await makeRoot();
});
afterAll(async () => {
  await removeRoot(root);
});

let markers = 0;
/** A `sleep` duration no other process on the machine uses, to find the double's children in /proc. */
function marker(): string {
  return `${7000 + (process.pid % 1000)}.${String(++markers).padStart(3, '0')}${Date.now() % 1000}`;
}

async function startTree(mode: SandboxMode, graceS: number): Promise<{ runDir: string; mark: string }> {
  const run = await makeRun(root);
  const mark = marker();
  await startShim({ runDir: run.runDir, spec: probeSpec(run, mode, ['tree', mark], { stop: { graceS } }) });
  await waitFor('tree-ready', () => logText(run.runDir).includes('tree-ready'));
  // The double itself (its argv carries the marker) and its two sleep children; under bwrap also bwrap and
  // its PID 1 (a fork of bwrap, same command line).
  expect(processesWith(mark)).toHaveLength(mode === 'bwrap' ? 5 : 3);
  return { runDir: run.runDir, mark };
}

describe('stop under bwrap', () => {
  it('SIGINT to the engine itself, then SIGTERM after the grace period, while bwrap is still running', async () => {
    const run = await makeRun(root);
    await startShim({ runDir: run.runDir, spec: probeSpec(run, 'bwrap', ['signals'], { stop: { graceS: 3 } }) });
    const ticks = await waitFor('the engine line', () => /ENGINE-TICKS (\d+)/.exec(logText(run.runDir))?.[1]);
    await waitFor('state running', () => (JSON.parse(readFileSync(path.join(run.runDir, 'status.json'), 'utf8')) as { state: string }).state === 'running');
    const status = await readShimStatus(run.runDir);
    // status.engine is the engine process itself (its own start time), not bwrap or bwrap's PID 1.
    expect(status?.engine?.startTicks).toBe(ticks);
    expect(status?.sandboxProcess?.pid).not.toBe(status?.engine?.pid);
    const signals = path.join(run.workDir, 'signals.txt');
    expect(await requestStop(run.runDir)).toBe(true);
    await waitFor('SIGINT', () => existsSync(signals));
    expect(readFileSync(signals, 'utf8')).toBe('SIGINT\n');
    expect((await readShimStatus(run.runDir))?.state).toBe('stopping');
    await waitFor('SIGTERM', () => readFileSync(signals, 'utf8').includes('SIGTERM'));
    // bwrap would have died of a SIGTERM of its own; it is alive until the shim kills the sandbox.
    expect(isProcessAlive(status?.sandboxProcess as { pid: number; startTicks: string })).toBe(true);
    const final = await waitForShimExit({ runDir: run.runDir, timeoutMs: 30_000 });
    expect(readFileSync(signals, 'utf8')).toBe('SIGINT\nSIGTERM\n');
    expect(final).toMatchObject({ state: 'exited', exit: { reason: 'stopped', code: null, signal: 'SIGKILL' } });
    expect(logText(run.runDir)).toContain('got SIGINT\ngot SIGTERM\n');
  });

  it('PROC-A09: a double that ignores both signals and forked sleep children (one via setsid) is gone after the grace periods', async () => {
    const { runDir, mark } = await startTree('bwrap', 1);
    const started = Date.now();
    expect(await requestStop(runDir)).toBe(true);
    const final = await waitForShimExit({ runDir, timeoutMs: 30_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(final?.exit?.reason).toBe('stopped');
    expect(logText(runDir)).toContain('ignoring SIGINT\nignoring SIGTERM\n');
    expect(processesWith(mark)).toEqual([]);
    expect(isProcessAlive(final?.engine as { pid: number; startTicks: string })).toBe(false);
  });

  it('a run that ends by itself takes its leftover children with it', async () => {
    const run = await makeRun(root);
    const mark = marker();
    await startShim({ runDir: run.runDir, spec: probeSpec(run, 'bwrap', ['orphans', mark]) });
    const final = await waitForShimExit({ runDir: run.runDir, timeoutMs: 30_000 });
    expect(final?.exit).toMatchObject({ reason: 'exited', code: 0 });
    expect(logText(run.runDir)).toContain('orphans-left');
    expect(processesWith(mark)).toEqual([]);
  });
});

describe('stop with the cgroup v2 fallback', () => {
  it('PROC-A09 again: cgroup.kill ends the double and both sleep children; the run’s cgroup is removed', async () => {
    const { runDir, mark } = await startTree('cgroup', 1);
    const status = await readShimStatus(runDir);
    expect(status?.sandbox).toBe('cgroup');
    const cgroup = status?.cgroup as string;
    expect(readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(await requestStop(runDir)).toBe(true);
    const final = await waitForShimExit({ runDir, timeoutMs: 30_000 });
    expect(final?.exit?.reason).toBe('stopped');
    expect(processesWith(mark)).toEqual([]);
    expect(existsSync(cgroup)).toBe(false);
  });

  it('a run that ends by itself: its setsid child is killed with the cgroup', async () => {
    const run = await makeRun(root);
    const mark = marker();
    await startShim({ runDir: run.runDir, spec: probeSpec(run, 'cgroup', ['orphans', mark]) });
    const final = await waitForShimExit({ runDir: run.runDir, timeoutMs: 30_000 });
    expect(final?.exit).toMatchObject({ reason: 'exited', code: 0 });
    expect(processesWith(mark)).toEqual([]);
  });
});

describe('stop unsandboxed (group kill only)', () => {
  it('SIGINT, SIGTERM, then the process group: the group dies, a setsid child is outside it', async () => {
    const { runDir, mark } = await startTree('unsandboxed', 1);
    expect(await requestStop(runDir)).toBe(true);
    const final = await waitForShimExit({ runDir, timeoutMs: 30_000 });
    expect(final).toMatchObject({ sandbox: 'unsandboxed', exit: { reason: 'stopped', signal: 'SIGKILL' } });
    const left = processesWith(mark);
    try {
      // Exactly the one that left the group: this is why such a job is marked "group kill only".
      expect(left).toHaveLength(1);
      expect(readFileSync(`/proc/${left[0]}/stat`, 'utf8')).toMatch(/^\d+ \(sleep\)/);
    } finally {
      for (const pid of left) process.kill(pid, 'SIGKILL');
    }
  });
});
