/**
 * The Settings page's Engines panel in Debian's Chromium (playwright-core): the detection the CLI shows, a
 * location that the studio checks before storing it, and back to the workspace's own install — with a
 * screenshot for a person to look at (.tmp/screenshots/settings-engines.png).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KOHYA_PINNED_COMMIT } from '../../src/training/engines/detect/index.ts';
import { openPage, SCREENSHOT_DIR } from '../browser/open-page.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { fakeMachine, fakeSdScripts, fakeVenv } from './engine-fakes.ts';

let root: string;
let studio: TestStudio;
let browser: Browser;
let page: Page;
let kohya: { root: string; python: string };
let consoleErrors: string[];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lorasmith-engine-panel-'));
  await fakeMachine(root);
  kohya = {
    root: await fakeSdScripts(path.join(root, 'opt', 'sd-scripts'), KOHYA_PINNED_COMMIT),
    python: await fakeVenv(root, path.join(root, 'opt', 'venv'), ['torch-2.7.1-cu128.txt']),
  };
  studio = await startTestStudio();
  ({ browser, page, consoleErrors } = await openPage({ viewport: { width: 1360, height: 1100 } }));
});

afterAll(async () => {
  await browser?.close();
  await studio?.stop();
  await rm(root, { recursive: true, force: true });
});

describe('Settings → Engines', () => {
  it('shows both engines as detected, with what is missing and how to fix it', async () => {
    await page.goto(studio.running.pairingUrl);
    await page.waitForURL(`${studio.url}/models`);
    await page.goto(`${studio.url}/settings`);
    const kohyaBlock = page.getByTestId('engine-kohya');
    await kohyaBlock.waitFor();
    expect(await kohyaBlock.getAttribute('data-installed')).toBe('false');
    expect(await page.getByTestId('engine-problems-kohya').textContent()).toContain('lorasmith engine install kohya');
    expect(await page.getByTestId('engine-fluxflow').getAttribute('data-installed')).toBe('false');
    expect(await page.getByTestId('engines-gpus').textContent()).not.toBe('');
  });

  it('refuses a path that does not exist, with the reason, and stores nothing', async () => {
    await page.getByLabel('sd-scripts folder').fill(path.join(root, 'nope'));
    await page.getByTestId('engine-save-kohya').click();
    const banner = page.getByTestId('engine-kohya').getByTestId('error-banner');
    await banner.waitFor();
    expect(await banner.getAttribute('data-code')).toBe('engine-location-invalid');
    expect(await banner.textContent()).toContain('does not exist');
    expect((await studio.running.studio.settings.get()).engines.kohyaRoot).toBeNull();
  });

  it('a location saved from the page is what detection then uses', async () => {
    await page.getByLabel('sd-scripts folder').fill(kohya.root);
    await page.getByTestId('engine-location-kohya').getByLabel('Python').fill(kohya.python);
    await page.getByTestId('engine-save-kohya').click();
    const kohyaBlock = page.getByTestId('engine-kohya');
    await kohyaBlock.and(page.locator('[data-installed="true"]')).waitFor({ timeout: 20_000 });
    const text = (await kohyaBlock.textContent()) ?? '';
    expect(text).toContain(KOHYA_PINNED_COMMIT.slice(0, 12));
    expect(text).toContain('2.7.1+cu128 · CUDA 12.8');
    expect(text).toContain('from the settings below');
    expect((await studio.running.studio.settings.get()).engines).toMatchObject({ kohyaRoot: kohya.root, kohyaPython: kohya.python });
    await page.getByTestId('engines-section').screenshot({ path: path.join(SCREENSHOT_DIR, 'settings-engines.png') });
  });

  it('"Use the workspace’s install" forgets the location', async () => {
    await page.getByTestId('engine-clear-kohya').click();
    await page.getByTestId('engine-kohya').and(page.locator('[data-installed="false"]')).waitFor({ timeout: 20_000 });
    expect((await studio.running.studio.settings.get()).engines).toMatchObject({ kohyaRoot: null, kohyaPython: null });
    expect(await page.getByLabel('sd-scripts folder').inputValue()).toBe('');
    expect(consoleErrors.filter((line) => !line.includes('status of 400'))).toEqual([]);
  });
});
