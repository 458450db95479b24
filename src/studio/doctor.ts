/**
 * `lorasmith doctor`: what the studio needs from this machine — Node version, workspace permissions,
 * free disk, GPUs, python3, bubblewrap, and each training engine — each with a status and a fix. GPUs and
 * engines come from the same detection as `lorasmith engine detect` and the Settings page (one GPU probe).
 */
import { stat, statfs } from 'node:fs/promises';
import { runProgram, type ProgramRunner } from '../core/run-program.ts';
import type { WorkspacePaths } from '../core/workspace.ts';
import { detectEngines, type EngineEnv, type EngineLocationSettings, type EngineReport } from '../training/engines/detect/index.ts';
import type { GpuProbe } from '../training/planner/probe-gpus.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
}

export interface RunDoctorParams {
  paths: WorkspacePaths;
  /** Where PATH, HOME and the LORASMITH_* engine variables are read; default `process.env`. */
  env?: EngineEnv;
  /** The engines settings section, when the workspace has one. */
  engineSettings?: Omit<EngineLocationSettings, 'enginesDir'>;
  run?: ProgramRunner;
}

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

/** `program --version` with argv only and a small environment; its first line, or null when it did not run. */
async function versionOf(run: ProgramRunner, env: EngineEnv, command: string): Promise<string | null> {
  const result = await run({ command, args: ['--version'], env: { PATH: env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, timeoutMs: 10_000, maxOutputBytes: 16 * 1024 });
  if (result.kind !== 'exited' || result.code !== 0) return null;
  return (result.stdout || result.stderr).trim().split('\n')[0] ?? '';
}

function gpuCheck(gpus: GpuProbe): DoctorCheck {
  switch (gpus.mode) {
    case 'gpu':
      return { name: 'gpu', status: 'ok', detail: gpus.gpus.map((gpu) => `#${gpu.index} ${gpu.name} (${gpu.memoryFreeMiB} of ${gpu.memoryTotalMiB} MiB free, driver ${gpu.driverVersion})`).join('; ') };
    case 'cpu':
      return { name: 'gpu', status: 'warn', detail: gpus.reason, hint: 'Training needs a CUDA GPU; datasets, tagging and inspection work without one.' };
    case 'unknown':
      return { name: 'gpu', status: 'fail', detail: gpus.reason, hint: 'Fix the NVIDIA driver until `nvidia-smi` answers; runs need --allow-unknown-gpu meanwhile.' };
  }
}

function engineCheck(status: EngineReport): DoctorCheck {
  const label = status.engine === 'kohya' ? 'kohya sd-scripts' : 'FluxFlow';
  const facts = [
    status.commit === null ? null : `commit ${status.commit.slice(0, 12)}`,
    status.packageVersion === null ? null : `fluxflow-training ${status.packageVersion}`,
    status.pythonVersion === null ? null : `Python ${status.pythonVersion}`,
    status.torch === null ? null : `torch ${status.torch.version} (${status.torch.cuda === null ? 'CPU' : `CUDA ${status.torch.cuda}`})`,
  ].filter((fact) => fact !== null);
  const where = status.root ?? status.python;
  if (!status.installed) {
    return { name: status.engine, status: 'warn', detail: `${label} is not installed (${where})`, hint: status.problems[0] ?? `Run \`lorasmith engine install ${status.engine}\`.` };
  }
  const detail = `${label} at ${where}: ${facts.join(', ')}`;
  return status.problems.length === 0 ? { name: status.engine, status: 'ok', detail } : { name: status.engine, status: 'warn', detail, hint: status.problems.join(' ') };
}

export async function runDoctor(params: RunDoctorParams): Promise<DoctorCheck[]> {
  const run = params.run ?? runProgram;
  const env = params.env ?? process.env;
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

  const engines = await detectEngines({ env, enginesDir: params.paths.areas.engines, run, ...(params.engineSettings === undefined ? {} : { settings: params.engineSettings }) });
  checks.push(gpuCheck(engines.gpus));

  const python = await versionOf(run, env, 'python3');
  checks.push(
    python !== null
      ? { name: 'python3', status: 'ok', detail: python }
      : { name: 'python3', status: 'warn', detail: 'python3 not found', hint: 'The training engines need Python 3.10+; `lorasmith engine install` sets up their venvs.' },
  );

  const bwrap = await versionOf(run, env, 'bwrap');
  checks.push(
    bwrap !== null
      ? { name: 'bubblewrap', status: 'ok', detail: bwrap }
      : { name: 'bubblewrap', status: 'warn', detail: 'bwrap not found: training runs cannot be sandboxed', hint: 'Install it: sudo apt-get install -y bubblewrap' },
  );
  checks.push(...engines.engines.map(engineCheck));
  return checks;
}
