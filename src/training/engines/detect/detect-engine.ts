/**
 * `detectEngine`: is an engine installed, where, at which commit, with which Python, torch and CUDA, whether its
 * start-up files are in the cache, and which GPUs the machine has (DESIGN.md §4 `detect()`). Locations come
 * from the one resolver (engine-location.ts: env > settings > workspace). The commit is read from `.git`
 * without running git. The venv's Python runs only `-c` scripts that print versions (`import torch` loads no
 * model file), with `-E -s`, argv only, a small explicit environment and a time limit.
 */
import path from 'node:path';
import { probeGpus as defaultProbeGpus, type GpuProbe } from '../../planner/probe-gpus.ts';
import { runProgram, type ProgramResult, type ProgramRunner } from '../../../core/run-program.ts';
import { existsAs as exists, isExecutableFile as executable } from './files.ts';
import { engineLocation, type EngineEnv, type EngineId, type EngineLocationSettings } from './engine-location.ts';
import type { EngineStatus, LocationSource } from './engine-status.ts';
import { startupFileTargets, type StartupFileSet } from './locks.ts';
import { readGitHead } from './read-git-head.ts';

export type { EngineStatus };

/** sd-scripts commit lorasmith is written against (kohya-sd-scripts.md "Upstream versions"). */
export const KOHYA_PINNED_COMMIT = '48d368fa557731ad0488c07304dfeba8c07910eb';

export interface DetectEngineParams {
  engine: EngineId;
  env: EngineEnv;
  settings?: EngineLocationSettings;
  run?: ProgramRunner;
  /** Default: `probeGpus` with the same runner and `env.PATH`. */
  probeGpus?: () => Promise<GpuProbe>;
  /** Limit for the torch import (slow on a cold disk); the version query gets 15 s. Default 120 s. */
  torchTimeoutMs?: number;
  /** This engine's sets from `locks/startup-files.json`, to check the cache; none: the cache is not checked. */
  startupFiles?: readonly StartupFileSet[];
}

/** Prints the interpreter's version; the installer asks the system Python the same. */
export const PY_VERSION = "import sys; print('%d.%d.%d' % sys.version_info[:3])";
const PY_TORCH = 'import torch; print(torch.__version__, torch.version.cuda)';
const PY_FLUXFLOW = "import importlib.metadata as m; print(m.version('fluxflow-training'))";

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value);

async function venvOf(python: string): Promise<string | null> {
  const bin = path.dirname(python);
  if (path.basename(bin) !== 'bin') return null;
  const venv = path.dirname(bin);
  return (await exists(path.join(venv, 'pyvenv.cfg'), 'file')) ? venv : null;
}

function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  const line = lines.at(-1) ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function why(result: ProgramResult): string {
  switch (result.kind) {
    case 'not-found':
      return 'it could not be started';
    case 'timeout':
      return 'it did not finish in time';
    case 'error':
      return result.message;
    case 'exited':
      return `it exited with ${result.code ?? result.signal}${lastLine(result.stderr) === '' ? '' : `: ${lastLine(result.stderr)}`}`;
  }
}

const VERSION = /^\d+\.\d+\.\d+$/;
const TORCH = /^(\d+\.\d+(?:\.\d+)?(?:[A-Za-z0-9.+_-]*)?) (None|\d+\.\d+(?:\.\d+)?)$/;

async function accelerateConfigExists(env: EngineEnv): Promise<boolean> {
  const candidates: string[] = [];
  const explicit = nonEmpty(env.ACCELERATE_CONFIG_FILE);
  if (explicit !== undefined && path.isAbsolute(explicit)) candidates.push(explicit);
  const hfHome = nonEmpty(env.HF_HOME);
  if (hfHome !== undefined && path.isAbsolute(hfHome)) candidates.push(path.join(hfHome, 'accelerate', 'default_config.yaml'));
  const cache = nonEmpty(env.XDG_CACHE_HOME);
  if (cache !== undefined && path.isAbsolute(cache)) candidates.push(path.join(cache, 'huggingface', 'accelerate', 'default_config.yaml'));
  const home = nonEmpty(env.HOME);
  if (home !== undefined && path.isAbsolute(home)) candidates.push(path.join(home, '.cache', 'huggingface', 'accelerate', 'default_config.yaml'));
  for (const file of candidates) if (await exists(file, 'file')) return true;
  return false;
}

/** A set counts as present when every file is (and, in Hub-cache layout, the ref that names its snapshot). */
async function startupFilesState(sets: readonly StartupFileSet[], cacheDir: string): Promise<EngineStatus['startupFiles']> {
  const missing: string[] = [];
  const missingOptional: string[] = [];
  for (const set of sets) {
    const { targets, ref } = startupFileTargets(set, cacheDir);
    const files = [...targets.map((target) => target.dest), ...(ref === null ? [] : [ref.file])];
    const present = set.revision !== null && (await Promise.all(files.map((file) => exists(file, 'file')))).every(Boolean);
    if (!present) (set.gated ? missingOptional : missing).push(set.repo);
  }
  return { dir: cacheDir, missing, missingOptional };
}

export async function detectEngine(params: DetectEngineParams): Promise<EngineStatus> {
  const { engine, env } = params;
  const run = params.run ?? runProgram;
  const location = engineLocation(engine, env, params.settings);
  const problems: string[] = [];
  const envVar = engine === 'kohya' ? 'LORASMITH_KOHYA_PYTHON' : 'LORASMITH_FLUXFLOW_PYTHON';
  const gpusPromise = (params.probeGpus ?? (() => defaultProbeGpus({ run, ...(nonEmpty(env.PATH) === undefined ? {} : { path: env.PATH as string }) })))();

  const fix = `run \`lorasmith engine install ${engine}\`, or point lorasmith at an existing install with \`lorasmith engine set ${engine}\` or ${engine === 'kohya' ? 'LORASMITH_KOHYA_ROOT / LORASMITH_KOHYA_PYTHON' : envVar}`;
  const from = (source: LocationSource, variable: string): string => (source === 'env' ? ` (from ${variable})` : source === 'settings' ? ' (from the engines settings)' : '');
  const absolute = (value: string, what: string): string | null => {
    if (path.isAbsolute(value)) return path.normalize(value);
    problems.push(`The ${what} ${JSON.stringify(value)} is not an absolute path; set it to one.`);
    return null;
  };
  const root = absolute(location.root, `${engine === 'kohya' ? 'sd-scripts folder' : 'engine folder'}${from(location.sources.root, 'LORASMITH_KOHYA_ROOT')}`);
  const python = absolute(location.python, `Python interpreter${from(location.sources.python, envVar)}`);

  let commit: string | null = null;
  let rootOk = false;
  if (root !== null) {
    if (engine === 'kohya') {
      rootOk = (await exists(path.join(root, 'train_network.py'), 'file')) && (await exists(path.join(root, 'library', 'train_util.py'), 'file'));
      if (!rootOk) problems.push(`No sd-scripts checkout at ${root}${from(location.sources.root, 'LORASMITH_KOHYA_ROOT')} (train_network.py and library/train_util.py missing); ${fix}.`);
      else {
        commit = (await readGitHead(root))?.commit ?? null;
        if (commit === null) problems.push(`The commit of ${root} could not be read from .git; lorasmith is tested with sd-scripts ${KOHYA_PINNED_COMMIT}.`);
        else if (commit !== KOHYA_PINNED_COMMIT) problems.push(`sd-scripts is at ${commit}, not the pinned ${KOHYA_PINNED_COMMIT}; options may differ from kohya-args.json.`);
      }
    } else {
      rootOk = await exists(root, 'dir');
    }
  }

  let pythonVersion: string | null = null;
  let torch: EngineStatus['torch'] = null;
  let packageVersion: string | null = null;
  const venv = python === null ? null : await venvOf(python);
  if (python !== null && !(await executable(python))) {
    problems.push(`No Python interpreter at ${python}${from(location.sources.python, envVar)}; ${fix}.`);
  } else if (python !== null) {
    const binPath = [path.dirname(python), '/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter);
    const childEnv: Record<string, string> = { PATH: binPath, LANG: 'C.UTF-8', PYTHONNOUSERSITE: '1', HF_HUB_OFFLINE: '1', TORCH_FORCE_WEIGHTS_ONLY_LOAD: '1' };
    const home = nonEmpty(env.HOME);
    if (home !== undefined) childEnv.HOME = home;
    const py = (script: string, timeoutMs: number) => run({ command: python, args: ['-E', '-s', '-c', script], env: childEnv, timeoutMs, maxOutputBytes: 64 * 1024 });
    const version = await py(PY_VERSION, 15_000);
    const printed = version.kind === 'exited' && version.code === 0 ? lastLine(version.stdout) : '';
    if (VERSION.test(printed)) pythonVersion = printed;
    else problems.push(`${python} did not report its version (${version.kind === 'exited' && version.code === 0 ? `printed ${JSON.stringify(printed)}` : why(version)}).`);
    if (pythonVersion !== null) {
      const torchResult = await py(PY_TORCH, params.torchTimeoutMs ?? 120_000);
      const match = torchResult.kind === 'exited' && torchResult.code === 0 ? TORCH.exec(lastLine(torchResult.stdout)) : null;
      if (match?.[1] !== undefined && match[2] !== undefined) torch = { version: match[1], cuda: match[2] === 'None' ? null : match[2] };
      else problems.push(`torch cannot be imported by ${python} (${torchResult.kind === 'exited' && torchResult.code === 0 ? 'unexpected output' : why(torchResult)}); reinstall the engine.`);
      if (torch !== null && torch.cuda === null) problems.push(`torch ${torch.version} is a CPU-only build: training would run on the CPU.`);
      if (engine === 'fluxflow') {
        const pkg = await py(PY_FLUXFLOW, 30_000);
        const printedPkg = pkg.kind === 'exited' && pkg.code === 0 ? lastLine(pkg.stdout) : '';
        if (/^\d+(\.\d+){1,3}([A-Za-z0-9.+-]*)$/.test(printedPkg)) packageVersion = printedPkg;
        else problems.push(`fluxflow-training is not installed in ${python} (${pkg.kind === 'exited' && pkg.code === 0 ? 'unexpected output' : why(pkg)}).`);
      }
    }
  }

  const startupFiles = await startupFilesState(params.startupFiles ?? [], location.cacheDir);
  if (startupFiles.missing.length > 0) {
    problems.push(
      `Start-up files are missing from ${location.cacheDir} (${startupFiles.missing.join(', ')}): runs have no network, so the engine would stop at start; run \`lorasmith engine install ${engine} --startup-files-only\`.`,
    );
  }

  const gpus = await gpusPromise;
  const installed = rootOk && pythonVersion !== null && torch !== null && (engine === 'kohya' || packageVersion !== null);
  return {
    engine,
    installed,
    root,
    python: python ?? location.python,
    venv,
    commit,
    commitIsPinned: engine === 'kohya' && commit !== null ? commit === KOHYA_PINNED_COMMIT : null,
    pythonVersion,
    torch,
    packageVersion,
    accelerateConfig: await accelerateConfigExists(env),
    gpus,
    sources: location.sources,
    startupFiles,
    problems,
  };
}
