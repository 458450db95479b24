/**
 * The Jobs page in Chromium against the real studio, with real runs: the studio's job service schedules and
 * supervises the KOHYA ENGINE DOUBLE (per-run speeds, test/jobs/helpers/scenario-engine.ts), started by the
 * jobs tests' runner (the run shim's file protocol without its sandbox: the double is a Node script from this
 * repository, which the sandbox does not bind), with a fake nvidia-smi listing one GPU.
 * A run goes live on the page (progress, speed, ETA, loss and LR charts, samples by epoch, the log, GPU
 * readings) while two more wait in the queue, where one is moved and one cancelled; the run's end raises a
 * browser notification; a per-epoch file is promoted; the next run is stopped through the confirm dialog and
 * resumed from its saved state; clone-and-edit opens the Train page with the run's settings.
 * Screenshots in .tmp/screenshots/.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/jobs/job-types.ts';
import { GPU_STATS_ARGS } from '../../src/jobs/metrics/index.ts';
import { NVIDIA_SMI_ARGS } from '../../src/training/planner/probe-gpus.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { processRunner, type ProcessRunner } from '../jobs/helpers/process-runner.ts';
import { writeScenarioEngine } from '../jobs/helpers/scenario-engine.ts';
import { makeTrainWorkspace, type TrainWorkspace } from '../train/train-workspace.ts';
import { openPage, recordNotifications, SCREENSHOT_DIR } from './open-page.ts';

const json = { 'content-type': 'application/json' };

let workspace: TrainWorkspace;
let studio: TestStudio;
let browser: Browser;
let page: Page;
let runner: ProcessRunner;
const savedPath = process.env.PATH;

/** A fake nvidia-smi: one 24 GiB GPU for the planner's probe, and readings for the GPU stats query. */
async function fakeNvidiaSmi(): Promise<string> {
  const bin = await mkdtemp(path.join(tmpdir(), 'lorasmith-jobs-smi-'));
  await writeFile(
    path.join(bin, 'nvidia-smi'),
    [
      `#!${process.execPath}`,
      `const args = JSON.stringify(process.argv.slice(2));`,
      `if (args === ${JSON.stringify(JSON.stringify(NVIDIA_SMI_ARGS))}) process.stdout.write('0, NVIDIA GeForce RTX 4090 (fake), 24564, 23012, 550.54.15\\n');`,
      `else if (args === ${JSON.stringify(JSON.stringify(GPU_STATS_ARGS))}) process.stdout.write('0, GPU-5f1c2a4e-8b7d-4c21-9e0f-1a2b3c4d5e6f, ' + (60 + Math.floor(Math.random() * 35)) + ', 17893, 24564, 68\\n');`,
      `else { process.stderr.write('unexpected arguments'); process.exit(9); }`,
      '',
    ].join('\n'),
  );
  await chmod(path.join(bin, 'nvidia-smi'), 0o755);
  return bin;
}

/** A small SD 1.x run on the `dogs` dataset (32 steps an epoch) with two sample prompts rendered every epoch. */
function runConfig(name: string, epochs: number): Record<string, unknown> {
  return {
    schema: 'lorasmith/run@1',
    kind: 'kohya',
    name,
    family: 'sd1',
    seed: 1234,
    model: { base: workspace.checkpointId },
    datasets: [{ dataset: 'dogs' }],
    resolution: { width: 512, height: 512 },
    duration: { unit: 'epochs', epochs },
    saving: { everyNEpochs: 1, saveState: true },
    sampling: {
      prompts: [
        { prompt: 'sks dog on a beach', seed: 11, width: 64, height: 64 },
        { prompt: 'sks dog in the snow', seed: 12, width: 64, height: 64 },
      ],
      everyNEpochs: 1,
      atFirst: true,
    },
  };
}

async function enqueue(name: string, epochs: number): Promise<JobRecord> {
  const response = await studio.asBearer({ path: '/api/jobs', method: 'POST', headers: json, body: JSON.stringify({ config: runConfig(name, epochs) }) });
  if (response.status !== 200) throw new Error(`enqueue ${name}: ${response.status} ${response.body}`);
  return response.json<JobRecord>();
}

async function job(id: string): Promise<JobRecord> {
  return studio.running.studio.jobs.get(id);
}

async function shot(name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage });
}

beforeAll(async () => {
  workspace = await makeTrainWorkspace();
  const engine = await writeScenarioEngine(path.join(workspace.files, 'engine'));
  // Steps per second: slow enough to watch and stop, quick enough for a test.
  await engine.set({ portrait: { speed: 4 }, landscape: { speed: 40 }, 'still-life': { speed: 3 } });
  process.env.PATH = `${await fakeNvidiaSmi()}:${savedPath ?? ''}`;
  runner = processRunner();
  studio = await startTestStudio({ home: workspace.home, jobRunner: runner });
  await studio.running.studio.settings.setEngines({ kohyaRoot: engine.location.engineRoot, kohyaPython: engine.location.python, fluxflowPython: null });
  // Three starts and a resume in a minute: above the default start rate limit.
  await studio.running.studio.settings.update({ rateLimits: { trainingStartPerMinute: 20 } });
  ({ browser, page } = await openPage({
    viewport: { width: 1440, height: 1000 },
    prepare: (context) => recordNotifications(context, studio.url),
    pairWith: studio,
  }));
}, 120_000);

afterAll(async () => {
  process.env.PATH = savedPath;
  await browser?.close();
  // Runs go on under their shims when the studio stops: end them before the workspace is removed.
  const jobs = studio?.running.studio.jobs;
  for (const left of (await jobs?.list({ states: ['queued', 'starting', 'running', 'stopping'] })) ?? []) await jobs?.stop(left.id);
  for (let waited = 0; waited < 30_000 && ((await jobs?.list({ states: ['starting', 'running', 'stopping'] }))?.length ?? 0) > 0; waited += 200) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  runner?.killAll();
  await studio?.stop();
});

describe('Jobs page', () => {
  let portrait: JobRecord;
  let landscape: JobRecord;
  let stillLife: JobRecord;

  it('shows the queue in order — move, cancel — and a run live: progress, speed, ETA, charts, samples by epoch, log, GPU', async () => {
    portrait = await enqueue('portrait', 3);
    landscape = await enqueue('landscape', 1);
    stillLife = await enqueue('still-life', 3);
    await page.getByTestId('nav-jobs').click();
    await page.getByTestId('page-jobs').waitFor();
    await page.getByTestId('jobs-notify').check();
    expect(await page.evaluate('Notification.permission')).toBe('granted');

    // One GPU: portrait runs, the other two wait in the order they came. Move still-life ahead, cancel landscape.
    const queue = page.getByTestId('jobs-queue');
    const order = () => queue.locator('[data-testid^="queued-"]').evaluateAll((items) => items.map((item) => item.getAttribute('data-testid')));
    await expect.poll(order).toEqual(['queued-landscape', 'queued-still-life']);
    await page.getByTestId('move-up-still-life').click();
    await expect.poll(order).toEqual(['queued-still-life', 'queued-landscape']);
    expect((await job(stillLife.id)).position).toBe(1);
    await page.getByTestId('cancel-landscape').click();
    await page.getByTestId('cancel-landscape-confirm').click();
    await expect.poll(async () => (await job(landscape.id)).state).toBe('cancelled');
    await expect.poll(order).toEqual(['queued-still-life']);

    await page.getByTestId('job-item-portrait').click();
    const detail = page.getByTestId('job-detail');
    await detail.and(page.locator(`[data-job-id="${portrait.id}"][data-state="running"]`)).waitFor({ timeout: 60_000 });
    await expect.poll(async () => Number(await page.getByTestId('job-progress').getAttribute('data-step')), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await page.getByTestId('job-progress').getAttribute('data-total')).toBe('96');
    await expect.poll(() => page.getByTestId('job-speed').textContent()).toMatch(/it\/s/);
    await expect.poll(() => page.getByTestId('job-eta').textContent()).toMatch(/\d+ (s|min)/);
    await expect.poll(async () => Number(await page.getByTestId('chart-loss').getAttribute('data-points')), { timeout: 30_000 }).toBeGreaterThan(5);
    expect(Number(await page.getByTestId('chart-lr').getAttribute('data-points'))).toBeGreaterThan(5);
    await page.getByTestId('samples-e0').waitFor({ timeout: 30_000 });
    await page.getByTestId('samples-e1').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('samples-e1').locator('img').count()).toBe(2);
    await expect.poll(() => page.getByTestId('job-log').textContent()).toContain('epoch 1/3');
    await expect.poll(() => page.getByTestId('gpu-0-util').getAttribute('aria-valuetext'), { timeout: 15_000 }).toMatch(/^\d+ %$/);
    expect(await page.getByTestId('gpu-0-memory').getAttribute('aria-valuetext')).toBe('17.5 / 24.0 GiB');
    // The samples' images load (same origin, through the containment checks).
    await expect.poll(() => page.getByTestId('samples-e1').locator('img').evaluateAll((images) => images.every((image) => (image as unknown as { naturalWidth: number }).naturalWidth === 64))).toBe(true);
    await shot('jobs-running');
  }, 180_000);

  it('the run succeeds: a notification, the output in the library, a per-epoch file promoted', async () => {
    const detail = page.getByTestId('job-detail');
    await detail.and(page.locator(`[data-job-id="${portrait.id}"][data-state="succeeded"]`)).waitFor({ timeout: 90_000 });
    // One notification: the run that finished (the queued one cancelled on the page raised none).
    await expect.poll(() => page.evaluate<string[]>('window.__notified.map((n) => n.title)')).toEqual(['Training finished: portrait']);
    expect(await page.getByTestId('job-progress-label').textContent()).toBe('100 %');
    await page.getByTestId('job-output-link').waitFor();
    await page.getByTestId('samples-e3').waitFor();
    await page.getByTestId('promote-portrait-000001.safetensors').click();
    await page.getByTestId('promoted-portrait-000001.safetensors').waitFor();
    const models = await studio.running.studio.library.list();
    expect(models.some((model) => model.source.type === 'run' && model.name === 'portrait-000001.safetensors')).toBe(true);
    await page.getByTestId('job-curves').scrollIntoViewIfNeeded();
    await shot('jobs-succeeded');
  }, 120_000);

  it('stop asks first and says what is lost; the stopped run resumes from its saved state', async () => {
    await page.getByTestId('job-item-still-life').click();
    const detail = page.getByTestId('job-detail');
    await detail.and(page.locator(`[data-job-id="${stillLife.id}"][data-state="running"]`)).waitFor({ timeout: 60_000 });
    // Stop once the first epoch is saved, so there is a state to resume from.
    await page.getByTestId('checkpoint-still-life-000001.safetensors').waitFor({ timeout: 60_000 });
    await page.getByTestId('job-stop').click();
    const dialog = page.getByTestId('stop-dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('progress since the last save is lost');
    expect(await page.getByTestId('stop-dialog-last-save').textContent()).toContain('still-life-000001.safetensors');
    await shot('jobs-stop-dialog');
    await page.getByTestId('stop-dialog-confirm').click();
    await detail.and(page.locator('[data-state="cancelled"]')).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('job-failure').textContent()).toBeTruthy();
    await page.getByTestId('job-resume').click();
    await expect.poll(() => detail.getAttribute('data-job-id'), { timeout: 15_000 }).not.toBe(stillLife.id);
    const resumedId = (await detail.getAttribute('data-job-id')) ?? '';
    expect((await job(resumedId)).resumedFrom).toBe(stillLife.id);
    await detail.and(page.locator('[data-state="succeeded"]')).waitFor({ timeout: 120_000 });
    await shot('jobs-resumed');
  }, 240_000);

  it('clone and edit opens the Train page with the run’s settings', async () => {
    await page.getByTestId('job-item-portrait').click();
    await page.getByTestId('job-clone').click();
    await page.getByTestId('page-train').waitFor();
    await expect.poll(() => page.getByTestId('preset-note').textContent()).toContain('portrait');
    await expect.poll(() => page.locator('[data-field-path="name"] input').inputValue()).toBe('portrait');
    await page.getByTestId('preset-note').scrollIntoViewIfNeeded();
    await shot('jobs-clone-train', false);

    // Start on the Train page queues the edited run as a new job, which the Jobs page then opens.
    const before = (await studio.running.studio.jobs.list()).length;
    const start = page.getByTestId('train-start');
    await expect.poll(() => start.isDisabled(), { timeout: 30_000 }).toBe(false);
    await start.click();
    await expect.poll(() => page.getByTestId('train-start-status').textContent(), { timeout: 30_000 }).toContain('Queued as job');
    expect((await studio.running.studio.jobs.list()).length).toBe(before + 1);
    await page.getByTestId('train-open-job').click();
    await page.getByTestId('page-jobs').waitFor();
  }, 90_000);
});
