import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../../core/errors.ts';
import { KOHYA_PINNED_COMMIT } from './detect-engine.ts';
import { cudaForDriver, describeInstallPlan, installPlan, torchIndexFor } from './install-plan.ts';

const base = { enginesDir: '/ws/engines', locksDir: '/app/locks' };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isLorasmithError(error) ? error.code : 'other';
  }
  return undefined;
}

describe('installPlan (kohya)', () => {
  const steps = installPlan({ ...base, engine: 'kohya', target: { driverCuda: '12.4', python: '/usr/bin/python3' } });

  it('orders: pinned git checkout, venv, torch, hashed requirements, check, tokenizers', () => {
    expect(steps.map((step) => step.id)).toEqual([
      'git-init',
      'git-remote',
      'git-fetch',
      'git-checkout',
      'git-verify',
      'venv',
      'torch',
      'requirements',
      'check-torch',
      'tokenizer:openai/clip-vit-large-patch14',
      'tokenizer:stabilityai/stable-diffusion-2',
      'tokenizer:laion/CLIP-ViT-bigG-14-laion2B-39B-b160k',
      'tokenizer:google/t5-v1_1-xxl',
      'tokenizer:google/gemma-2-2b',
    ]);
    for (const step of steps) expect(step.description.length).toBeGreaterThan(10);
  });

  it('fetches the pinned commit by sha and verifies it', () => {
    const fetch = steps.find((step) => step.id === 'git-fetch');
    expect(fetch?.argv).toEqual(['git', '-C', '/ws/engines/kohya/sd-scripts', 'fetch', '--quiet', '--depth', '1', '--no-tags', 'origin', KOHYA_PINNED_COMMIT]);
    expect(steps.find((step) => step.id === 'git-verify')?.expectStdout).toBe(KOHYA_PINNED_COMMIT);
    expect(fetch?.env?.GIT_TERMINAL_PROMPT).toBe('0');
  });

  it('installs torch from the CUDA index the driver supports, hash-pinned, binaries only', () => {
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
      '--index-url',
      'https://download.pytorch.org/whl/cu118',
      '-r',
      '/app/locks/torch-2.7.1-cu118.txt',
    ]);
    const requirements = steps.find((step) => step.id === 'requirements');
    expect(requirements?.argv).toContain('--require-hashes');
    expect(requirements?.argv?.at(-1)).toBe(`/app/locks/kohya-${KOHYA_PINNED_COMMIT.slice(0, 12)}.txt`);
  });

  it('puts tokenizers in sd-scripts’ tokenizer_cache_dir layout; gemma is gated and optional', () => {
    const clip = steps.find((step) => step.id === 'tokenizer:openai/clip-vit-large-patch14');
    expect(clip).toMatchObject({ kind: 'hub-fetch', argv: null, fetch: { dest: '/ws/engines/kohya/cache/tokenizers/openai_clip-vit-large-patch14', layout: 'folder', gated: false } });
    const sd2 = steps.find((step) => step.id === 'tokenizer:stabilityai/stable-diffusion-2');
    expect(sd2?.fetch?.files).toContain('tokenizer/vocab.json');
    expect(steps.find((step) => step.id === 'tokenizer:google/gemma-2-2b')).toMatchObject({ optional: true, fetch: { gated: true, layout: 'hub-cache', dest: '/ws/engines/kohya/cache/tokenizers' } });
  });

  it('takes another full sha, refuses anything else', () => {
    const other = 'b'.repeat(40);
    expect(installPlan({ ...base, engine: 'kohya', target: { python: '/usr/bin/python3' }, commit: other }).find((s) => s.id === 'git-fetch')?.argv?.at(-1)).toBe(other);
    expect(codeOf(() => installPlan({ ...base, engine: 'kohya', target: { python: '/usr/bin/python3' }, commit: '48d368f' }))).toBe('install-commit-invalid');
    expect(codeOf(() => installPlan({ ...base, engine: 'kohya', target: { python: 'python3' } }))).toBe('install-path-invalid');
  });

  it('renders for the user before anything runs', () => {
    const text = describeInstallPlan(steps);
    expect(text).toContain(' 1. Create an empty git repository');
    expect(text).toContain("$ git -C /ws/engines/kohya/sd-scripts rev-parse --verify 'HEAD^{commit}'");
    expect(text).toContain('(optional)');
  });
});

describe('installPlan (fluxflow)', () => {
  it('no git; venv, torch, hashed fluxflow set, check, distilbert tokenizer in Hub-cache layout', () => {
    const steps = installPlan({ ...base, engine: 'fluxflow', target: { python: '/usr/bin/python3.11' } });
    expect(steps.map((step) => step.id)).toEqual(['venv', 'torch', 'requirements', 'check-torch', 'tokenizer:distilbert-base-uncased']);
    expect(steps[0]?.argv).toEqual(['/usr/bin/python3.11', '-E', '-s', '-m', 'venv', '/ws/engines/fluxflow/venv']);
    expect(steps[1]?.argv).toContain('https://download.pytorch.org/whl/cpu');
    expect(steps[1]?.description).toContain('CPU build');
    expect(steps[4]?.fetch).toMatchObject({ dest: '/ws/engines/fluxflow/cache', layout: 'hub-cache' });
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
