/**
 * The GPU pre-flight probe (model-file-security.md §4, GPU-R02): `nvidia-smi` without a shell, with a time
 * limit, parsed strictly. Three outcomes:
 * - `gpu`: the device list;
 * - `cpu`: no `nvidia-smi` on PATH, or it says it found no device (whatever its exit status), or lists none —
 *   the engines would run on the CPU, slowly; a run may start, with a warning;
 * - `unknown` (`gpu_unknown`): `nvidia-smi` is there but fails (non-zero exit, signal, timeout, driver error)
 *   or prints output that does not parse — starting needs an explicit override (`--allow-unknown-gpu`).
 */
import { runProgram, type ProgramRunner } from '../../core/run-program.ts';
import type { GpuDevice, GpuProbe } from './gpu-probe-types.ts';

export type { GpuDevice, GpuProbe };

export const NVIDIA_SMI_ARGS: readonly string[] = [
  '--query-gpu=index,name,memory.total,memory.free,driver_version',
  '--format=csv,noheader,nounits',
];

export interface ProbeGpusParams {
  run?: ProgramRunner;
  /** PATH the probe searches for `nvidia-smi`; default this process's PATH. */
  path?: string;
  timeoutMs?: number;
}

const NO_DEVICES = /no devices were found/i;
const DRIVER_VERSION = /^\d+(\.\d+){0,3}$/;
const WHOLE = /^\d{1,9}$/;

/** Shown in messages: at most 300 characters of a program's output, on one line. */
export function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/**
 * The rows of a `--query-gpu=… --format=csv,noheader,nounits` answer as trimmed cells, blank lines
 * dropped; a string names the first row without `columns` cells. Shared by the probe and the GPU stats.
 */
export function splitNvidiaSmiCsv(stdout: string, columns: number): string[][] | string {
  const rows: string[][] = [];
  for (const line of stdout.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const cells = line.split(',').map((cell) => cell.trim());
    if (cells.length !== columns) return `expected ${columns} columns, got ${cells.length}: ${excerpt(line)}`;
    rows.push(cells);
  }
  return rows;
}

/** Strict parse of the query output; a string names the first problem. */
export function parseNvidiaSmi(stdout: string): GpuDevice[] | string {
  const rows = splitNvidiaSmiCsv(stdout, 5);
  if (typeof rows === 'string') return rows;
  const gpus: GpuDevice[] = [];
  for (const cells of rows) {
    const [index, name, total, free, driver] = cells as [string, string, string, string, string];
    const line = cells.join(', ');
    if (!WHOLE.test(index) || !WHOLE.test(total) || !WHOLE.test(free)) return `index and memory must be whole numbers: ${excerpt(line)}`;
    if (name === '' || name.length > 200) return `bad GPU name: ${excerpt(line)}`;
    if (!DRIVER_VERSION.test(driver)) return `bad driver version: ${excerpt(line)}`;
    const device: GpuDevice = { index: Number(index), name, memoryTotalMiB: Number(total), memoryFreeMiB: Number(free), driverVersion: driver };
    if (device.memoryFreeMiB > device.memoryTotalMiB) return `free memory above total: ${excerpt(line)}`;
    if (gpus.some((gpu) => gpu.index === device.index)) return `GPU index ${device.index} listed twice`;
    gpus.push(device);
  }
  return gpus;
}

/**
 * What one `nvidia-smi` query said, before its columns are parsed: its output, or that it is not there,
 * that it found no device, or how it failed (the reason is worded for a user).
 */
export type NvidiaSmiAnswer = { kind: 'ok'; stdout: string } | { kind: 'absent' } | { kind: 'no-devices' } | { kind: 'failed'; reason: string };

export interface QueryNvidiaSmiParams {
  args: readonly string[];
  run?: ProgramRunner;
  /** PATH searched for `nvidia-smi`; default this process's PATH. */
  path?: string;
  timeoutMs: number;
}

/** Runs `nvidia-smi` without a shell, with a small environment and a time limit. */
export async function queryNvidiaSmi(params: QueryNvidiaSmiParams): Promise<NvidiaSmiAnswer> {
  const run = params.run ?? runProgram;
  const result = await run({
    command: 'nvidia-smi',
    args: params.args,
    env: { PATH: params.path ?? process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
    timeoutMs: params.timeoutMs,
  });
  switch (result.kind) {
    case 'not-found':
      return { kind: 'absent' };
    case 'timeout':
      return { kind: 'failed', reason: `nvidia-smi did not answer within ${params.timeoutMs < 1000 ? `${params.timeoutMs} ms` : `${Math.round(params.timeoutMs / 1000)} s`} (a hung driver?).` };
    case 'error':
      return { kind: 'failed', reason: `nvidia-smi could not be run: ${excerpt(result.message)}` };
    case 'exited':
      break;
  }
  if (NO_DEVICES.test(result.stdout) || NO_DEVICES.test(result.stderr)) return { kind: 'no-devices' };
  if (result.code !== 0) {
    const said = excerpt(result.stderr || result.stdout);
    const how = result.code === null ? `was killed by ${result.signal ?? 'a signal'}` : `exited with status ${result.code}`;
    return { kind: 'failed', reason: `nvidia-smi ${how}${said === '' ? '' : `: ${said}`}` };
  }
  if (result.truncated) return { kind: 'failed', reason: 'nvidia-smi printed more output than a GPU list can be; it was not parsed.' };
  return { kind: 'ok', stdout: result.stdout };
}

export async function probeGpus(params: ProbeGpusParams = {}): Promise<GpuProbe> {
  const answer = await queryNvidiaSmi({ args: NVIDIA_SMI_ARGS, run: params.run, path: params.path, timeoutMs: params.timeoutMs ?? 10_000 });
  switch (answer.kind) {
    case 'absent':
      return { mode: 'cpu', reason: 'nvidia-smi is not on PATH: no NVIDIA GPU driver found, so the engines would run on the CPU, slowly.' };
    case 'no-devices':
      return { mode: 'cpu', reason: 'nvidia-smi found no GPU ("No devices were found"), so the engines would run on the CPU, slowly.' };
    case 'failed':
      return { mode: 'unknown', reason: answer.reason };
    case 'ok':
      break;
  }
  const parsed = parseNvidiaSmi(answer.stdout);
  if (typeof parsed === 'string') return { mode: 'unknown', reason: `nvidia-smi printed output that does not parse (${parsed}).` };
  if (parsed.length === 0) return { mode: 'cpu', reason: 'nvidia-smi lists no GPU, so the engines would run on the CPU, slowly.' };
  return { mode: 'gpu', gpus: parsed };
}
