/**
 * Models → Find in Chromium against the real studio and the HTTPS hub double: search Hugging Face, open
 * a repo's files, pull one into the library with live progress; a booby-trapped .ckpt from the same repo
 * is refused with its reason; a folder selection arrives as ONE library entry listing its files;
 * screenshots.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitId, installHfRepo } from '../doubles/hub/hf-protocol.ts';
import { startHubDouble, type HubDouble } from '../doubles/hub/hub-double.ts';
import { maliciousPickle, sd1LoraSafetensors, sd1LoraVariant } from '../helpers/model-files.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { openPage, SCREENSHOT_DIR } from './open-page.ts';

let d: HubDouble;
let studio: TestStudio;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  d = await startHubDouble();
  const commit = commitId('find-page');
  installHfRepo(d, {
    repo: 'alice/sks-lora',
    commits: {
      [commit]: [
        { path: 'sks_dog.safetensors', content: sd1LoraSafetensors() },
        { path: 'legacy/sks_dog.ckpt', content: Buffer.from(maliciousPickle()) },
        { path: 'epochs/sks_dog-000001.safetensors', content: sd1LoraVariant('epoch-1') },
        { path: 'epochs/sks_dog-000002.safetensors', content: sd1LoraVariant('epoch-2-a-little-longer') },
        { path: 'epochs/notes.md', content: Buffer.from('# two epochs\n'), lfs: false },
      ],
    },
    refs: { main: commit },
  });
  d.route('hub.test', '/api/models', (_req, res) => {
    const body = JSON.stringify([{ _id: '1', id: 'alice/sks-lora', downloads: 1234, likes: 56, lastModified: '2026-11-01T00:00:00.000Z', private: false, gated: false, tags: ['lora', 'base_model:runwayml/stable-diffusion-v1-5'] }]);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  });
  d.route('hub.test', '/api/whoami-v2', (req, res) => {
    const ok = req.headers.authorization === 'Bearer hf_findpageTOKENabcdefghijkl1234';
    const body = JSON.stringify(
      ok
        ? { type: 'user', id: 'u1', name: 'alice', fullname: 'Alice', email: null, emailVerified: false, isPro: false, orgs: [], auth: { type: 'access_token', accessToken: { displayName: 'studio', role: 'read', createdAt: '2026-11-01T00:00:00.000Z' } } }
        : { error: 'Invalid credentials in Authorization header' },
    );
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  });
  studio = await startTestStudio({ hubNetwork: { lookup: d.lookup, ca: d.ca } });
  await studio.running.studio.settings.update({ hub: { hfEndpoint: d.origin('hub.test'), hfRedirectHosts: [`cdn.test:${d.port}`] } });
  ({ browser, page } = await openPage({ pairWith: studio }));
});

afterAll(async () => {
  await browser?.close();
  await studio?.stop();
  await d?.close();
});

describe('Models → Find', () => {
  it('searches Hugging Face, opens a repo and pulls a LoRA into the library', async () => {
    await page.getByTestId('models-tab-find').click();
    await page.getByTestId('find-provider').selectOption('hf');
    await page.getByTestId('find-query').fill('sks');
    await page.getByTestId('find-search').click();
    await page.getByTestId('find-result-0').click();
    await page.getByTestId('hf-file-sks_dog.safetensors').waitFor({ timeout: 20_000 });
    await page.getByTestId('pull-sks_dog.safetensors').click();
    await page.locator('[data-testid^="download-"][data-state="succeeded"]').first().waitFor({ timeout: 30_000 });
    const [model] = await studio.running.studio.library.list();
    expect(model).toMatchObject({ kind: 'lora', family: 'sd1', source: { type: 'hf' } });
  });

  it('refuses the booby-trapped .ckpt with its reason; nothing more enters the library', async () => {
    await page.getByTestId('pull-legacy/sks_dog.ckpt').click();
    await page.locator('[data-testid^="download-error-"]').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid^="download-error-"]').first().getAttribute('data-code')).toBe('unsafe');
    expect(await studio.running.studio.library.list()).toHaveLength(1);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'find.png'), fullPage: true });
  });

  it('a folder selection is pulled as one library entry, whose detail lists its files', async () => {
    await page.getByTestId('models-tab-find').click();
    await page.getByTestId('hf-folder').selectOption('epochs');
    await page.getByTestId('hf-include').fill('');
    expect(await page.getByTestId('hf-selection-count').getAttribute('data-count')).toBe('3');
    await page.getByTestId('pull-epochs/').click();
    await page.locator('[data-testid^="download-"][data-state="succeeded"]').nth(1).waitFor({ timeout: 30_000 });
    const models = await studio.running.studio.library.list();
    expect(models).toHaveLength(2);
    const entry = models.find((model) => model.files.length > 1);
    expect(entry).toMatchObject({ name: 'sks-lora-epochs', kind: 'lora' });
    expect(entry?.files.map((file) => file.path).sort()).toEqual(['notes.md', 'sks_dog-000001.safetensors', 'sks_dog-000002.safetensors']);
    await page.getByTestId('models-tab-library').click();
    await page.getByTestId(`model-row-${entry?.id ?? ''}`).click();
    await page.getByTestId('model-files').waitFor();
    expect(await page.getByTestId('model-files').getAttribute('data-count')).toBe('3');
    await page.getByTestId('model-file-notes.md').waitFor();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'find-folder-entry.png'), fullPage: true });
  });

  it('Settings → Hub tokens: a saved token is checked with the hub, which names the account', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('secret-input-hf').fill('hf_findpageTOKENabcdefghijkl1234');
    await page.getByTestId('secret-save-hf').click();
    await page.getByTestId('secret-check-hf').click();
    await page.getByTestId('secret-check-result-hf').waitFor();
    expect(await page.getByTestId('secret-check-result-hf').getAttribute('data-ok')).toBe('true');
    expect(await page.getByTestId('secret-check-result-hf').textContent()).toContain('alice');
    expect(d.requestsTo('hub.test').filter((r) => r.path === '/api/whoami-v2').every((r) => r.headers.authorization !== undefined)).toBe(true);
  });
});
