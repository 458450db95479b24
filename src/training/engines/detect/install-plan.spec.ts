import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../../core/errors.ts';
import { KOHYA_PINNED_COMMIT } from './detect-engine.ts';
import { KOHYA_REPOSITORY, cudaForDriver, describeInstallPlan, installPlan, startupFilesPlan, torchIndexFor, type InstallPlanParams } from './install-plan.ts';
import { LOCKS_DIR, readStartupFilesLock, type StartupFileSet } from './locks.ts';

const lock = await readStartupFilesLock(LOCKS_DIR);
const base = { enginesDir: '/ws/engines', locksDir: '/app/locks' };
const kohya: InstallPlanParams = { ...base, engine: 'kohya', target: { driverCuda: '12.4', python: '/usr/bin/python3', git: '/usr/bin/git' }, startupFiles: lock.kohya };
const SHA = 'c'.repeat(64);
const COMMIT = 'd'.repeat(40);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isLorasmithError(error) ? error.code : 'other';
  }
  return undefined;
}

describe('installPlan (kohya)', () => {
  const steps = installPlan(kohya);

  it('orders: pinned git checkout, venv, torch, hashed requirements, check, start-up files', () => {
    expect(steps.map((step) => step.id)).toEqual([
      'git-init',
      'git-fetch',
      'git-checkout',
      'git-verify',
      'venv',
      'torch',
      'requirements',
      'check-torch',
      'startup-files:openai/clip-vit-large-patch14',
      'startup-files:stabilityai/stable-diffusion-2',
      'startup-files:laion/CLIP-ViT-bigG-14-laion2B-39B-b160k',
      'startup-files:google/t5-v1_1-xxl',
      'startup-files:google/gemma-2-2b',
    ]);
    for (const step of steps) expect(step.description.length).toBeGreaterThan(10);
  });

  it('fetches the pinned commit by sha from the repository URL (no remote to collide with on a re-run) and verifies it', () => {
    const fetch = steps.find((step) => step.id === 'git-fetch');
    expect(fetch?.argv).toEqual(['/usr/bin/git', '-C', '/ws/engines/kohya/sd-scripts', 'fetch', '--quiet', '--depth', '1', '--no-tags', KOHYA_REPOSITORY, KOHYA_PINNED_COMMIT]);
    expect(steps.find((step) => step.id === 'git-verify')?.expectStdout).toBe(KOHYA_PINNED_COMMIT);
    expect(fetch?.env).toMatchObject({ GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_GLOBAL: '/dev/null' });
  });

  it('installs torch from the CUDA index the driver supports, hash-pinned, binaries only, and checks that build', () => {
    const torch = steps.find((step) => step.id === 'torch');
    expect(torch?.argv).toEqual([
      '/ws/engines/kohya/venv/bin/python',
      '-E',
      '-s',
      '-m',
      'pip',
      'install',
      '--require-hashes',
      '--no-deps',
      '--only-binary',
      ':all:',
      '--progress-bar',
      'off',
      '--index-url',
      'https://download.pytorch.org/whl/cu118',
      '-r',
      '/app/locks/torch-2.7.1-cu118.txt',
    ]);
    expect(torch?.lock).toEqual({ file: '/app/locks/torch-2.7.1-cu118.txt', indexUrl: 'https://download.pytorch.org/whl/cu118' });
    const requirements = steps.find((step) => step.id === 'requirements');
    expect(requirements?.argv).toContain('--require-hashes');
    expect(requirements?.lock).toEqual({ file: `/app/locks/kohya-${KOHYA_PINNED_COMMIT.slice(0, 12)}.txt`, indexUrl: 'https://pypi.org/simple' });
    expect(steps.find((step) => step.id === 'check-torch')?.expectStdout).toBe('2.7.1+cu118 11.8');
  });

  it('puts tokenizers in sd-scripts’ tokenizer_cache_dir layout, flattening a subfolder; gemma is gated and optional', () => {
    const clip = steps.find((step) => step.id === 'startup-files:openai/clip-vit-large-patch14');
    expect(clip).toMatchObject({ kind: 'hub-fetch', argv: null, fetch: { dest: '/ws/engines/kohya/cache/tokenizers/openai_clip-vit-large-patch14', layout: 'folder', gated: false, revision: null, ref: null } });
    const sd2 = steps.find((step) => step.id === 'startup-files:stabilityai/stable-diffusion-2');
    expect(sd2?.fetch?.files).toContainEqual({ path: 'tokenizer/vocab.json', dest: '/ws/engines/kohya/cache/tokenizers/stabilityai_stable-diffusion-2/vocab.json', sha256: null, size: null });
    expect(steps.find((step) => step.id === 'startup-files:google/gemma-2-2b')).toMatchObject({ optional: true, fetch: { gated: true, layout: 'hub-cache', dest: '/ws/engines/kohya/cache/tokenizers/models--google--gemma-2-2b' } });
  });

  it('takes another full sha, refuses anything else, and needs git and absolute paths', () => {
    const other = 'b'.repeat(40);
    expect(installPlan({ ...kohya, commit: other }).find((s) => s.id === 'git-fetch')?.argv?.at(-1)).toBe(other);
    expect(codeOf(() => installPlan({ ...kohya, commit: '48d368f' }))).toBe('install-commit-invalid');
    expect(codeOf(() => installPlan({ ...kohya, target: { python: 'python3', git: '/usr/bin/git' } }))).toBe('install-path-invalid');
    expect(codeOf(() => installPlan({ ...kohya, target: { python: '/usr/bin/python3' } }))).toBe('install-git-missing');
  });

  it('renders for the user before anything runs, unpinned files said so', () => {
    const text = describeInstallPlan(steps);
    expect(text).toContain(' 1. Create (or reuse) a git repository');
    expect(text).toContain("$ /usr/bin/git -C /ws/engines/kohya/sd-scripts rev-parse --verify 'HEAD^{commit}'");
    expect(text).toContain('(optional)');
    expect(text).toContain('vocab.json  sha256 NOT PINNED');
  });
});

describe('start-up files', () => {
  const pinned: StartupFileSet = {
    repo: 'distilbert/distilbert-base-uncased',
    cacheName: 'distilbert-base-uncased',
    revision: COMMIT,
    layout: 'hub-cache',
    gated: false,
    families: 'FluxFlow',
    files: [{ path: 'tokenizer.json', sha256: SHA, size: 466062 }],
  };

  it('a pinned Hub-cache set lands in the snapshot of its commit, under the name the engine asks for, with refs/main', () => {
    const [step] = startupFilesPlan({ engine: 'fluxflow', enginesDir: '/ws/engines', startupFiles: [pinned] });
    expect(step?.fetch).toEqual({
      repo: 'distilbert/distilbert-base-uncased',
      revision: COMMIT,
      files: [{ path: 'tokenizer.json', dest: `/ws/engines/fluxflow/cache/models--distilbert-base-uncased/snapshots/${COMMIT}/tokenizer.json`, sha256: SHA, size: 466062 }],
      ref: { file: '/ws/engines/fluxflow/cache/models--distilbert-base-uncased/refs/main', commit: COMMIT },
      dest: '/ws/engines/fluxflow/cache/models--distilbert-base-uncased',
      layout: 'hub-cache',
      gated: false,
    });
    expect(describeInstallPlan([step!])).toContain(`tokenizer.json  sha256 ${SHA}  466062 bytes`);
  });
});

describe('installPlan (fluxflow)', () => {
  it('no git; venv, torch, hashed fluxflow set, check, distilbert tokenizer in Hub-cache layout', () => {
    const steps = installPlan({ ...base, engine: 'fluxflow', target: { python: '/usr/bin/python3.11' }, startupFiles: lock.fluxflow });
    expect(steps.map((step) => step.id)).toEqual(['venv', 'torch', 'requirements', 'check-torch', 'startup-files:distilbert/distilbert-base-uncased']);
    expect(steps[0]?.argv).toEqual(['/usr/bin/python3.11', '-E', '-s', '-m', 'venv', '/ws/engines/fluxflow/venv']);
    expect(steps[1]?.argv).toContain('https://download.pytorch.org/whl/cpu');
    expect(steps[1]?.description).toContain('CPU build');
    expect(steps[2]?.lock?.file).toBe('/app/locks/fluxflow.txt');
    expect(steps[3]?.expectStdout).toBe('2.7.1+cpu None');
    expect(steps[4]?.fetch).toMatchObject({ dest: '/ws/engines/fluxflow/cache/models--distilbert-base-uncased', layout: 'hub-cache' });
  });
});

describe('torch index and driver CUDA', () => {
  it('picks the newest build the driver supports', () => {
    expect(torchIndexFor('12.8').tag).toBe('cu128');
    expect(torchIndexFor('13.0').tag).toBe('cu128');
    expect(torchIndexFor('12.6').tag).toBe('cu126');
    expect(torchIndexFor('12.7').tag).toBe('cu126');
    expect(torchIndexFor('12.4').tag).toBe('cu118');
    expect(torchIndexFor('11.8').tag).toBe('cu118');
    expect(torchIndexFor(undefined).tag).toBe('cpu');
    expect(codeOf(() => torchIndexFor('11.4'))).toBe('install-driver-too-old');
    expect(codeOf(() => torchIndexFor('twelve'))).toBe('install-cuda-invalid');
  });

  it('maps driver versions to CUDA', () => {
    expect(cudaForDriver('570.86.10')).toBe('12.8');
    expect(cudaForDriver('560.35.03')).toBe('12.6');
    expect(cudaForDriver('550.54.15')).toBe('12.4');
    expect(cudaForDriver('535.104.05')).toBe('12.2');
    expect(cudaForDriver('470.82.01')).toBeNull();
    expect(cudaForDriver('x')).toBeNull();
  });
});
