/**
 * Resource limits for the engine (issue #8 point 2, PROC-R05): util-linux `prlimit` in front of the engine's
 * argv sets them and then execs the engine, so the engine keeps prlimit's pid and the shim's idea of "the
 * engine" holds. prlimit lives in /usr, which every sandbox binds read-only.
 *
 *   RLIMIT_CORE = 0     a crashing engine leaves no core dump holding the model, the dataset or the environment.
 *   RLIMIT_NOFILE high  PyTorch data loaders pass tensors between workers through file descriptors.
 *
 * Address space (RLIMIT_AS) is deliberately left alone: CUDA reserves huge virtual ranges and fails under it.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import type { EngineLimits } from './protocol.ts';

export const PRLIMIT = '/usr/bin/prlimit';
/** The open-file limit asked for; the shim's own hard limit caps it (an unprivileged process cannot raise it). */
export const ENGINE_NOFILE = 1_048_576;

/** The hard limit of `Max open files` in a /proc/<pid>/limits text; null when unlimited or unreadable. */
export function hardOpenFiles(limitsText: string): number | null {
  const match = /^Max open files\s+\S+\s+(\S+)/m.exec(limitsText);
  const hard = match === null ? Number.NaN : Number(match[1]);
  return Number.isInteger(hard) && hard > 0 ? hard : null;
}

/**
 * The argv that starts `argv` under the limits, and the limits for the run's status; the argv unchanged and
 * null limits when prlimit is not installed (the run goes on without them, and its status says so).
 */
export function withEngineLimits(argv: readonly string[], params: { prlimit?: string; limitsText?: string } = {}): { argv: string[]; limits: EngineLimits | null } {
  const prlimit = params.prlimit ?? PRLIMIT;
  try {
    accessSync(prlimit, constants.X_OK);
  } catch {
    return { argv: [...argv], limits: null };
  }
  let text = params.limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      text = '';
    }
  }
  const nofile = Math.min(ENGINE_NOFILE, hardOpenFiles(text) ?? ENGINE_NOFILE);
  return { argv: [prlimit, '--core=0', `--nofile=${nofile}:${nofile}`, '--', ...argv], limits: { prlimit, core: 0, nofile } };
}
