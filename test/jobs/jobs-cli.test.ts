/**
 * Jobs end to end through the CLI, as separate processes with the real run shim and the KOHYA ENGINE DOUBLE:
 * `train CONFIG` in-process (holding the workspace lock) and through a running studio, following with progress
 * and exiting 0 only on success; `--detach`; `jobs list | show | logs [-f] | stop | cancel | move | resume |
 * promote` with their --json shapes.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/jobs/job-types.ts';
import { runConfig } from './helpers/job-workspace.ts';
import { isFinal, makeJobsSetting, runCli, startServe, waitForJob, type JobsSetting } from './helpers/jobs-e2e.ts';

let setting: JobsSetting;

beforeAll(async () => {
  setting = await makeJobsSetting(2);
}, 180_000);

afterAll(async () => {
  await rm(setting.ws.home, { recursive: true, force: true });
  await rm(setting.ws.files, { recursive: true, force: true });
});

async function configFile(name: string, extra: { epochs?: number } = {}): Promise<string> {
  const file = path.join(setting.ws.files, `${name}.json`);
  await writeFile(file, JSON.stringify(runConfig({ base: setting.ws.checkpointId, name, ...extra })));
  return file;
}

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('without a studio: train runs in this process', () => {
  let jobId = '';

  it('train CONFIG --json: progress lines, then the summary of a succeeded job; exit 0', async () => {
    await setting.engine.set({ local: { speed: 100 } });
    const result = runCli(setting, ['train', await configFile('local'), '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    const summary = lines.at(-1) as { type: string; job: JobRecord };
    expect(summary).toMatchObject({ type: 'summary', job: { state: 'succeeded', name: 'local' } });
    expect(lines.slice(0, -1).every((line) => line.type === 'progress')).toBe(true);
    expect(lines.some((line) => line.type === 'progress' && line.total === summary.job.progress.total)).toBe(true);
    jobId = summary.job.id;
    expect(summary.job.outputModelId).not.toBeNull();
  }, 180_000);

  it('jobs list / show / logs / promote read and use the finished run', () => {
    const list = runCli(setting, ['jobs', 'list', '--json']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { jobs: JobRecord[] }).jobs.map((job) => job.id)).toContain(jobId);
    const show = runCli(setting, ['jobs', 'show', jobId, '--json']);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: jobId, state: 'succeeded', checkpoints: [{ name: 'local-000001.safetensors', epoch: 1 }] });
    const human = runCli(setting, ['jobs', 'show', jobId]);
    expect(human.stdout).toContain('state     succeeded');
    expect(human.stdout).toContain('local-000001.safetensors');
    const logs = runCli(setting, ['jobs', 'logs', jobId, '--lines', '20']);
    expect(logs.stdout).toContain('model saved.');
    const promote = runCli(setting, ['jobs', 'promote', jobId, '--epoch', '1', '--json']);
    expect(promote.code).toBe(0);
    expect(JSON.parse(promote.stdout)).toMatchObject({ duplicate: false, model: { kind: 'lora', source: { type: 'run' } } });
  }, 120_000);

  it('a run that fails (OOM) exits 1 and says why', async () => {
    await setting.engine.set({ 'local-oom': { fail: 'oom:4' } });
    const result = runCli(setting, ['train', await configFile('local-oom')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/: failed — The GPU ran out of memory/);
    expect(result.stdout).toContain('hint: The GPU ran out of memory');
  }, 180_000);

  it('--detach leaves the run to its shim; logs -f follows it read-only; the next command records its end', async () => {
    await setting.engine.set({ detached: { speed: 40 } });
    const started = runCli(setting, ['train', await configFile('detached'), '--detach', '--json']);
    expect(started.code).toBe(0);
    const job = JSON.parse(started.stdout) as JobRecord;
    expect(['starting', 'running']).toContain(job.state);
    const follow = runCli(setting, ['jobs', 'logs', job.id, '-f']);
    expect(follow.code).toBe(0);
    expect(follow.stdout).toContain('model saved.');
    // No supervisor ran meanwhile: the record still says running until one looks; `jobs stop` does.
    const stop = runCli(setting, ['jobs', 'stop', job.id, '--json']);
    expect(stop.code).toBe(0);
    expect(JSON.parse(stop.stdout)).toMatchObject({ job: { id: job.id, state: 'succeeded' } });
  }, 180_000);
});

describe('with a studio running: the CLI goes through its API', () => {
  it('train follows the run over SSE; detach, move, cancel, stop and resume act on the studio’s queue', async () => {
    const serve = await startServe(setting);
    try {
      await setting.engine.set({ remote: { speed: 150 }, slow: { speed: 3 }, waiting: {} });
      const trained = runCli(setting, ['train', await configFile('remote')]);
      expect(trained.code).toBe(0);
      expect(trained.stdout).toContain('queued in the studio at');
      expect(trained.stdout).toMatch(/: succeeded/);

      const slow = JSON.parse(runCli(setting, ['train', await configFile('slow', { epochs: 3 }), '--detach', '--gpus', '0', '--json']).stdout) as JobRecord;
      const waiting = JSON.parse(runCli(setting, ['train', await configFile('waiting'), '--detach', '--gpus', '0', '--json']).stdout) as JobRecord;
      expect(waiting).toMatchObject({ state: 'queued', gpuRequest: { indices: [0] } });
      const moved = runCli(setting, ['jobs', 'move', waiting.id, '1', '--json']);
      expect(JSON.parse(moved.stdout)).toMatchObject({ id: waiting.id, position: 1 });
      const cancelled = runCli(setting, ['jobs', 'cancel', waiting.id, '--json']);
      expect(JSON.parse(cancelled.stdout)).toMatchObject({ state: 'cancelled' });
      const refused = runCli(setting, ['jobs', 'cancel', slow.id, '--json']);
      expect(refused.code).toBe(2);
      expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'job-running' } });

      await waitForJob(serve, slow.id, (job) => (job.progress.epoch ?? 0) >= 2);
      const stop = runCli(setting, ['jobs', 'stop', slow.id]);
      expect(stop.code).toBe(0);
      expect(stop.stdout).toContain('last save');
      expect(stop.stdout).toMatch(/Last save: slow-00000\d\.safetensors, slow-00000\d-state\./);
      expect((await waitForJob(serve, slow.id, isFinal)).state).toBe('cancelled');

      await setting.engine.set({ slow: { speed: 200 } });
      const resumed = runCli(setting, ['jobs', 'resume', slow.id, '--json']);
      expect(resumed.code).toBe(0);
      expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ type: 'summary', job: { state: 'succeeded', resumedFrom: slow.id } });
    } finally {
      await serve.stop();
    }
  }, 300_000);
});
