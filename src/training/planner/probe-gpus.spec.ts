import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NVIDIA_SMI_ARGS, parseNvidiaSmi, probeGpus } from './probe-gpus.ts';
import type { ProgramRequest, ProgramResult } from '../../core/run-program.ts';

// Fake nvidia-smi programs: small Node scripts (no shell), each alone in a folder that becomes the whole PATH.
let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lorasmith-smi-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
async function fakeSmi(body: string): Promise<string> {
  const dir = path.join(root, `bin${counter++}`);
  await import('node:fs/promises').then((fs) => fs.mkdir(dir));
  const file = path.join(dir, 'nvidia-smi');
  await writeFile(file, `#!${process.execPath}\n${body}\n`);
  await chmod(file, 0o755);
  return dir;
}

const expectArgs = `const want = ${JSON.stringify(NVIDIA_SMI_ARGS)}; if (JSON.stringify(process.argv.slice(2)) !== JSON.stringify(want)) { process.stderr.write('bad args'); process.exit(9); }`;

describe('probeGpus with fake nvidia-smi programs on PATH', () => {
  it('one GPU → gpu mode with the device list', async () => {
    const dir = await fakeSmi(`${expectArgs} process.stdout.write('0, NVIDIA GeForce RTX 4090, 24564, 23012, 550.54.15\\n');`);
    expect(await probeGpus({ path: dir })).toEqual({
      mode: 'gpu',
      gpus: [{ index: 0, name: 'NVIDIA GeForce RTX 4090', memoryTotalMiB: 24564, memoryFreeMiB: 23012, driverVersion: '550.54.15' }],
    });
  });

  it('several GPUs → all of them, in order', async () => {
    const dir = await fakeSmi(
      `${expectArgs} process.stdout.write('0, NVIDIA A100-SXM4-80GB, 81920, 80000, 535.104.05\\n1, NVIDIA A100-SXM4-80GB, 81920, 1200, 535.104.05\\n2, NVIDIA RTX A6000, 49140, 49000, 535.104.05\\n');`,
    );
    const probe = await probeGpus({ path: dir });
    expect(probe.mode).toBe('gpu');
    if (probe.mode !== 'gpu') return;
    expect(probe.gpus.map((gpu) => [gpu.index, gpu.memoryFreeMiB])).toEqual([
      [0, 80000],
      [1, 1200],
      [2, 49000],
    ]);
  });

  it('no nvidia-smi on PATH → cpu mode', async () => {
    const empty = path.join(root, 'empty');
    await import('node:fs/promises').then((fs) => fs.mkdir(empty));
    const probe = await probeGpus({ path: empty });
    expect(probe.mode).toBe('cpu');
  });

  it('"No devices were found" → cpu mode, whatever the exit status', async () => {
    const dir = await fakeSmi(`process.stdout.write('No devices were found\\n'); process.exit(6);`);
    expect((await probeGpus({ path: dir })).mode).toBe('cpu');
    const zero = await fakeSmi(`process.stdout.write('No devices were found\\n');`);
    expect((await probeGpus({ path: zero })).mode).toBe('cpu');
  });

  it('an empty list with exit 0 → cpu mode', async () => {
    const dir = await fakeSmi(`process.stdout.write('\\n');`);
    expect((await probeGpus({ path: dir })).mode).toBe('cpu');
  });

  it('non-zero exit with a driver error → unknown, with the message', async () => {
    const dir = await fakeSmi(
      `process.stdout.write("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\\n"); process.exit(9);`,
    );
    const probe = await probeGpus({ path: dir });
    expect(probe.mode).toBe('unknown');
    if (probe.mode === 'unknown') expect(probe.reason).toMatch(/status 9: NVIDIA-SMI has failed/);
  });

  it.each([
    ['N/A memory', '0, NVIDIA RTX, N/A, 24576, 550.1'],
    ['negative number', '0, NVIDIA RTX, -5, 24576, 550.1'],
    ['extra columns', '0, NVIDIA RTX, 24576, 8000, 550.1, extra'],
    ['missing columns', '0, 8000, 24576'],
    ['free above total', '0, NVIDIA RTX, 8000, 24576, 550.1'],
    ['duplicate index', '0, A, 8000, 100, 550.1\\n0, B, 8000, 100, 550.1'],
  ])('garbage output (%s) → unknown, no crash', async (_label, line) => {
    const dir = await fakeSmi(`process.stdout.write('${line}\\n');`);
    expect((await probeGpus({ path: dir })).mode).toBe('unknown');
  });

  it('1 MB of output → unknown, no crash', async () => {
    const dir = await fakeSmi(`process.stdout.write('0, X, 1, 1, 1\\n'.repeat(80_000));`);
    expect((await probeGpus({ path: dir })).mode).toBe('unknown');
  });

  it('a hanging nvidia-smi → unknown after the time limit', async () => {
    const dir = await fakeSmi(`setTimeout(() => {}, 60_000);`);
    const started = Date.now();
    const probe = await probeGpus({ path: dir, timeoutMs: 500 });
    expect(probe.mode).toBe('unknown');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('killed by a signal → unknown', async () => {
    const dir = await fakeSmi(`process.kill(process.pid, 'SIGSEGV');`);
    expect((await probeGpus({ path: dir })).mode).toBe('unknown');
  });
});

describe('probeGpus with an injected runner', () => {
  it('runs nvidia-smi by argv with a small environment', async () => {
    const seen: ProgramRequest[] = [];
    const run = async (request: ProgramRequest): Promise<ProgramResult> => {
      seen.push(request);
      return { kind: 'exited', code: 0, signal: null, stdout: '0, NVIDIA L4, 23034, 22000, 570.86.10\n1, NVIDIA L4, 23034, 100, 570.86.10\n', stderr: '', truncated: false };
    };
    const probe = await probeGpus({ run, path: '/opt/x' });
    expect(probe.mode === 'gpu' && probe.gpus.length).toBe(2);
    expect(seen[0]?.command).toBe('nvidia-smi');
    expect(seen[0]?.args).toEqual(NVIDIA_SMI_ARGS);
    expect(seen[0]?.env).toEqual({ PATH: '/opt/x', LANG: 'C.UTF-8' });
  });

  it('maps each runner outcome', async () => {
    expect((await probeGpus({ run: async () => ({ kind: 'not-found', message: 'ENOENT' }) })).mode).toBe('cpu');
    expect((await probeGpus({ run: async () => ({ kind: 'timeout', stdout: '', stderr: '' }) })).mode).toBe('unknown');
    expect((await probeGpus({ run: async () => ({ kind: 'error', message: 'EMFILE' }) })).mode).toBe('unknown');
  });
});

describe('parseNvidiaSmi', () => {
  it('keeps names with spaces and accepts CRLF', () => {
    expect(parseNvidiaSmi('3, Tesla V100-SXM2-16GB, 16160, 16000, 470.82.01\r\n')).toEqual([
      { index: 3, name: 'Tesla V100-SXM2-16GB', memoryTotalMiB: 16160, memoryFreeMiB: 16000, driverVersion: '470.82.01' },
    ]);
  });
});
