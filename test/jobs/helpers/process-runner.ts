/**
 * A `JobRunner` for the scheduler and lifecycle tests that keeps the run shim's file protocol (shim.json,
 * status.json, logs/000001.log) but supervises the engine from the test process instead of a detached shim:
 * it spawns `spec.argv` (the KOHYA ENGINE DOUBLE's stand-in interpreter) with both pipes going straight into
 * the log segment, records pid, start time and exit status, and carries out stop (SIGINT, then SIGTERM).
 * Log reading, the parsed cursor and artefact collection are the shim's own functions. No sandbox: the real
 * shim's sandbox has its own tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../../src/core/atomic-write.ts';
import { isSameProcess, processStartTicks } from '../../../src/core/process-identity.ts';
import type { JobRunner } from '../../../src/jobs/job-runner.ts';
import { collectArtifacts } from '../../../src/jobs/shim/collect-artifacts.ts';
import { writeParsedCursor } from '../../../src/jobs/shim/parsed-cursor.ts';
import { SHIM_SPEC_FILE, SHIM_STATUS_FILE, segmentPath, type ProcessRef, type ShimSpec, type ShimStatus } from '../../../src/jobs/shim/protocol.ts';
import { readLogChunk } from '../../../src/jobs/shim/read-log-chunk.ts';

interface Supervised {
  child: ChildProcess;
  runDir: string;
  status: ShimStatus;
  stopRequested: boolean;
  /** Until the exit is written, the "shim" counts as alive (the real shim also records before it exits). */
  recorded: boolean;
  /** status.json writes, one after another, so the newest status is the one that stays. */
  writing: Promise<void>;
}

export interface ProcessRunner extends JobRunner {
  /** Runs started so far, by run folder. */
  readonly started: string[];
  /** Kill every engine still running (test clean-up). */
  killAll(): void;
  /** Kill the run's engine and record nothing: a shim that died with the machine. */
  vanish(pid: number): void;
}

export function processRunner(): ProcessRunner {
  const runs = new Map<number, Supervised>();
  const started: string[] = [];

  const writeStatus = (run: Supervised): Promise<void> => {
    const status = run.status;
    run.writing = run.writing.then(() => writeFileAtomic(path.join(run.runDir, SHIM_STATUS_FILE), `${JSON.stringify(status)}\n`, 0o600));
    return run.writing;
  };

  return {
    started,
    async chooseSandbox() {
      return { mode: 'unsandboxed' };
    },
    async startShim({ runDir, spec }: { runDir: string; spec: ShimSpec }): Promise<ProcessRef> {
      await writeFileAtomic(path.join(runDir, SHIM_SPEC_FILE), `${JSON.stringify(spec)}\n`, 0o600);
      mkdirSync(path.dirname(segmentPath(runDir, 1)), { recursive: true });
      const log = openSync(segmentPath(runDir, 1), 'a', 0o600);
      const [command, ...args] = spec.argv;
      const child = spawn(command ?? '', args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', log, log], shell: false });
      closeSync(log);
      const pid = child.pid;
      if (pid === undefined) throw new Error(`could not start ${command}`);
      const ref: ProcessRef = { pid, startTicks: processStartTicks(pid) ?? '0' };
      const run: Supervised = {
        child,
        runDir,
        stopRequested: false,
        recorded: false,
        writing: Promise.resolve(),
        status: {
          version: 1,
          shim: ref,
          engine: ref,
          sandboxProcess: ref,
          sandbox: 'unsandboxed',
          cgroup: null,
          state: 'running',
          phase: 'startup',
          startedAt: new Date().toISOString(),
          exit: null,
          snapshots: [],
        },
      };
      runs.set(pid, run);
      started.push(runDir);
      await writeStatus(run);
      child.on('exit', (code, signal) => {
        run.status = { ...run.status, state: 'exited', exit: { code, signal, reason: run.stopRequested ? 'stopped' : 'exited', at: new Date().toISOString() } };
        void writeStatus(run).then(() => {
          run.recorded = true;
        });
      });
      return ref;
    },
    async readShimStatus(runDir) {
      try {
        return JSON.parse(await readFile(path.join(runDir, SHIM_STATUS_FILE), 'utf8')) as ShimStatus;
      } catch {
        return null;
      }
    },
    isShimAlive(ref) {
      const run = runs.get(ref.pid);
      if (run !== undefined) return !run.recorded;
      return isSameProcess(ref.pid, ref.startTicks);
    },
    async requestStop(_runDir, ref) {
      const run = runs.get(ref.pid);
      if (run === undefined || run.status.exit !== null) return;
      run.stopRequested = true;
      run.status = { ...run.status, state: 'stopping' };
      await writeStatus(run);
      run.child.kill('SIGINT');
      setTimeout(() => run.child.kill('SIGTERM'), 500).unref();
    },
    readLogChunk,
    writeParsedCursor,
    collectArtifacts: (workDir, dir) => collectArtifacts(workDir, dir),
    vanish(pid) {
      const run = runs.get(pid);
      if (run === undefined) throw new Error(`no run with pid ${pid}`);
      run.child.removeAllListeners('exit');
      run.child.kill('SIGKILL');
      run.recorded = true;
    },
    killAll() {
      for (const run of runs.values()) if (run.status.exit === null) run.child.kill('SIGKILL');
    },
  };
}
