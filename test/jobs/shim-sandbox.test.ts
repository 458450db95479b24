/**
 * The sandbox, proved with the SANDBOX PROBE DOUBLE run by a real shim under real bubblewrap (as root, as CI
 * runs): writes outside work/ (the run's status file, its config, a dataset) fail and leave the files as they
 * were, a TCP server on the host's 127.0.0.1 cannot be reached, no hub token reaches the environment (even
 * with HF_TOKEN set in the starting process), the engine runs as 65534 with no capabilities in its own PID
 * namespace, and what it writes in work/ lands there, owned by root outside (PROC-R05).
 */
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShim, waitForShimExit } from '../../src/jobs/shim/client.ts';
import { FORCED_ENGINE_ENV } from '../../src/jobs/shim/spec.ts';
import { ENGINE_NOFILE, hardOpenFiles } from '../../src/jobs/shim/engine-limits.ts';
import type { ShimStatus } from '../../src/jobs/shim/protocol.ts';
import { HF_CANARY, logText, makeRoot, makeRun, probeSpec, removeRoot, type RunFixture } from './shim-fixture.ts';

interface Attempt {
  ok: boolean;
  code?: string;
}
interface ProbeResult {
  uid: number;
  gid: number;
  capEff: string;
  capBnd: string;
  pid: number;
  visiblePids: number;
  envNames: string[];
  writes: Record<string, Attempt>;
  creates: Record<string, Attempt>;
  reads: Record<string, Attempt>;
  tcpLoopback: Attempt;
  tcpExternal: Attempt;
  inside: Attempt;
  limits: Record<string, [string, string]>;
}

let root: string;
let run: RunFixture;
let server: Server;
let connections = 0;
let status: ShimStatus | null;
let result: ProbeResult;
let before: Record<string, string>;

beforeAll(async () => {
  root = await makeRoot();
  run = await makeRun(root);
  server = createServer((socket) => {
    connections++;
    socket.end('hello from the host\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const targets = {
    writeOutside: [path.join(run.runDir, 'status.json'), run.configFile, path.join(run.datasetDir, '001.txt')],
    createIn: [run.runDir, run.datasetDir, '/usr', '/'],
    readForbidden: [run.secretsFile, '/etc/shadow', '/root/.bashrc'],
    tcpPort: port,
    externalHost: '1.1.1.1',
  };
  const previous = process.env.HF_TOKEN;
  process.env.HF_TOKEN = HF_CANARY;
  try {
    await startShim({ runDir: run.runDir, spec: probeSpec(run, 'bwrap', ['probe', JSON.stringify(targets)]) });
  } finally {
    if (previous === undefined) delete process.env.HF_TOKEN;
    else process.env.HF_TOKEN = previous;
  }
  before = { config: readFileSync(run.configFile, 'utf8'), dataset: readFileSync(path.join(run.datasetDir, '001.txt'), 'utf8') };
  status = await waitForShimExit({ runDir: run.runDir, timeoutMs: 60_000 });
  result = JSON.parse(readFileSync(path.join(run.workDir, 'probe-result.json'), 'utf8')) as ProbeResult;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await removeRoot(root);
});

describe('bubblewrap sandbox (PROC-R05)', () => {
  it('the probe ran to the end inside bwrap', () => {
    expect(status).toMatchObject({ sandbox: 'bwrap', state: 'exited', exit: { code: 0, reason: 'exited' } });
    expect(logText(run.runDir)).toContain('PROBE-RESULT ');
  });

  it('every write outside work/ fails read-only, and the files are unchanged', () => {
    expect(result.writes[path.join(run.runDir, 'status.json')]).toEqual({ ok: false, code: 'EROFS' });
    expect(result.writes[run.configFile]).toEqual({ ok: false, code: 'EROFS' });
    expect(result.writes[path.join(run.datasetDir, '001.txt')]).toEqual({ ok: false, code: 'EROFS' });
    for (const attempt of Object.values(result.creates)) expect(attempt.ok).toBe(false);
    expect(readFileSync(run.configFile, 'utf8')).toBe(before.config);
    expect(readFileSync(path.join(run.datasetDir, '001.txt'), 'utf8')).toBe('a dog');
    expect(JSON.parse(readFileSync(path.join(run.runDir, 'status.json'), 'utf8'))).toEqual(status);
  });

  it('files nobody bound are not there at all: the secret store, /etc/shadow, root’s home', () => {
    for (const attempt of Object.values(result.reads)) expect(attempt).toEqual({ ok: false, code: 'ENOENT' });
  });

  it('no network: the host’s loopback server is unreachable, and so is anything outside', () => {
    expect(result.tcpLoopback).toEqual({ ok: false, code: 'ECONNREFUSED' });
    expect(result.tcpExternal.ok).toBe(false);
    expect(connections).toBe(0);
  });

  it('the environment is exactly the spec’s plus the forced variables (and PWD, which bwrap sets): no hub token', () => {
    expect(result.envNames).toEqual(['HOME', 'LANG', 'PATH', 'PWD', ...Object.keys(FORCED_ENGINE_ENV)].sort());
    expect(readFileSync(path.join(run.workDir, 'probe-result.json'), 'utf8')).not.toContain(HF_CANARY);
    expect(logText(run.runDir)).not.toContain(HF_CANARY);
  });

  it('runs as 65534 with no capabilities, in its own PID namespace', () => {
    expect([result.uid, result.gid]).toEqual([65534, 65534]);
    expect(result.capEff).toBe('0000000000000000');
    expect(result.capBnd).toBe('0000000000000000');
    expect(result.pid).toBeLessThanOrEqual(3);
    expect(result.visiblePids).toBeLessThanOrEqual(3);
  });

  it('runs under prlimit: no core dumps, a high open-file limit, the address space left alone (CUDA needs it)', () => {
    const nofile = String(Math.min(ENGINE_NOFILE, hardOpenFiles(readFileSync('/proc/self/limits', 'utf8')) ?? ENGINE_NOFILE));
    expect(status?.limits).toEqual({ prlimit: '/usr/bin/prlimit', core: 0, nofile: Number(nofile) });
    expect(result.limits['Max core file size']).toEqual(['0', '0']);
    expect(result.limits['Max open files']).toEqual([nofile, nofile]);
    expect(result.limits['Max address space']).toEqual(['unlimited', 'unlimited']);
  });

  it('writes in work/ succeed and are owned by root outside (the user namespace maps 65534 to the studio’s uid)', () => {
    expect(result.inside).toEqual({ ok: true });
    const stats = statSync(path.join(run.workDir, 'inside.txt'));
    expect([stats.uid, stats.gid]).toEqual([0, 0]);
    expect(readFileSync(path.join(run.workDir, 'inside.txt'), 'utf8')).toBe('written by the sandbox probe\n');
  });
});
