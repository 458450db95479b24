/**
 * The CLI as users run it: a separate process (`node src/cli/main.ts`, what bin/lorasmith.js runs), a
 * real studio started with `lorasmith serve` in its own process, the JSON and exit-code contract.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome } from '../helpers/studio.ts';

const cli = path.resolve('src/cli/main.ts');
let home: string;

function run(args: string[], options: { input?: string; home?: string } = {}) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    env: { ...process.env, LORASMITH_HOME: options.home ?? home, LORASMITH_LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 30_000,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function startServe(workspace: string): Promise<{ child: ChildProcessWithoutNullStreams; url: string; pairingUrl: string }> {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--json'], { env: { ...process.env, LORASMITH_HOME: workspace, LORASMITH_LOG_LEVEL: 'warn' } });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      const info = JSON.parse(line) as { url: string; pairingUrl: string };
      resolve({ child, ...info });
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
}

function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

beforeAll(async () => {
  home = await makeHome();
});

describe('contract', () => {
  it('bin/lorasmith.js runs under the pinned Node 24 even when started by the machine’s own node', () => {
    for (const node of [process.execPath, '/usr/bin/node']) {
      const result = spawnSync(node, [path.resolve('bin/lorasmith.js'), 'doctor', '--json'], { env: { ...process.env, LORASMITH_HOME: home }, encoding: 'utf8', timeout: 30_000 });
      const report = JSON.parse(result.stdout) as { checks: Array<{ name: string; status: string; detail: string }> };
      expect(report.checks[0]).toMatchObject({ name: 'node', status: 'ok', detail: expect.stringContaining('Node 24.') });
    }
  });


  it('--help lists the verbs and exits 0; each verb has its own help', () => {
    const help = run(['--help']);
    expect(help.code).toBe(0);
    for (const verb of ['serve', 'pair', 'token', 'login', 'doctor', 'engine', 'tasks', 'selftest']) expect(help.stdout).toContain(verb);
    const serveHelp = run(['serve', '--help']);
    expect(serveHelp.code).toBe(0);
    expect(serveHelp.stdout).toContain('--expose');
  });

  it('usage errors exit 2: plain text on stderr, or {"error": {...}} on stdout with --json', () => {
    const plain = run(['frobnicate']);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/^error: Unknown verb "frobnicate"\.\nhint: /);
    const json = run(['frobnicate', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'usage', message: 'Unknown verb "frobnicate".', hint: expect.any(String) } });
    const badFlag = run(['token', 'list', '--nope', '--json']);
    expect(badFlag.code).toBe(2);
    expect(JSON.parse(badFlag.stdout).error.code).toBe('usage');
  });

  it('token create / list / rm, and a clear error for a missing token', () => {
    const created = run(['token', 'create', 'backup-job', '--json']);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).token).toMatch(/^lsc_/);
    expect(JSON.parse(run(['token', 'list', '--json']).stdout).tokens.map((t: { name: string }) => t.name)).toEqual(['backup-job']);
    expect(run(['token', 'rm', 'backup-job']).code).toBe(0);
    const missing = run(['token', 'rm', 'backup-job', '--json']);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: 'token-not-found', hint: expect.stringContaining('token list') });
  });

  it('login reads the token from stdin, never from argv, and prints it masked', () => {
    const result = run(['login', 'hf', '--no-check', '--json'], { input: 'hf_abcdefghijklmnopqrstuvwxyz99\n' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: 'hf', masked: 'hf_…yz99', source: 'store' });
    expect(result.stdout + result.stderr).not.toContain('hf_abcdefghijklmnopqrstuvwxyz99');
  });

  it('doctor reports each check as JSON', () => {
    const result = run(['doctor', '--json']);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> };
    expect(report.checks.map((c) => c.name)).toEqual(['node', 'workspace', 'api-secret', 'secret store', 'disk', 'gpu', 'python3', 'bubblewrap', 'kohya', 'fluxflow']);
    // The engines as `engine detect` sees them: nothing installed in a fresh workspace, with the fix.
    expect(report.checks.find((c) => c.name === 'kohya')).toMatchObject({ status: 'warn', hint: expect.stringContaining('lorasmith engine install kohya') });
    expect(report.checks.find((c) => c.name === 'node')?.status).toBe('ok');
    expect(result.code).toBe(report.ok ? 0 : 1);
  });

  it('pair without a running studio exits 2 and says how to start one', () => {
    const result = run(['pair', '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout).error.code).toBe('studio-not-running');
  });

  it('selftest runs in-process without a studio and prints JSON Lines ending with a summary', () => {
    const result = run(['selftest', '--steps', '3', '--interval-ms', '5', '--json']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; done?: number; task?: { state: string } });
    expect(lines.filter((line) => line.type === 'progress').at(-1)).toMatchObject({ done: 3, total: 3 });
    expect(lines.at(-1)).toMatchObject({ type: 'summary', task: { state: 'succeeded' } });
  });
});

describe('with a running studio (separate process)', () => {
  let workspace: string;
  let studio: Awaited<ReturnType<typeof startServe>>;
  beforeAll(async () => {
    workspace = await makeHome();
    studio = await startServe(workspace);
  });
  afterAll(async () => {
    studio.child.kill('SIGTERM');
    await exited(studio.child);
  });

  it('pair prints a fresh pairing URL from the studio', () => {
    const result = run(['pair', '--json'], { home: workspace });
    expect(result.code).toBe(0);
    const { url } = JSON.parse(result.stdout) as { url: string };
    expect(url.startsWith(`${studio.url}/pair?code=lsp_`)).toBe(true);
    expect(url).not.toBe(studio.pairingUrl);
  });

  it('selftest goes through the studio and follows its SSE stream', () => {
    const result = run(['selftest', '--steps', '4', '--interval-ms', '10', '--json'], { home: workspace });
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as { task: { id: string; state: string } };
    expect(summary.task.state).toBe('succeeded');
    const listed = JSON.parse(run(['tasks', 'list', '--json'], { home: workspace }).stdout) as { tasks: Array<{ id: string }> };
    expect(listed.tasks.map((t) => t.id)).toContain(summary.task.id);
  });

  it('Ctrl-C cancels a followed task: exit 1 and state cancelled', async () => {
    const child = spawn(process.execPath, [cli, 'selftest', '--steps', '500', '--interval-ms', '20', '--json'], { env: { ...process.env, LORASMITH_HOME: workspace } });
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
    while (!lines.some((line) => line.includes('"done":3'))) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    expect(await exited(child)).toBe(1);
    expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ type: 'summary', task: { state: 'cancelled' } });
  });
});

describe('restart after the server is killed', () => {
  it('SIGKILL in the middle of a task: the next studio marks it interrupted, the lock is taken over', async () => {
    const workspace = await makeHome();
    const first = await startServe(workspace);
    const detached = run(['selftest', '--steps', '1000', '--interval-ms', '20', '--detach', '--json'], { home: workspace });
    const task = JSON.parse(detached.stdout) as { id: string };
    await new Promise((r) => setTimeout(r, 300));
    first.child.kill('SIGKILL');
    await exited(first.child);
    const second = await startServe(workspace);
    try {
      const shown = run(['tasks', 'show', task.id, '--json'], { home: workspace });
      expect(JSON.parse(shown.stdout)).toMatchObject({ id: task.id, state: 'interrupted', error: { code: 'interrupted' } });
    } finally {
      second.child.kill('SIGTERM');
      await exited(second.child);
    }
  });
});
