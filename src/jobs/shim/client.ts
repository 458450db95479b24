/**
 * The server's side of the run shim (protocol.ts): start a shim for a prepared run folder, tell whether it
 * is alive, ask it to stop, wait for its end. The shim is started detached and the server keeps nothing but
 * the run folder, so any later process — a restarted server, the CLI — can do all of this from the folder.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { LorasmithError, errnoCode } from '../../core/errors.ts';
import { isSameProcess } from '../../core/process-identity.ts';
import { SHIM_SPEC_FILE, SHIM_STDERR_FILE, type ProcessRef, type ShimSpec, type ShimStatus } from './protocol.ts';
import { ShimSpecError, findSecretInLaunch, parseShimSpec } from './spec.ts';
import { killCgroup } from './cgroup.ts';
import { readShimStatus } from './status-file.ts';

/** The shim's entry point, run by this same Node. */
export const SHIM_MAIN: string = fileURLToPath(new URL('./main.ts', import.meta.url));

export interface StartShimParams {
  runDir: string;
  spec: ShimSpec;
  /** How long to wait for the shim's first status (default 15 s). */
  timeoutMs?: number;
}

function startFailed(runDir: string, why: string): LorasmithError {
  let tail = '';
  try {
    tail = readFileSync(path.join(runDir, SHIM_STDERR_FILE), 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    // No shim.log: nothing more to say.
  }
  return new LorasmithError({
    code: 'shim-start-failed',
    message: `The run shim for ${runDir} did not start: ${why}.${tail === '' ? '' : `\n${tail}`}`,
    hint: `See ${path.join(runDir, SHIM_STDERR_FILE)}; check that the run folder is writable and has space.`,
  });
}

/**
 * Write shim.json (0600) and start the shim detached (its stderr in shim.log), then wait for its first
 * status. Returns the shim's identity; the run goes on whatever happens to this process.
 */
export async function startShim(params: StartShimParams): Promise<ProcessRef> {
  const runDir = path.resolve(params.runDir);
  const invalid = (message: string): LorasmithError =>
    new LorasmithError({ code: 'shim-spec-invalid', message, hint: 'This is a bug in the engine adapter or the job module: the run was not started.' });
  try {
    parseShimSpec(JSON.stringify(params.spec), runDir);
  } catch (error) {
    if (!(error instanceof ShimSpecError)) throw error;
    throw invalid(error.message);
  }
  // Checked before shim.json is written: a secret must not reach that file either.
  const secret = await findSecretInLaunch(params.spec);
  if (secret !== null) throw invalid(`The run was refused: ${secret}.`);
  if ((await readShimStatus(runDir)) !== null) {
    throw new LorasmithError({ code: 'shim-already-started', message: `The run in ${runDir} already has a shim (status.json exists).`, hint: 'A run is supervised by one shim only; start a new job to run it again.', status: 409 });
  }
  await writeFileAtomic(path.join(runDir, SHIM_SPEC_FILE), `${JSON.stringify(params.spec, null, 2)}\n`, 0o600);
  const stderr = openSync(path.join(runDir, SHIM_STDERR_FILE), 'a', 0o600);
  let child;
  try {
    // Nothing of the server's environment goes along: the shim needs none, and the engine gets only the spec's.
    child = spawn(process.execPath, [SHIM_MAIN, runDir], { detached: true, stdio: ['ignore', stderr, stderr], env: { PATH: '/usr/bin:/bin' }, cwd: runDir, shell: false });
  } finally {
    closeSync(stderr);
  }
  let early: string | null = null;
  child.once('error', (error) => {
    early = error.message;
  });
  child.once('exit', (code, signal) => {
    early ??= `it exited (${code ?? signal}) before writing its status`;
  });
  child.unref();
  const deadline = Date.now() + (params.timeoutMs ?? 15_000);
  for (;;) {
    const status = await readShimStatus(runDir);
    if (status !== null && status.shim.pid === child.pid) return status.shim;
    if (status !== null) throw startFailed(runDir, `status.json names another process (${status.shim.pid})`);
    if (early !== null) throw startFailed(runDir, early);
    if (Date.now() > deadline) throw startFailed(runDir, 'no status after the time allowed');
    await sleep(20);
  }
}

/** Whether the process is there, is the one recorded (start time), and is not a zombie waiting to be reaped. */
export function isProcessAlive(ref: ProcessRef): boolean {
  if (!isSameProcess(ref.pid, ref.startTicks)) return false;
  try {
    const stat = readFileSync(`/proc/${ref.pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Whether the shim that wrote this status is still running. */
export function isShimAlive(status: ShimStatus): boolean {
  return isProcessAlive(status.shim);
}

/**
 * Ask the run's shim to stop the engine (SIGTERM to the shim, identity checked). False when there is no live
 * shim to ask: the run has ended, or its shim is gone.
 */
export async function requestStop(runDir: string): Promise<boolean> {
  const status = await readShimStatus(runDir);
  if (status === null || !isShimAlive(status)) return false;
  try {
    process.kill(status.shim.pid, 'SIGTERM');
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ESRCH') return false;
    throw error;
  }
}

/**
 * Wait until the shim has recorded the end of the run (`state: 'exited'`) or is gone; returns the last status
 * (null if it never wrote one). Rejects with `shim-wait-timeout` after `timeoutMs`.
 */
export async function waitForShimExit(params: { runDir: string; timeoutMs: number; intervalMs?: number }): Promise<ShimStatus | null> {
  const deadline = Date.now() + params.timeoutMs;
  for (;;) {
    const status = await readShimStatus(params.runDir);
    if (status === null || status.state === 'exited' || !isShimAlive(status)) return (await readShimStatus(params.runDir)) ?? status;
    if (Date.now() > deadline) {
      throw new LorasmithError({ code: 'shim-wait-timeout', message: `The run in ${params.runDir} was still ${status.state} after ${params.timeoutMs} ms.`, hint: 'Stop it with requestStop, or wait longer.' });
    }
    await sleep(params.intervalMs ?? 50);
  }
}

/**
 * After the shim died without recording an exit (SIGKILLed, the machine's OOM killer): kill what it left
 * running, before the run is called interrupted. Under bwrap the PID namespace died with the shim; in cgroup
 * mode the run's cgroup is killed whole; unsandboxed, the engine's process group (the engine leads it) if the
 * recorded engine is still that process. True when something was killed.
 */
export function killOrphanedEngine(status: ShimStatus): boolean {
  if (isProcessAlive(status.shim)) return false;
  if (status.cgroup !== null && existsSync(status.cgroup)) {
    killCgroup(status.cgroup);
    return true;
  }
  if (status.engine === null || !isProcessAlive(status.engine)) return false;
  try {
    process.kill(status.sandbox === 'bwrap' ? status.engine.pid : -status.engine.pid, 'SIGKILL');
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ESRCH') return false;
    throw error;
  }
}
