/**
 * Starting the engine in its sandbox and holding on to it (the shim's side of PROC-R01/R05/R06): argv only,
 * never a shell; the environment is the spec's alone. What "the engine", "stop it" and "kill everything"
 * mean depends on the sandbox:
 *
 *   bwrap        the shim spawns bwrap; bwrap's PID 1 in the new namespace (reported on --json-status-fd)
 *                forks the engine, so the engine is that PID 1's child — signals go to it, never to bwrap
 *                (which ignores SIGINT and does not pass SIGTERM on). Killing PID 1 ends the namespace and
 *                everything in it; the engine ending ends it too.
 *   cgroup       the engine starts inside the run's cgroup (cgroup.ts); kill = cgroup.kill.
 *   unsandboxed  the engine leads its own process group; kill = SIGKILL to the group (a setsid() child
 *                escapes it: this mode is marked "group kill only").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode } from '../../core/errors.ts';
import { isSameProcess, processStartTicks } from '../../core/process-identity.ts';
import { cgroupPopulated, createRunCgroup, killCgroup, ownCgroupDir, removeCgroup, spawnInCgroup } from './cgroup.ts';
import { withEngineLimits } from './engine-limits.ts';
import type { EngineLimits, ProcessRef, SandboxMode, ShimSpec } from './protocol.ts';
import { bwrapArgs, findBwrap, hostRootEntries, isRoot } from './sandbox.ts';

export interface EngineExit {
  code: number | null;
  signal: string | null;
  /** False when the engine never started: the sandbox could not be set up, or the program could not be run. */
  started: boolean;
  /** Why it never started (spawn error); the sandbox's own complaint is in the log. */
  error?: string;
}

export interface EngineHandle {
  mode: SandboxMode;
  /** The limits the engine runs under (null: prlimit is not installed). */
  limits: EngineLimits | null;
  /** What the shim spawned (bwrap, or the engine itself). */
  sandboxProcess: ProcessRef | null;
  cgroup: string | null;
  stdout: Readable;
  stderr: Readable;
  /** The engine process itself, once known; null if it ended (or never started) before it could be seen. */
  engine: Promise<ProcessRef | null>;
  exited: Promise<EngineExit>;
  /** Signal the engine process itself; false when it is not (or no longer) there. */
  signalEngine(signal: 'SIGINT' | 'SIGTERM'): boolean;
  /** SIGKILL to the whole sandbox: bwrap's namespace, the cgroup, or the process group. */
  killAll(): void;
  /** After the exit: kill whatever the engine left running and remove the cgroup. */
  cleanup(): Promise<void>;
}

const STATUS_FD = 3;

function refOf(pid: number | undefined): ProcessRef | null {
  if (pid === undefined) return null;
  const startTicks = processStartTicks(pid);
  return startTicks === null ? null : { pid, startTicks };
}

function signal(ref: ProcessRef | null, name: NodeJS.Signals): boolean {
  if (ref === null || !isSameProcess(ref.pid, ref.startTicks)) return false;
  try {
    process.kill(ref.pid, name);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ESRCH') return false;
    throw error;
  }
}

function exitOf(child: ChildProcess, started: () => boolean): Promise<EngineExit> {
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, started: false, error: error.message }));
    child.once('exit', (code, sig) => resolve({ code, signal: sig, started: started() }));
  });
}

/** The first child of `pid` (bwrap's PID 1 forks exactly one: the engine), waited for up to `timeoutMs`. */
async function firstChild(pid: number, gone: () => boolean, timeoutMs = 10_000): Promise<ProcessRef | null> {
  const deadline = Date.now() + timeoutMs;
  while (!gone() && Date.now() < deadline) {
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return null;
    }
    const ref = refOf(children.length > 0 ? Number(children[0]) : undefined);
    if (ref !== null) return ref;
    await sleep(5);
  }
  return null;
}

function spawnBwrap(spec: ShimSpec, env: Record<string, string>): EngineHandle {
  const bwrap = spec.sandbox.bwrap ?? findBwrap();
  if (bwrap === null) throw new Error('bubblewrap (bwrap) is not installed');
  const limited = withEngineLimits(spec.argv);
  const args = bwrapArgs({
    argv: limited.argv,
    env,
    cwd: spec.cwd,
    readOnly: spec.sandbox.readOnly,
    ...(spec.sandbox.readOnlyAt === undefined ? {} : { readOnlyAt: spec.sandbox.readOnlyAt }),
    writable: spec.sandbox.writable,
    devices: spec.sandbox.devices,
    asRoot: isRoot(),
    ...(spec.sandbox.shmBytes === undefined ? {} : { shmBytes: spec.sandbox.shmBytes }),
    statusFd: STATUS_FD,
    hostRoot: hostRootEntries(),
  });
  const child = spawn(bwrap, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: {}, cwd: '/', shell: false });
  const sandboxProcess = refOf(child.pid);
  let init: ProcessRef | null = null;
  let engineRef: ProcessRef | null = null;
  let ended = false;
  const exited = exitOf(child, () => init !== null).then((exit) => {
    ended = true;
    return exit;
  });
  const engine = new Promise<ProcessRef | null>((resolve) => {
    let buffered = '';
    const statusPipe = child.stdio[STATUS_FD] as Readable;
    statusPipe.setEncoding('utf8');
    statusPipe.on('data', (chunk: string) => {
      buffered += chunk;
      const match = /"child-pid"\s*:\s*(\d+)/.exec(buffered);
      if (match === null || init !== null) return;
      init = refOf(Number(match[1]));
      if (init === null) return resolve(null);
      void firstChild(init.pid, () => ended).then((ref) => {
        engineRef = ref;
        resolve(ref);
      });
    });
    statusPipe.on('end', () => {
      if (init === null) resolve(null);
    });
    statusPipe.on('error', () => resolve(null));
  });
  return {
    mode: 'bwrap',
    limits: limited.limits,
    sandboxProcess,
    cgroup: null,
    stdout: child.stdout as Readable,
    stderr: child.stderr as Readable,
    engine,
    exited,
    signalEngine: (name) => signal(engineRef, name),
    killAll: () => {
      // PID 1 first: its death makes the kernel kill the whole namespace; then bwrap, which would follow anyway.
      signal(init, 'SIGKILL');
      signal(sandboxProcess, 'SIGKILL');
    },
    cleanup: async () => {
      signal(init, 'SIGKILL');
    },
  };
}

function spawnDirect(spec: ShimSpec, env: Record<string, string>, mode: 'cgroup' | 'unsandboxed'): EngineHandle {
  const limited = withEngineLimits(spec.argv);
  const [command, ...args] = limited.argv as [string, ...string[]];
  const start = (): ChildProcess => spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: spec.cwd, detached: true, shell: false });
  let cgroup: string | null = null;
  let child: ChildProcess;
  if (mode === 'cgroup') {
    const home = ownCgroupDir();
    if (home === null) throw new Error('no cgroup v2 hierarchy is mounted');
    cgroup = createRunCgroup(home, spec.jobId);
    const dir = cgroup;
    try {
      child = spawnInCgroup(dir, home, start);
    } catch (error) {
      removeCgroup(dir);
      throw error;
    }
  } else {
    child = start();
  }
  const engineRef = refOf(child.pid);
  const groupKill = (): void => {
    if (engineRef === null) return;
    try {
      process.kill(-engineRef.pid, 'SIGKILL');
    } catch (error) {
      if (errnoCode(error) !== 'ESRCH') throw error;
    }
  };
  const killAll = (): void => {
    if (cgroup !== null) killCgroup(cgroup);
    else groupKill();
  };
  return {
    mode,
    limits: limited.limits,
    sandboxProcess: engineRef,
    cgroup,
    stdout: child.stdout as Readable,
    stderr: child.stderr as Readable,
    engine: Promise.resolve(engineRef),
    exited: exitOf(child, () => engineRef !== null),
    signalEngine: (name) => signal(engineRef, name),
    killAll,
    cleanup: async () => {
      killAll();
      if (cgroup === null) return;
      for (let i = 0; i < 200 && cgroupPopulated(cgroup); i++) await sleep(10);
      removeCgroup(cgroup);
    },
  };
}

/** Start the engine as the spec's sandbox mode says. Throws when it cannot even be spawned. */
export function spawnEngine(spec: ShimSpec, env: Record<string, string>): EngineHandle {
  if (spec.sandbox.mode === 'bwrap') return spawnBwrap(spec, env);
  return spawnDirect(spec, env, spec.sandbox.mode);
}
