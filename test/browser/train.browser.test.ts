/**
 * Train in Chromium against the real studio: pick a preset, choose the base model and dataset from the
 * library, see validation go clean, the plan (steps, time, GPU memory fit against a fake nvidia-smi, disk),
 * the exact engine command and files, and Start (checks, then the jobs queue: refused here, no engine). Then
 * nvidia-smi starts failing: the plan refuses the start (gpu_unknown) until "Start without a GPU check".
 * Screenshots in .tmp/screenshots/.
 */
import { mkdtemp, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { makeTrainWorkspace, type TrainWorkspace } from '../train/train-workspace.ts';
import { openPage, SCREENSHOT_DIR } from './open-page.ts';

/** The studio keeps nvidia-smi's answer this long (train-routes.ts), so a change shows after it. */
const PROBE_TTL_MS = 5_000;

let workspace: TrainWorkspace;
let studio: TestStudio;
let browser: Browser;
let page: Page;
let smiState: string;
const savedPath = process.env.PATH;

beforeAll(async () => {
  workspace = await makeTrainWorkspace();
  // A fake nvidia-smi on the studio's PATH whose answer a state file decides: an H200, or a failing driver.
  const bin = await mkdtemp(path.join(tmpdir(), 'lorasmith-smi-'));
  smiState = path.join(bin, 'state');
  await writeFile(smiState, 'fits');
  await writeFile(
    path.join(bin, 'nvidia-smi'),
    `#!${process.execPath}\nconst state = require('node:fs').readFileSync(${JSON.stringify(smiState)}, 'utf8');\nif (state === 'fits') process.stdout.write('0, NVIDIA H200, 143771, 141000, 550.54.15\\n');\nelse { process.stderr.write("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\\n"); process.exitCode = 9; }\n`,
  );
  await chmod(path.join(bin, 'nvidia-smi'), 0o755);
  process.env.PATH = `${bin}:${savedPath ?? ''}`;
  studio = await startTestStudio({ home: workspace.home });
  ({ browser, page } = await openPage({ pairWith: studio }));
  await page.getByTestId('nav-train').click();
  await page.getByTestId('page-train').waitFor();
}, 60_000);

afterAll(async () => {
  process.env.PATH = savedPath;
  await browser?.close();
  await studio?.stop();
});

describe('Train page', () => {
  it('shows validation issues until the model and dataset are chosen, then the plan, the command, and Start', async () => {
    await page.getByTestId('train-presets').waitFor();
    await page.locator('[data-testid^="preset-sd15"]').first().click();
    await page.getByTestId('train-issues').waitFor();
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true);
    await page.getByTestId('field-model.base').locator('select').selectOption(workspace.checkpointId);
    await page.getByTestId('field-datasets[0].dataset').locator('select').selectOption('dogs').catch(async () => {
      await page.getByTestId('add-datasets').click();
      await page.getByTestId('field-datasets[0].dataset').locator('select').selectOption('dogs');
    });

    // The plan: the preset's epochs over dogs (3 images × 10 + 1 × 2 = 32 steps an epoch), no measured speed yet, an H200 with room.
    await page.getByTestId('plan-steps').waitFor({ timeout: 20_000 });
    const steps = (await page.getByTestId('plan-steps').textContent()) ?? '';
    expect(steps).toMatch(/× 32 steps/);
    expect(await page.getByTestId('plan-time').textContent()).toContain('Unknown');
    expect(await page.getByTestId('plan-vram').getAttribute('data-fit')).toBe('fits');
    expect(await page.getByTestId('plan-gpu').textContent()).toContain('GPU 0: NVIDIA H200');
    expect(await page.getByTestId('plan-disk').textContent()).toMatch(/up to [\d.]+ (MiB|GiB)/);

    await page.getByTestId('train-form').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'train.png'), fullPage: false });

    await page.getByTestId('show-command').click();
    await page.getByTestId('command-argv').waitFor({ timeout: 20_000 });
    const argv = (await page.getByTestId('command-argv').textContent()) ?? '';
    expect(argv).toContain('--config_file');
    expect(argv).toContain('train_network.py');
    expect(await page.getByTestId('command-env').textContent()).toContain('CUDA_VISIBLE_DEVICES');
    // Opening the panel scrolls it into view smoothly; let the scroll end before the picture.
    await page.waitForTimeout(1_000);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'train-command.png'), fullPage: false });

    const start = page.getByTestId('train-start');
    await expect.poll(() => start.isDisabled(), { timeout: 20_000 }).toBe(false);
    await start.click();
    const status = page.getByTestId('train-start-status');
    await status.waitFor({ timeout: 20_000 });
    // Start queues the run as a job; this studio has no engine, so the jobs service refuses it with the fix.
    expect(await status.textContent()).toContain('The run cannot start');
    expect(await status.textContent()).toContain('lorasmith engine install');
    expect(await studio.running.studio.jobs.list()).toEqual([]);
    await page.getByTestId('train-start-status').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'train-start.png'), fullPage: false });
  });

  it('a failing nvidia-smi refuses the start until “Start without a GPU check”', async () => {
    await writeFile(smiState, 'failing');
    await new Promise((resolve) => setTimeout(resolve, PROBE_TTL_MS + 300));
    // Any edit re-checks the run.
    await page.getByTestId('field-seed').locator('input').fill('4321');
    await page.getByTestId('allow-unknown-gpu').waitFor({ timeout: 20_000 });
    await expect.poll(async () => page.getByTestId('train-issues').textContent(), { timeout: 20_000 }).toContain('gpu_unknown');
    expect(await page.getByTestId('plan-gpu').textContent()).toContain('Unknown');
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true);
    await page.getByTestId('allow-unknown-gpu').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'train-gpu-unknown.png'), fullPage: false });

    await page.getByTestId('allow-unknown-gpu').locator('input').check();
    await expect.poll(() => page.getByTestId('train-start').isDisabled(), { timeout: 20_000 }).toBe(false);
    expect(await page.locator('[data-testid^="issue-"][data-severity="error"]').count()).toBe(0);
  });
});
