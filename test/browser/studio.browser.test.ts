/**
 * The studio in Debian's Chromium (playwright-core): pair through the printed URL, land logged in,
 * navigate the loop, save a hub token (shown masked), create an API token, run and watch the self-test,
 * see security events — and a screenshot of the Settings page for a person to look at.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { openPage, SCREENSHOT_DIR } from './open-page.ts';

let studio: TestStudio;
let browser: Browser;
let page: Page;
let consoleErrors: string[];

beforeAll(async () => {
  studio = await startTestStudio();
  ({ browser, page, consoleErrors } = await openPage());
});

afterAll(async () => {
  await browser?.close();
  await studio?.stop();
});

describe('studio in the browser', () => {
  it('shows "not paired" without a session, then pairs through the printed URL and lands logged in', async () => {
    await page.goto(`${studio.url}/settings`);
    await page.getByTestId('not-paired').waitFor();
    await page.goto(studio.running.pairingUrl);
    await page.waitForURL(`${studio.url}/models`);
    expect(page.url()).not.toContain('code=');
    await page.getByTestId('page-models').waitFor();
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name.startsWith('lorasmith_session_'))).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('navigates every step of the loop, each page (a chunk of its own for the big ones) taking the focus on its heading', async () => {
    for (const name of ['datasets', 'train', 'jobs', 'generate', 'tools', 'models', 'settings']) {
      await page.getByTestId(`nav-${name}`).click();
      await page.getByTestId(`page-${name}`).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/${name}`);
      await page.getByTestId(`page-${name}`).locator('h1:focus').waitFor();
    }
    await page.getByTestId('connection-state').and(page.locator('[data-state="live"]')).waitFor();
  });

  it('saves a hub token to the secret store and shows it masked, never in the page', async () => {
    await page.getByTestId('workspace-info').waitFor();
    expect(await page.getByTestId('workspace-info').textContent()).toContain(studio.home);
    await page.getByTestId('secret-input-hf').fill('hf_browserTESTtokenABCDEFGH4321');
    await page.getByTestId('secret-save-hf').click();
    await expect.poll(() => page.getByTestId('secret-masked-hf').textContent()).toContain('hf_…4321');
    expect(await page.getByTestId('secret-input-hf').inputValue()).toBe('');
    expect(await page.content()).not.toContain('hf_browserTESTtokenABCDEFGH4321');
    expect(await studio.running.studio.secrets.get('hf')).toBe('hf_browserTESTtokenABCDEFGH4321');
  });

  it('creates an API token that works as a bearer token', async () => {
    await page.getByTestId('token-name').fill('from-browser');
    await page.getByTestId('token-create').click();
    const token = (await page.getByTestId('token-created-value').inputValue().catch(async () => page.getByTestId('token-created-value').textContent())) ?? '';
    expect(token).toMatch(/^lsc_/);
    expect((await studio.asBearer({ path: '/api/health' }, token.trim())).status).toBe(200);
    await page.getByTestId('token-row-from-browser').waitFor();
  });

  it('runs the self-test task with live progress and can cancel one', async () => {
    await page.getByTestId('selftest-start').click();
    await page.getByTestId('selftest-state').and(page.locator('[data-state="succeeded"]')).waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('selftest-progress').getAttribute('data-done')).toBe('20');
    await page.getByTestId('selftest-start').click();
    await page.getByTestId('selftest-cancel').click();
    await page.getByTestId('selftest-state').and(page.locator('[data-state="cancelled"]')).waitFor({ timeout: 15_000 });
  });

  it('shows security events live and takes the Settings screenshot', async () => {
    await studio.asBearer({ path: '/api/health', headers: { host: `evil.test:${studio.running.port}` } });
    await page.getByTestId('security-events').getByText('host-refused').first().waitFor();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'settings.png'), fullPage: true });
    expect(consoleErrors.filter((text) => !text.includes('401'))).toEqual([]);
  });
});
