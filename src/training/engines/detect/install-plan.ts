/**
 * `installPlan`: the ordered steps that install an engine (DESIGN.md §4 `installPlan()`): the pinned commit of
 * the source (kohya: sd-scripts `48d368f…`, fetched by sha straight from the repository URL and checked), a
 * venv, torch from the wheel index that matches the driver's CUDA, every other package from a hash-pinned
 * requirements file (`pip install --require-hashes --no-deps --only-binary :all:`), and the start-up files the
 * engine would otherwise fetch at start (tokenizers), pinned in `locks/startup-files.json` and downloaded
 * through the studio's hub module into `engines/<engine>/cache/` (runs have no network). Each step carries
 * its argv and a sentence for the user; the plan is shown before anything runs, and every step can run again
 * over a half-finished install (`git init` and `venv` reuse what is there, nothing needs a remote name).
 * No executor here (run-install.ts runs a plan).
 */
import path from 'node:path';
import { LorasmithError } from '../../../core/errors.ts';
import { KOHYA_PINNED_COMMIT } from './detect-engine.ts';
import { engineLocation, type EngineId } from './engine-location.ts';
import { startupFileTargets, startupSetDir, type StartupFileSet, type StartupFileTarget } from './locks.ts';

export const KOHYA_REPOSITORY = 'https://github.com/kohya-ss/sd-scripts.git';
export const PYPI_INDEX = 'https://pypi.org/simple';
/** torch release installed for both engines: sd-scripts needs ≥ 2.6.0 (kohya-sd-scripts.md "Upstream versions"). */
export const TORCH_VERSION = '2.7.1';
/** CUDA builds published for TORCH_VERSION on download.pytorch.org, newest first. */
export const TORCH_CUDA_BUILDS = [
  { cuda: '12.8', tag: 'cu128' },
  { cuda: '12.6', tag: 'cu126' },
  { cuda: '11.8', tag: 'cu118' },
] as const;

export interface InstallTarget {
  /** Highest CUDA version the driver supports (`cudaForDriver` of nvidia-smi's driver version); unset installs the CPU build. */
  driverCuda?: string;
  /** The system Python (absolute) that creates the venv. */
  python: string;
  /** git (absolute), for kohya's checkout. */
  git?: string;
}

export interface InstallPlanParams {
  engine: EngineId;
  target: InstallTarget;
  /** The workspace's `engines/` folder. */
  enginesDir: string;
  /** Where lorasmith's hash-pinned requirement files are (`torch-<version>-<tag>.txt`, `kohya-<commit12>.txt`, `fluxflow.txt`). */
  locksDir: string;
  /** kohya: the full 40-hex commit to install; default the pinned one. */
  commit?: string;
  /** This engine's sets from `locks/startup-files.json`. */
  startupFiles: readonly StartupFileSet[];
}

export interface HubFetch {
  repo: string;
  /** The pinned Hub commit; null when the lock has none (the installer refuses to run such a step). */
  revision: string | null;
  /** Each file with its destination and pinned SHA-256 and size (null when unpinned). */
  files: StartupFileTarget[];
  /** Hub-cache layout: `refs/main`, written last with the commit, so transformers finds the snapshot offline. */
  ref: { file: string; commit: string } | null;
  /** The set's folder in the cache. */
  dest: string;
  layout: 'folder' | 'hub-cache';
  /** A gated repository: needs a Hub token whose account accepted the licence. */
  gated: boolean;
}

export interface InstallStep {
  id: string;
  kind: 'git' | 'venv' | 'pip' | 'check' | 'hub-fetch';
  description: string;
  /** The program and its arguments, run without a shell; null for hub fetches, which run in-process through hub/. */
  argv: string[] | null;
  cwd?: string;
  /** The whole environment of the process. */
  env?: Record<string, string>;
  /** For checks: the exact stdout (trimmed) the step must print. */
  expectStdout?: string;
  fetch?: HubFetch;
  /** pip steps: the hash-pinned requirements file and the index it is installed from (the installer checks the file first). */
  lock?: { file: string; indexUrl: string };
  /** The step may fail without stopping the install (a gated tokenizer only one family needs). */
  optional?: boolean;
}

const SHA = /^[0-9a-f]{40}$/;
const BASE_PATH = '/usr/local/bin:/usr/bin:/bin';

function planError(code: string, message: string, hint: string): LorasmithError {
  return new LorasmithError({ code, message, hint, exitCode: 1 });
}

function versionParts(version: string): [number, number] | null {
  const match = /^(\d{1,3})\.(\d{1,3})/.exec(version.trim());
  return match === null ? null : [Number(match[1]), Number(match[2])];
}

/** The highest CUDA a Linux driver supports (NVIDIA's minimum driver versions per CUDA toolkit). */
export function cudaForDriver(driverVersion: string): string | null {
  const parts = versionParts(driverVersion);
  if (parts === null) return null;
  const [major, minor] = parts;
  const table: Array<[number, number, string]> = [
    [570, 26, '12.8'],
    [560, 28, '12.6'],
    [555, 42, '12.5'],
    [550, 54, '12.4'],
    [545, 23, '12.3'],
    [535, 54, '12.2'],
    [530, 30, '12.1'],
    [525, 60, '12.0'],
    [520, 61, '11.8'],
  ];
  for (const [needMajor, needMinor, cuda] of table) if (major > needMajor || (major === needMajor && minor >= needMinor)) return cuda;
  return null;
}

/** The torch wheel index for a driver CUDA version: the newest build not above it; CPU when unset. */
export function torchIndexFor(driverCuda: string | undefined): { tag: string; indexUrl: string; cuda: string | null } {
  if (driverCuda === undefined) return { tag: 'cpu', indexUrl: 'https://download.pytorch.org/whl/cpu', cuda: null };
  const have = versionParts(driverCuda);
  if (have === null) throw planError('install-cuda-invalid', `The driver CUDA version ${JSON.stringify(driverCuda)} is not a version like 12.4.`, 'Pass the "CUDA Version" nvidia-smi prints in its header.');
  for (const build of TORCH_CUDA_BUILDS) {
    const need = versionParts(build.cuda) as [number, number];
    if (have[0] > need[0] || (have[0] === need[0] && have[1] >= need[1])) return { tag: build.tag, indexUrl: `https://download.pytorch.org/whl/${build.tag}`, cuda: build.cuda };
  }
  throw planError(
    'install-driver-too-old',
    `The NVIDIA driver supports CUDA ${driverCuda}, older than the oldest torch ${TORCH_VERSION} build (CUDA 11.8).`,
    'Update the NVIDIA driver (520 or newer), or install without a GPU (CPU build).',
  );
}

/** The Hub fetches alone: an engine installed elsewhere still reads the workspace's cache. */
export function startupFilesPlan(params: { engine: EngineId; enginesDir: string; startupFiles: readonly StartupFileSet[] }): InstallStep[] {
  const { cacheDir } = engineLocation(params.engine, {}, { enginesDir: params.enginesDir });
  return params.startupFiles.map((set) => {
    const { targets, ref } = startupFileTargets(set, cacheDir);
    const dest = startupSetDir(set, cacheDir);
    const pinned = set.revision === null ? 'no commit pinned yet' : `commit ${set.revision.slice(0, 12)}`;
    return {
      id: `startup-files:${set.repo}`,
      kind: 'hub-fetch' as const,
      description: `Download the ${set.repo} tokenizer files (${set.families}; ${pinned}) through the studio's hub module into ${dest}, each checked against its pinned SHA-256${set.gated ? '; the repository is gated, so this needs a Hub token whose account accepted its licence' : ''}.`,
      argv: null,
      fetch: { repo: set.repo, revision: set.revision, files: targets, ref, dest, layout: set.layout, gated: set.gated },
      ...(set.gated ? { optional: true } : {}),
    };
  });
}

export function installPlan(params: InstallPlanParams): InstallStep[] {
  const { engine, target } = params;
  for (const [what, value] of [
    ['system Python', target.python],
    ['engines folder', params.enginesDir],
    ['lock-file folder', params.locksDir],
  ] as const) {
    if (!path.isAbsolute(value) || path.normalize(value) !== value.replace(/\/+$/, '')) {
      throw planError('install-path-invalid', `The ${what} ${JSON.stringify(value)} is not an absolute, normalised path.`, `Give the ${what} as an absolute path.`);
    }
  }
  const where = engineLocation(engine, {}, { enginesDir: params.enginesDir });
  const engineDir = path.join(params.enginesDir, engine);
  const venvPython = where.workspace.python;
  const venvDir = path.dirname(path.dirname(venvPython));
  const torch = torchIndexFor(target.driverCuda);
  const pipEnv = { PATH: `${path.join(venvDir, 'bin')}:${BASE_PATH}`, LANG: 'C.UTF-8', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PIP_CONFIG_FILE: '/dev/null', PYTHONNOUSERSITE: '1' };
  const pip = (lock: string, indexUrl: string): Pick<InstallStep, 'argv' | 'lock'> => ({
    argv: [venvPython, '-E', '-s', '-m', 'pip', 'install', '--require-hashes', '--no-deps', '--only-binary', ':all:', '--progress-bar', 'off', '--index-url', indexUrl, '-r', lock],
    lock: { file: lock, indexUrl },
  });
  const steps: InstallStep[] = [];

  if (engine === 'kohya') {
    const commit = params.commit ?? KOHYA_PINNED_COMMIT;
    if (!SHA.test(commit)) throw planError('install-commit-invalid', `The commit ${JSON.stringify(commit)} is not a full 40-character sha.`, 'Give the full commit sha, not a branch, tag or abbreviation.');
    const git = target.git;
    if (git === undefined || !path.isAbsolute(git)) throw planError('install-git-missing', 'Installing kohya sd-scripts needs git, and none was found.', 'Install git (sudo apt-get install -y git) and run the install again.');
    const src = where.workspace.root;
    const gitEnv = { PATH: BASE_PATH, LANG: 'C.UTF-8', HOME: engineDir, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
    steps.push(
      { id: 'git-init', kind: 'git', description: `Create (or reuse) a git repository for sd-scripts at ${src}.`, argv: [git, 'init', '--quiet', src], env: gitEnv },
      {
        id: 'git-fetch',
        kind: 'git',
        description: `Fetch exactly commit ${commit} from ${KOHYA_REPOSITORY} (by its hash: no branch, no tags, depth 1).`,
        argv: [git, '-C', src, 'fetch', '--quiet', '--depth', '1', '--no-tags', KOHYA_REPOSITORY, commit],
        env: gitEnv,
      },
      { id: 'git-checkout', kind: 'git', description: `Check out ${commit.slice(0, 12)} detached.`, argv: [git, '-C', src, '-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--force', '--detach', 'FETCH_HEAD'], env: gitEnv },
      { id: 'git-verify', kind: 'check', description: `Check that the checkout is at ${commit}.`, argv: [git, '-C', src, 'rev-parse', '--verify', 'HEAD^{commit}'], env: gitEnv, expectStdout: commit },
    );
  }

  steps.push(
    { id: 'venv', kind: 'venv', description: `Create a Python virtual environment at ${venvDir} with ${target.python}.`, argv: [target.python, '-E', '-s', '-m', 'venv', venvDir], env: { PATH: BASE_PATH, LANG: 'C.UTF-8' } },
    {
      id: 'torch',
      kind: 'pip',
      description:
        torch.cuda === null
          ? `Install torch ${TORCH_VERSION} (CPU build: no NVIDIA driver given) from ${torch.indexUrl}, every file hash-checked.`
          : `Install torch ${TORCH_VERSION} for CUDA ${torch.cuda} (the driver supports CUDA ${target.driverCuda}) from ${torch.indexUrl}, every file hash-checked.`,
      ...pip(path.join(params.locksDir, `torch-${TORCH_VERSION}-${torch.tag}.txt`), torch.indexUrl),
      env: pipEnv,
    },
  );

  if (engine === 'kohya') {
    const commit = params.commit ?? KOHYA_PINNED_COMMIT;
    steps.push({
      id: 'requirements',
      kind: 'pip',
      description: `Install sd-scripts' requirements for ${commit.slice(0, 12)} (accelerate, transformers, diffusers, safetensors, bitsandbytes, the optimizers, lycoris_lora …) from PyPI, every package pinned with its hash.`,
      ...pip(path.join(params.locksDir, `kohya-${commit.slice(0, 12)}.txt`), PYPI_INDEX),
      env: pipEnv,
    });
  } else {
    steps.push({
      id: 'requirements',
      kind: 'pip',
      description: 'Install a matching fluxflow / fluxflow-training set and its dependencies from PyPI, every package pinned with its hash.',
      ...pip(path.join(params.locksDir, 'fluxflow.txt'), PYPI_INDEX),
      env: pipEnv,
    });
  }

  steps.push({
    id: 'check-torch',
    kind: 'check',
    description: `Check that torch imports and is the ${torch.cuda === null ? 'CPU' : `CUDA ${torch.cuda}`} build just installed (no model is loaded).`,
    argv: [venvPython, '-E', '-s', '-c', 'import torch; print(torch.__version__, torch.version.cuda)'],
    env: { PATH: `${path.join(venvDir, 'bin')}:${BASE_PATH}`, LANG: 'C.UTF-8', PYTHONNOUSERSITE: '1' },
    expectStdout: `${TORCH_VERSION}+${torch.tag} ${torch.cuda ?? 'None'}`,
  });
  steps.push(...startupFilesPlan(params));
  return steps;
}

function shellWord(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The plan as the user reads it before confirming: numbered descriptions with the command lines, and each fetched file with its pinned SHA-256. */
export function describeInstallPlan(steps: readonly InstallStep[]): string {
  return steps
    .map((step, i) => {
      const command = step.argv === null ? [] : [`     $ ${step.argv.map(shellWord).join(' ')}`];
      const files = (step.fetch?.files ?? []).map((file) => `     ${file.path}  ${file.sha256 === null ? 'sha256 NOT PINNED' : `sha256 ${file.sha256}`}${file.size === null ? '' : `  ${file.size} bytes`}`);
      return [`${String(i + 1).padStart(2)}. ${step.description}${step.optional === true ? ' (optional)' : ''}`, ...command, ...files].join('\n');
    })
    .join('\n');
}
