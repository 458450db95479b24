/**
 * Datasets in Chromium: import a zip from the page (upload → import task → report), see the gallery,
 * edit a caption, preview and apply a bulk edit and undo it, run lint and the step planner; screenshots.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngImage } from '../../src/datasets/images/testing.ts';
import { buildTestZip } from '../../src/formats/zip/testing.ts';
import { makeHome, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { openPage, SCREENSHOT_DIR } from './open-page.ts';

let studio: TestStudio;
let browser: Browser;
let page: Page;
let zip: string;

beforeAll(async () => {
  studio = await startTestStudio();
  const dir = await makeHome();
  zip = path.join(dir, 'corgis.zip');
  const entries = [];
  for (let i = 0; i < 6; i++) {
    entries.push({ name: `10_sks corgi/img${i}.png`, data: await pngImage(96 + i * 8, 80, i + 1) });
    entries.push({ name: `10_sks corgi/img${i}.txt`, data: `corgi, ${i % 2 ? 'beach' : 'park'}, outdoors` });
  }
  entries.push({ name: 'Thumbs.db', data: 'junk' });
  await writeFile(zip, buildTestZip({ entries }));
  ({ browser, page } = await openPage({ pairWith: studio }));
  await page.getByTestId('nav-datasets').click();
  await page.getByTestId('page-datasets').waitFor();
});

afterAll(async () => {
  await browser?.close();
  await studio?.stop();
});

describe('Datasets page', () => {
  it('imports a zip from the page and shows the report and the gallery', async () => {
    await page.getByTestId('dataset-zip-input').setInputFiles(zip);
    await page.getByTestId('dataset-zip-name').fill('corgis');
    await page.getByTestId('dataset-zip-import').click();
    await page.getByTestId('import-report').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('import-report').textContent()).toContain('Thumbs.db');
    await page.getByTestId('dataset-row-corgis').click();
    await page.getByTestId('dataset-detail').waitFor();
    await page.getByTestId('subset-row-10_sks corgi').waitFor();
    await page.getByTestId('image-card-10_sks corgi/img0.png').waitFor();
    await expect.poll(() => page.getByTestId('gallery').locator('img').count()).toBeGreaterThanOrEqual(6);
  });

  it('edits one caption', async () => {
    await page.getByTestId('image-card-10_sks corgi/img0.png').click();
    await page.getByTestId('caption-editor').waitFor();
    await page.getByTestId('caption-text').fill('corgi, park, outdoors, smiling');
    await page.getByTestId('caption-save').click();
    await expect.poll(async () => (await studio.running.studio.datasets.caption('corgis', '10_sks corgi/img0.png')).text).toBe('corgi, park, outdoors, smiling');
  });

  it('previews and applies a bulk edit, then undoes it', async () => {
    await page.getByTestId('bulk-op').selectOption('add-trigger');
    await page.getByTestId('bulk-trigger').fill('sks');
    await page.getByTestId('bulk-preview').click();
    await page.getByTestId('bulk-preview-table').waitFor();
    await page.getByTestId('bulk-apply').click();
    await page.getByTestId('bulk-applied').waitFor();
    await expect.poll(async () => (await studio.running.studio.datasets.caption('corgis', '10_sks corgi/img1.png')).text).toBe('sks, corgi, beach, outdoors');
    // The newest edit is the bulk one once the history has reloaded (until then the button is disabled).
    await page.getByTestId('caption-history').getByText('add trigger "sks"').waitFor();
    await page.getByTestId('caption-undo').click();
    await page.getByTestId('caption-undo-result').waitFor();
    await expect.poll(async () => (await studio.running.studio.datasets.caption('corgis', '10_sks corgi/img1.png')).text).toBe('corgi, beach, outdoors');
  });

  it('runs lint and the planner, and takes the screenshot', async () => {
    await page.getByTestId('lint-run').click();
    await page.getByTestId('lint-findings').waitFor();
    expect(await page.getByTestId('lint-findings').textContent()).toMatch(/resolution|small|below/i);
    await page.getByTestId('plan-run').click();
    await page.getByTestId('steps-summary').waitFor();
    await page.getByTestId('bucket-chart').waitFor();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'datasets.png'), fullPage: true });
  });
});
