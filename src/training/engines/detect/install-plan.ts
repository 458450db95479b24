/**
 * `installPlan`: the ordered steps that install an engine (DESIGN.md §4 `installPlan()`): the pinned commit of
 * the source (kohya: sd-scripts `48d368f…`, fetched by sha and checked), a venv, torch from the wheel index
 * that matches the driver's CUDA, every other package from a hash-pinned requirements file
 * (`pip install --require-hashes --no-deps --only-binary :all:`), and the tokenizer files the engine would
 * otherwise fetch at start, to be downloaded through the studio's hub module into `engines/<engine>/cache/`
 * (runs have no network). Each step carries its argv and a sentence for the user; the plan is shown before
 * anything runs. No executor here: this module only describes.
 */
import path from 'node:path';
import { LorasmithError } from '../../../core/errors.ts';
import { KOHYA_PINNED_COMMIT, type EngineId } from './detect-engine.ts';

export const KOHYA_REPOSITORY = 'https://github.com/kohya-ss/sd-scripts.git';
/** torch release installed for both engines: sd-scripts needs ≥ 2.6.0 (kohya-sd-scripts.md "Upstream versions"). */
export const TORCH_VERSION = '2.7.1';
/** CUDA builds published for TORCH_VERSION on download.pytorch.org, newest first. */
export const TORCH_CUDA_BUILDS = [
  { cuda: '12.8', tag: 'cu128' },
  { cuda: '12.6', tag: 'cu126' },
  { cuda: '11.8', tag: 'cu118' },
] as const;

export interface InstallTarget {
  /** Highest CUDA version the driver supports (`nvidia-smi` header "CUDA Version", or `cudaForDriver`); unset installs the CPU build. */
  driverCuda?: string;
  /** The system Python (absolute) that creates the venv. */
  python: string;
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
}

export interface HubFetch {
  repo: string;
  /** Hub revision; the hub module resolves it to a commit and records it. */
  revision: string;
  /** Files, relative to the repository root. */
  files: string[];
  /** Folder the files go to. */
  dest: string;
  /** `folder`: files at dest's top level (sd-scripts' `tokenizer_cache_dir` layout); `hub-cache`: `models--owner--name/` (blobs, refs, snapshots). */
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
  /** The step may be skipped (e.g. a gated tokenizer only one family needs). */
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

interface Tokenizer {
  repo: string;
  files: string[];
  /** Files come from this sub-folder of the repository, flattened into the destination. */
  subfolder?: string;
  layout: 'folder' | 'hub-cache';
  gated: boolean;
  families: string;
}

const CLIP_FILES = ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json'];

/** kohya-sd-scripts.md §3.1 "Tokenizers loaded at start". */
const KOHYA_TOKENIZERS: Tokenizer[] = [
  { repo: 'openai/clip-vit-large-patch14', files: CLIP_FILES, layout: 'folder', gated: false, families: 'SD 1.x, SDXL, SD3, FLUX.1, Chroma' },
  { repo: 'stabilityai/stable-diffusion-2', subfolder: 'tokenizer', files: CLIP_FILES, layout: 'folder', gated: false, families: 'SD 2.x' },
  { repo: 'laion/CLIP-ViT-bigG-14-laion2B-39B-b160k', files: CLIP_FILES, layout: 'folder', gated: false, families: 'SDXL, SD3' },
  { repo: 'google/t5-v1_1-xxl', files: ['spiece.model', 'tokenizer_config.json', 'special_tokens_map.json'], layout: 'folder', gated: false, families: 'SD3, FLUX.1, Chroma' },
  { repo: 'google/gemma-2-2b', files: ['tokenizer.json', 'tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json'], layout: 'hub-cache', gated: true, families: 'Lumina Image 2.0' },
];

/** fluxflow.md §1.1: the trainer's tokenizer, pre-filled in Hub-cache layout. */
const FLUXFLOW_TOKENIZERS: Tokenizer[] = [
  { repo: 'distilbert-base-uncased', files: ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt'], layout: 'hub-cache', gated: false, families: 'FluxFlow' },
];

function tokenizerSteps(engine: EngineId, cacheDir: string): InstallStep[] {
  const list = engine === 'kohya' ? KOHYA_TOKENIZERS : FLUXFLOW_TOKENIZERS;
  return list.map((tokenizer) => {
    // sd-scripts looks in <tokenizer_cache_dir>/<repo with "/" → "_">; the Hub-cache layout keeps its own names.
    const dest = tokenizer.layout === 'folder' ? path.join(cacheDir, tokenizer.repo.replace('/', '_')) : cacheDir;
    const files = tokenizer.files.map((file) => (tokenizer.subfolder === undefined ? file : `${tokenizer.subfolder}/${file}`));
    return {
      id: `tokenizer:${tokenizer.repo}`,
      kind: 'hub-fetch' as const,
      description: `Download the ${tokenizer.repo} tokenizer files (${tokenizer.families}) through the studio's hub module into ${dest}${tokenizer.gated ? '; the repository is gated, so this needs a Hub token whose account accepted its licence' : ''}.`,
      argv: null,
      fetch: { repo: tokenizer.repo, revision: 'main', files, dest, layout: tokenizer.layout, gated: tokenizer.gated },
      ...(tokenizer.gated ? { optional: true } : {}),
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
  const engineDir = path.join(params.enginesDir, engine);
  const venvDir = path.join(engineDir, 'venv');
  const venvPython = path.join(venvDir, 'bin', 'python');
  const cacheDir = engine === 'kohya' ? path.join(engineDir, 'cache', 'tokenizers') : path.join(engineDir, 'cache');
  const torch = torchIndexFor(target.driverCuda);
  const pipEnv = { PATH: `${path.join(venvDir, 'bin')}:${BASE_PATH}`, LANG: 'C.UTF-8', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', PIP_CONFIG_FILE: '/dev/null', PYTHONNOUSERSITE: '1' };
  const pip = (lock: string, indexUrl: string): string[] => [venvPython, '-E', '-s', '-m', 'pip', 'install', '--require-hashes', '--no-deps', '--only-binary', ':all:', '--index-url', indexUrl, '-r', lock];
  const steps: InstallStep[] = [];

  if (engine === 'kohya') {
    const commit = params.commit ?? KOHYA_PINNED_COMMIT;
    if (!SHA.test(commit)) throw planError('install-commit-invalid', `The commit ${JSON.stringify(commit)} is not a full 40-character sha.`, 'Give the full commit sha, not a branch, tag or abbreviation.');
    const src = path.join(engineDir, 'sd-scripts');
    const gitEnv = { PATH: BASE_PATH, LANG: 'C.UTF-8', HOME: engineDir, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
    steps.push(
      { id: 'git-init', kind: 'git', description: `Create an empty git repository for sd-scripts at ${src}.`, argv: ['git', 'init', '--quiet', src], env: gitEnv },
      { id: 'git-remote', kind: 'git', description: `Point it at ${KOHYA_REPOSITORY}.`, argv: ['git', '-C', src, 'remote', 'add', 'origin', KOHYA_REPOSITORY], env: gitEnv },
      {
        id: 'git-fetch',
        kind: 'git',
        description: `Fetch exactly commit ${commit} (no branch, no tags, depth 1).`,
        argv: ['git', '-C', src, 'fetch', '--quiet', '--depth', '1', '--no-tags', 'origin', commit],
        env: gitEnv,
      },
      { id: 'git-checkout', kind: 'git', description: `Check out ${commit.slice(0, 12)} detached.`, argv: ['git', '-C', src, '-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', 'FETCH_HEAD'], env: gitEnv },
      { id: 'git-verify', kind: 'check', description: `Check that the checkout is at ${commit}.`, argv: ['git', '-C', src, 'rev-parse', '--verify', 'HEAD^{commit}'], env: gitEnv, expectStdout: commit },
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
      argv: pip(path.join(params.locksDir, `torch-${TORCH_VERSION}-${torch.tag}.txt`), torch.indexUrl),
      env: pipEnv,
    },
  );

  if (engine === 'kohya') {
    const commit = params.commit ?? KOHYA_PINNED_COMMIT;
    steps.push({
      id: 'requirements',
      kind: 'pip',
      description: `Install sd-scripts' requirements for ${commit.slice(0, 12)} (accelerate, transformers, diffusers, safetensors, bitsandbytes, the optimizers, lycoris_lora …) from PyPI, every package pinned with its hash.`,
      argv: pip(path.join(params.locksDir, `kohya-${commit.slice(0, 12)}.txt`), 'https://pypi.org/simple'),
      env: pipEnv,
    });
  } else {
    steps.push({
      id: 'requirements',
      kind: 'pip',
      description: 'Install a matching fluxflow / fluxflow-training set and its dependencies from PyPI, every package pinned with its hash.',
      argv: pip(path.join(params.locksDir, 'fluxflow.txt'), 'https://pypi.org/simple'),
      env: pipEnv,
    });
  }

  steps.push({
    id: 'check-torch',
    kind: 'check',
    description: 'Check that torch imports and reports its CUDA build (no model is loaded).',
    argv: [venvPython, '-E', '-s', '-c', 'import torch; print(torch.__version__, torch.version.cuda)'],
    env: { PATH: `${path.join(venvDir, 'bin')}:${BASE_PATH}`, LANG: 'C.UTF-8', PYTHONNOUSERSITE: '1' },
  });
  steps.push(...tokenizerSteps(engine, cacheDir));
  return steps;
}

/** The plan as the user reads it before confirming: numbered descriptions with the command lines. */
export function describeInstallPlan(steps: readonly InstallStep[]): string {
  return steps
    .map((step, i) => {
      const command = step.argv === null ? '' : `\n     $ ${step.argv.map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ')}`;
      return `${String(i + 1).padStart(2)}. ${step.description}${step.optional === true ? ' (optional)' : ''}${command}`;
    })
    .join('\n');
}
