import { describe, expect, it } from 'vitest';
import type { ShimSpec } from './protocol.ts';
import { ShimSpecError, engineEnvironment, parseShimSpec } from './spec.ts';

const RUN = '/ws/runs/j1';
const good: ShimSpec = {
  version: 1,
  jobId: 'j1',
  runDir: RUN,
  workDir: `${RUN}/work`,
  argv: ['/engines/kohya/venv/bin/python', '-E', '-s', '-u', 'x; touch PWNED'],
  env: { PATH: '/usr/bin', HOME: `${RUN}/work/home`, TOKENIZERS_PARALLELISM: 'false' },
  cwd: `${RUN}/work`,
  sandbox: { mode: 'bwrap', readOnly: [RUN, '/ws/datasets/dogs'], writable: [`${RUN}/work`], devices: ['/dev/nvidia0'] },
  phases: [{ phase: 'startup', enter: [], ignoreCase: false, idleTimeoutS: 60 }],
  snapshots: [{ dir: `${RUN}/work/output`, pattern: '\\.safetensors$', settleS: 5 }],
  stop: { graceS: 30 },
  logs: { segmentBytes: 1 << 20, keepSegments: 4 },
};

function problems(change: (spec: ShimSpec) => void): string {
  const spec = structuredClone(good);
  change(spec);
  try {
    parseShimSpec(JSON.stringify(spec), RUN);
    return 'accepted';
  } catch (error) {
    expect(error).toBeInstanceOf(ShimSpecError);
    return (error as Error).message;
  }
}

describe('parseShimSpec', () => {
  it('accepts a well-formed spec (free text in argv is just an argument: there is no shell)', () => {
    expect(parseShimSpec(JSON.stringify(good), RUN)).toEqual(good);
  });

  it('refuses credentials and loader hooks in the environment', () => {
    for (const name of ['HF_TOKEN', 'CIVITAI_TOKEN', 'WANDB_API_KEY', 'MY_SECRET', 'AWS_SECRET_ACCESS_KEY', 'LD_PRELOAD', 'PYTHONPATH', 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD']) {
      expect(problems((spec) => (spec.env[name] = 'x'))).toContain(`the environment may not carry ${name}`);
    }
  });

  it('refuses anything writable but work/, a bind of /, relative or unnormalised paths, and a cwd outside work/', () => {
    expect(problems((spec) => spec.sandbox.writable.push(RUN))).toContain(`only workDir may be writable, not ${RUN}`);
    expect(problems((spec) => spec.sandbox.readOnly.push('/'))).toContain('would expose the whole file system');
    expect(problems((spec) => spec.sandbox.readOnly.push('/ws/../etc'))).toContain('is not an absolute, normalised path');
    expect(problems((spec) => (spec.argv[0] = 'python'))).toContain('argv[0] must be an absolute');
    expect(problems((spec) => (spec.cwd = '/tmp'))).toContain('cwd must be inside workDir');
    expect(problems((spec) => (spec.workDir = '/ws/elsewhere'))).toContain('workDir must be <runDir>/work');
    expect(problems((spec) => spec.sandbox.devices.push('/etc/passwd'))).toContain('is not a device under /dev');
  });

  it('refuses invalid patterns, unknown keys and a spec for another run folder', () => {
    expect(problems((spec) => (spec.phases[0] = { phase: 'p', enter: ['(unclosed'], ignoreCase: false }))).toContain('is not a valid regular expression');
    expect(problems((spec) => Object.assign(spec, { shell: true }))).toContain('Unrecognized key');
    expect(() => parseShimSpec(JSON.stringify(good), '/ws/runs/other')).toThrow('names the run folder /ws/runs/j1, not /ws/runs/other');
    expect(() => parseShimSpec('{', RUN)).toThrow(ShimSpecError);
  });

  it('names every missing field, wrong type and out-of-range number by its path', () => {
    const message = problems((spec) => {
      delete (spec as Partial<ShimSpec>).stop;
      (spec.logs as { segmentBytes: unknown }).segmentBytes = '1M';
      spec.logs.keepSegments = 0;
      spec.sandbox.shmBytes = 1.5;
      (spec.sandbox as { mode: string }).mode = 'docker';
      spec.phases[0]!.phase = '';
      (spec as { version: number }).version = 2;
      spec.env['BAD-NAME'] = 'x';
    });
    for (const part of ['stop is required', 'logs.segmentBytes must be a number', 'logs.keepSegments must be at least 1', 'sandbox.shmBytes must be an integer', 'sandbox.mode must be one of', 'phases.0.phase must be 1–64 characters', 'version must be one of 1', 'env.BAD-NAME is not an environment variable name']) {
      expect(message).toContain(part);
    }
    expect(problems((spec) => (spec.phases = []))).toContain('phases must have at least 1 item(s)');
    expect(problems((spec) => (spec.argv = []))).toContain('argv must have at least 1 item(s)');
    expect(problems((spec) => (spec.argv[1] = 'a\0b'))).toContain('argv.1 contains a NUL byte');
    expect(() => parseShimSpec('[]', RUN)).toThrow('(spec) must be an object');
  });
});

describe('engineEnvironment', () => {
  it('always sets TORCH_FORCE_WEIGHTS_ONLY_LOAD=1 and HF_HUB_OFFLINE=1, over whatever the spec says', () => {
    expect(engineEnvironment({ ...good, env: { ...good.env, HF_HUB_OFFLINE: '0' } })).toEqual({ ...good.env, TORCH_FORCE_WEIGHTS_ONLY_LOAD: '1', HF_HUB_OFFLINE: '1' });
  });
});
