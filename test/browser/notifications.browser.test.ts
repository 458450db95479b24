/**
 * Settings → Notifications in Chromium against the real studio and the HTTPS hub double as the webhook receiver:
 * the URL is saved and shown masked (its secret path never reaches the DOM), a test delivery is refused until
 * the host is added, then delivered; screenshot.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { respond } from '../doubles/hub/behaviours.ts';
import { startHubDouble, type HubDouble } from '../doubles/hub/hub-double.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { openPage, SCREENSHOT_DIR } from './open-page.ts';

const CANARY = 'whk_CANARYCANARYCANARY5555';

let d: HubDouble;
let studio: TestStudio;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  d = await startHubDouble();
  d.route('mirror.test', `/hooks/${CANARY}`, respond(204));
  studio = await startTestStudio({ hubNetwork: { lookup: d.lookup, ca: d.ca } });
  ({ browser, page } = await openPage({ viewport: { width: 1360, height: 1000 }, pairWith: studio }));
});

afterAll(async () => {
  await browser?.close();
  await studio?.stop();
  await d?.close();
});

describe('Settings → Notifications', () => {
  it('saves the webhook masked, tests it, and needs its host added first', async () => {
    await page.goto(`${studio.url}/settings`);
    const row = page.getByTestId('secret-row-webhook');
    await row.waitFor();
    await page.getByTestId('secret-input-webhook').fill(d.url('mirror.test', `/hooks/${CANARY}?key=${CANARY}`));
    await page.getByTestId('secret-save-webhook').click();
    await expect.poll(() => page.getByTestId('secret-masked-webhook').textContent()).toBe(`https://mirror.test:${d.port}/…`);

    await page.getByTestId('secret-check-webhook').click();
    await expect.poll(() => page.getByTestId('secret-check-result-webhook').getAttribute('data-ok')).toBe('false');
    expect(await page.getByTestId('secret-check-result-webhook').textContent()).toContain('No webhook host is allowed yet');
    expect(d.requests).toEqual([]);

    const host = `mirror.test:${d.port}`;
    await page.getByTestId('webhook-hosts').fill(host);
    await page.getByTestId('webhook-private-hosts').fill(host);
    await page.getByTestId('webhook-hosts-save').click();
    await expect.poll(async () => (await studio.running.studio.settings.get()).notifications.webhookHosts).toEqual([host]);
    await page.getByTestId('secret-check-webhook').click();
    await expect.poll(() => page.getByTestId('secret-check-result-webhook').getAttribute('data-ok')).toBe('true');
    expect(d.requestsTo('mirror.test')).toHaveLength(1);

    expect(await page.content()).not.toContain(CANARY);
    await page.getByTestId('secret-row-webhook').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'settings-notifications.png'), fullPage: true });
  });
});
