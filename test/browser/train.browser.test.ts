/**
 * Train in Chromium against the real studio: pick a preset, choose the base model and dataset from the
 * library, see validation go clean, the plan, and the exact engine command and files (a dry run);
 * screenshot.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { makeTrainWorkspace, type TrainWorkspace } from '../train/train-workspace.ts';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
const SCREENSHOT_DIR = path.resolve('.tmp/screenshots');

let workspace: TrainWorkspace;
let studio: TestStudio;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  workspace = await makeTrainWorkspace();
  studio = await startTestStudio({ home: workspace.home });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
  page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.goto(studio.running.pairingUrl);
  await page.getByTestId('page-models').waitFor();
  await page.getByTestId('nav-train').click();
  await page.getByTestId('page-train').waitFor();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await studio?.stop();
});

describe('Train page', () => {
  it('shows validation issues until the model and dataset are chosen, then the plan and the command', async () => {
    await page.getByTestId('train-presets').waitFor();
    await page.locator('[data-testid^="preset-sd15"]').first().click();
    await page.getByTestId('train-issues').waitFor();
    await page.getByTestId('field-model.base').locator('select').selectOption(workspace.checkpointId);
    await page.getByTestId('field-datasets[0].dataset').locator('select').selectOption('dogs').catch(async () => {
      await page.getByTestId('add-datasets').click();
      await page.getByTestId('field-datasets[0].dataset').locator('select').selectOption('dogs');
    });
    await page.getByTestId('show-command').click();
    await page.getByTestId('command-argv').waitFor({ timeout: 20_000 });
    const argv = (await page.getByTestId('command-argv').textContent()) ?? '';
    expect(argv).toContain('--config_file');
    expect(argv).toContain('train_network.py');
    await page.getByTestId('plan-panel').waitFor();
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'train.png'), fullPage: false });
  });
});
