/**
 * Models → Library in Chromium: import a LoRA through the page (chunked upload + import task), see its
 * record, hashes, tensors and metadata; a booby-trapped .ckpt is refused with the reason and nothing is
 * added; a screenshot for a person to look at.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maliciousPickle, sd1LoraSafetensors } from '../helpers/model-files.ts';
import { makeHome, startTestStudio, type TestStudio } from '../helpers/studio.ts';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
const SCREENSHOT_DIR = path.resolve('.tmp/screenshots');

let studio: TestStudio;
let browser: Browser;
let page: Page;
let files: string;

beforeAll(async () => {
  studio = await startTestStudio();
  files = await makeHome();
  await writeFile(path.join(files, 'sks_dog.safetensors'), sd1LoraSafetensors());
  await writeFile(path.join(files, 'sd15-pruned.ckpt'), maliciousPickle());
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
  page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.goto(studio.running.pairingUrl);
  await page.getByTestId('page-models').waitFor();
});

afterAll(async () => {
  await browser?.close();
  await studio?.stop();
});

describe('Models page', () => {
  it('imports a LoRA from the page and shows its record, hashes, tensors and metadata', async () => {
    await page.getByTestId('model-upload-input').setInputFiles(path.join(files, 'sks_dog.safetensors'));
    await page.getByTestId('model-import').click();
    await page.getByTestId('import-task').and(page.locator('[data-state="succeeded"]')).waitFor({ timeout: 20_000 });
    const [model] = await studio.running.studio.library.list();
    expect(model?.kind).toBe('lora');
    await page.getByTestId(`model-row-${model?.id}`).waitFor();
    await page.getByTestId(`model-row-${model?.id}`).click();
    await page.getByTestId('model-detail').waitFor();
    expect(await page.getByTestId('model-hashes').textContent()).toContain(model?.hashes.sha256);
    await page.getByTestId('tensor-table').getByText('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight').waitFor();
    await page.getByTestId('metadata-table').getByText('ss_network_dim').waitFor();
    await page.getByTestId('tensor-filter').fill('lora_te');
    await expect.poll(() => page.getByTestId('tensor-table').locator('tbody tr').count()).toBe(3);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'models.png'), fullPage: true });
  });

  it('refuses a booby-trapped .ckpt with the reason; nothing is added', async () => {
    await page.getByTestId('model-upload-input').setInputFiles(path.join(files, 'sd15-pruned.ckpt'));
    await page.getByTestId('model-import').click();
    await page.getByTestId('import-error').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('import-error').textContent()).toContain('posix.system');
    expect(await studio.running.studio.library.list()).toHaveLength(1);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'models-refused.png'), fullPage: true });
  });
});
