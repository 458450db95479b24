/**
 * What `engine install` shows before asking: the machine's facts the plan depends on, found without a shell —
 * the system Python that creates the venv (PATH search, then its version), git (kohya), and the driver's
 * CUDA from the GPU probe (nvidia-smi's driver version → `cudaForDriver` → the torch wheel index) — and the
 * plan itself, with notes (a CPU build, an engine location that points elsewhere, so runs would not use
 * this install).
 */
import path from 'node:path';
import { LorasmithError } from '../../../core/errors.ts';
import { runProgram, type ProgramRunner } from '../../../core/run-program.ts';
import { probeGpus as defaultProbeGpus, type GpuProbe } from '../../planner/probe-gpus.ts';
import { PY_VERSION } from './detect-engine.ts';
import { engineLocation, type EngineEnv, type EngineId, type EngineLocationSettings } from './engine-location.ts';
import { isExecutableFile } from './files.ts';
import { cudaForDriver, installPlan, startupFilesPlan, type InstallStep, type InstallTarget } from './install-plan.ts';
import { LOCKS_DIR, readStartupFilesLock } from './locks.ts';

export interface PrepareInstallParams {
  engine: EngineId;
  env: EngineEnv;
  /** The workspace's `engines/` folder (where the install goes) and the engines settings. */
  enginesDir: string;
  settings?: Omit<EngineLocationSettings, 'enginesDir'>;
  /** The system Python to create the venv with (absolute); default `python3` on PATH. */
  python?: string;
  /** Install the CPU build of torch whatever the GPU probe says. */
  cpu?: boolean;
  /** Only the start-up files (for an engine installed elsewhere, whose runs still read the workspace's cache). */
  startupFilesOnly?: boolean;
  locksDir?: string;
  run?: ProgramRunner;
  probeGpus?: () => Promise<GpuProbe>;
}

export interface PreparedInstall {
  engine: EngineId;
  /** The machine facts the plan used; null for a start-up-files-only plan, which needs none. */
  target: (InstallTarget & { pythonVersion: string }) | null;
  gpus: GpuProbe | null;
  steps: InstallStep[];
  notes: string[];
}

const BASE_PATH = '/usr/local/bin:/usr/bin:/bin';

function installError(code: string, message: string, hint: string): LorasmithError {
  return new LorasmithError({ code, message, hint, exitCode: 1 });
}

/** The first executable `name` on a PATH string (absolute entries only), or null. */
export async function findOnPath(name: string, searchPath: string): Promise<string | null> {
  for (const dir of searchPath.split(path.delimiter)) {
    if (path.isAbsolute(dir) && (await isExecutableFile(path.join(dir, name)))) return path.join(dir, name);
  }
  return null;
}

async function pythonVersion(run: ProgramRunner, python: string): Promise<string | null> {
  const result = await run({ command: python, args: ['-E', '-s', '-c', PY_VERSION], env: { PATH: BASE_PATH, LANG: 'C.UTF-8' }, timeoutMs: 15_000, maxOutputBytes: 4096 });
  const printed = result.kind === 'exited' && result.code === 0 ? result.stdout.trim() : '';
  return /^\d+\.\d+\.\d+$/.test(printed) ? printed : null;
}

async function driverCuda(probe: GpuProbe, cpu: boolean): Promise<{ driverCuda?: string; note: string }> {
  if (cpu) return { note: 'torch: the CPU build, as asked (--cpu); training would run on the CPU.' };
  if (probe.mode === 'cpu') return { note: `torch: the CPU build: ${probe.reason}` };
  if (probe.mode === 'unknown') {
    throw installError('install-gpu-unknown', `The GPU probe failed, so the torch build cannot be chosen: ${probe.reason}`, 'Fix the NVIDIA driver (nvidia-smi must answer), or install the CPU build with --cpu.');
  }
  const driver = probe.gpus[0]?.driverVersion ?? '';
  const cuda = cudaForDriver(driver);
  if (cuda === null) throw installError('install-driver-too-old', `The NVIDIA driver ${driver} is older than any CUDA build of torch supports (CUDA 11.8 needs 520 or newer).`, 'Update the NVIDIA driver, or install the CPU build with --cpu.');
  return { driverCuda: cuda, note: `torch: for the NVIDIA driver ${driver} (CUDA ${cuda}) on ${probe.gpus.map((gpu) => gpu.name).join(', ')}.` };
}

export async function prepareInstall(params: PrepareInstallParams): Promise<PreparedInstall> {
  const { engine, env } = params;
  const run = params.run ?? runProgram;
  const searchPath = env.PATH !== undefined && env.PATH !== '' ? env.PATH : BASE_PATH;
  const locksDir = params.locksDir ?? LOCKS_DIR;
  const startupFiles = (await readStartupFilesLock(locksDir))[engine];
  const notes: string[] = [];
  const where = engineLocation(engine, env, { ...params.settings, enginesDir: params.enginesDir });
  if (where.sources.root !== 'workspace' || where.sources.python !== 'workspace') {
    notes.push(
      params.startupFilesOnly === true
        ? `${engine} runs use the engine at ${where.root} / ${where.python} (set by ${where.sources.python === 'env' || where.sources.root === 'env' ? 'the environment' : 'the engines settings'}); its start-up files still come from ${where.cacheDir}.`
        : `${engine} runs use ${where.python} (set by ${where.sources.python === 'env' || where.sources.root === 'env' ? 'the environment' : 'the engines settings'}), not this install, until that is unset (\`lorasmith engine set ${engine} --clear\`).`,
    );
  }
  if (params.startupFilesOnly === true) {
    const steps = startupFilesPlan({ engine, enginesDir: params.enginesDir, startupFiles });
    return { engine, target: null, gpus: null, steps, notes };
  }

  const python = params.python ?? (await findOnPath('python3', searchPath));
  if (python === null || !path.isAbsolute(python)) {
    throw installError('install-python-missing', 'No python3 was found to create the engine’s virtual environment.', 'Install Python 3.10 or newer with its venv module (sudo apt-get install -y python3 python3-venv), or pass --python /path/to/python3.');
  }
  const version = await pythonVersion(run, python);
  if (version === null) throw installError('install-python-broken', `${python} did not report its version.`, 'Pass a working interpreter with --python /path/to/python3.');
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major !== 3 || minor < 10) throw installError('install-python-too-old', `${python} is Python ${version}; the engines need Python 3.10 or newer.`, 'Install Python 3.10–3.12 and pass it with --python.');
  const git = engine === 'kohya' ? await findOnPath('git', searchPath) : null;
  if (engine === 'kohya' && git === null) throw installError('install-git-missing', 'Installing kohya sd-scripts needs git, and none was found on PATH.', 'Install git (sudo apt-get install -y git) and run the install again.');

  const gpus = await (params.probeGpus ?? (() => defaultProbeGpus({ run, path: searchPath })))();
  const cuda = await driverCuda(gpus, params.cpu === true);
  notes.push(cuda.note);
  const target: NonNullable<PreparedInstall['target']> = { python, pythonVersion: version, ...(git === null ? {} : { git }), ...(cuda.driverCuda === undefined ? {} : { driverCuda: cuda.driverCuda }) };
  const steps = installPlan({ engine, target, enginesDir: params.enginesDir, locksDir, startupFiles });
  return { engine, target, gpus, steps, notes };
}
