/**
 * Run one program (doctor's checks, the GPU probe, the engine detector): argv only (`shell: false`), an explicit small
 * environment, our own timer (cleared on every outcome; spawn's `timeout` keeps a missing program's promise
 * alive), and a cap on captured output so a runaway program cannot fill memory.
 */
import { spawn } from 'node:child_process';
import { errnoCode } from './errors.ts';

export interface ProgramRequest {
  command: string;
  args: readonly string[];
  /** The whole environment of the child: nothing is inherited. */
  env: Readonly<Record<string, string>>;
  timeoutMs: number;
  cwd?: string;
  /** Bytes kept per stream; the rest is dropped and `truncated` set. Default 1 MiB. */
  maxOutputBytes?: number;
}

export type ProgramResult =
  | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; truncated: boolean }
  /** The program is not on PATH / does not exist (ENOENT) or is not executable (EACCES). */
  | { kind: 'not-found'; message: string }
  | { kind: 'timeout'; stdout: string; stderr: string }
  | { kind: 'error'; message: string };

export type ProgramRunner = (request: ProgramRequest) => Promise<ProgramResult>;

const DEFAULT_MAX_OUTPUT = 1024 * 1024;


export const runProgram: ProgramRunner = (request) =>
  new Promise((resolve) => {
    const max = request.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    let settled = false;
    let timedOut = false;
    let truncated = false;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    const finish = (result: ProgramResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(request.command, [...request.args], {
        shell: false,
        env: { ...request.env },
        cwd: request.cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (error) {
      resolve({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, request.timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (outBytes + chunk.length > max) {
        truncated = true;
        chunk = chunk.subarray(0, Math.max(0, max - outBytes));
      }
      outBytes += chunk.length;
      if (chunk.length > 0) out.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (errBytes + chunk.length > max) {
        truncated = true;
        chunk = chunk.subarray(0, Math.max(0, max - errBytes));
      }
      errBytes += chunk.length;
      if (chunk.length > 0) err.push(chunk);
    });
    child.on('error', (error) => {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') finish({ kind: 'not-found', message: `${request.command}: ${code}` });
      else finish({ kind: 'error', message: error.message });
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) finish({ kind: 'timeout', stdout, stderr });
      else finish({ kind: 'exited', code, signal, stdout, stderr, truncated });
    });
  });
