/**
 * `lorasmith doctor`: what the studio needs from this machine — Node version, workspace permissions,
 * free disk, GPUs (nvidia-smi), python3, bubblewrap — each with a status and a fix.
 */
import { runProgram as run } from '../core/run-program.ts';
import { stat, statfs } from 'node:fs/promises';
import type { WorkspacePaths } from '../core/workspace.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a program with argv (never a shell), a timeout, and a small environment. */
export type Runner = (command: string, args: string[]) => Promise<RunResult | null>;

export const runProgram: Runner = async (command, args) => {
  const result = await run({ command, args, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, timeoutMs: 10_000 });
  return result.kind === 'exited' ? { code: result.code, stdout: result.stdout, stderr: result.stderr } : null;
};

const GiB = 1024 ** 3;

export function checkNode(version: string = process.versions.node): DoctorCheck {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const ok = major === 24 && minor >= 11;
  return ok
    ? { name: 'node', status: 'ok', detail: `Node ${version}` }
    : { name: 'node', status: 'fail', detail: `Node ${version}; lorasmith needs Node 24 (≥ 24.11)`, hint: 'Run lorasmith through `npx lorasmith` or `npm start` in the clone: they use the pinned Node 24.' };
}

async function checkMode(name: string, file: string, expected: number, kind: 'folder' | 'file'): Promise<DoctorCheck> {
  try {
    const info = await stat(file);
    const mode = info.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      return { name, status: 'fail', detail: `${file} is ${mode.toString(8)}; it must be private (${expected.toString(8)})`, hint: `chmod ${expected.toString(8)} ${file}` };
    }
    return { name, status: 'ok', detail: `${file} (${mode.toString(8)})` };
  } catch {
    return { name, status: kind === 'folder' ? 'fail' : 'warn', detail: `${file} does not exist yet`, hint: 'Run `lorasmith serve` once to create the workspace.' };
  }
}

export async function runDoctor(params: { paths: WorkspacePaths; run?: Runner }): Promise<DoctorCheck[]> {
  const run = params.run ?? runProgram;
  const checks: DoctorCheck[] = [checkNode()];
  checks.push(await checkMode('workspace', params.paths.home, 0o700, 'folder'));
  checks.push(await checkMode('api-secret', params.paths.apiSecret, 0o600, 'file'));
  checks.push(await checkMode('secret store', params.paths.secrets, 0o600, 'file'));

  try {
    const fs = await statfs(params.paths.home);
    const free = Number(fs.bavail) * Number(fs.bsize);
    checks.push(
      free < 20 * GiB
        ? { name: 'disk', status: 'warn', detail: `${(free / GiB).toFixed(1)} GiB free in the workspace`, hint: 'Base models take 2–24 GB each; free some space or move LORASMITH_HOME.' }
        : { name: 'disk', status: 'ok', detail: `${(free / GiB).toFixed(1)} GiB free in the workspace` },
    );
  } catch {
    checks.push({ name: 'disk', status: 'warn', detail: 'free space unknown' });
  }

  const gpus = await run('nvidia-smi', ['--query-gpu=index,name,memory.total,memory.free', '--format=csv,noheader,nounits']);
  if (gpus === null || gpus.code !== 0) {
    checks.push({ name: 'gpu', status: 'warn', detail: 'no NVIDIA GPU found (nvidia-smi not available)', hint: 'Training needs a CUDA GPU; datasets, tagging and inspection work without one.' });
  } else {
    const lines = gpus.stdout.trim().split('\n').filter((line) => line.trim() !== '');
    const described = lines.map((line) => {
      const [index, name, total, free] = line.split(',').map((part) => part.trim());
      return `#${index} ${name} (${free} of ${total} MiB free)`;
    });
    checks.push({ name: 'gpu', status: 'ok', detail: described.join('; ') });
  }

  const python = await run('python3', ['--version']);
  checks.push(
    python !== null && python.code === 0
      ? { name: 'python3', status: 'ok', detail: (python.stdout || python.stderr).trim() }
      : { name: 'python3', status: 'warn', detail: 'python3 not found', hint: 'The training engines need Python 3.10+; `lorasmith engine install` sets up their venvs.' },
  );

  const bwrap = await run('bwrap', ['--version']);
  checks.push(
    bwrap !== null && bwrap.code === 0
      ? { name: 'bubblewrap', status: 'ok', detail: bwrap.stdout.trim() }
      : { name: 'bubblewrap', status: 'warn', detail: 'bwrap not found: training runs cannot be sandboxed', hint: 'Install it: sudo apt-get install -y bubblewrap' },
  );
  return checks;
}
