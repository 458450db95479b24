/**
 * Models → Library in Chromium: import a LoRA through the page (chunked upload + import task), see its
 * record, hashes, tensors and metadata; identify it on Civitai (the HTTPS hub double) and see base model,
 * trigger words and licence on the record; a booby-trapped .ckpt is refused with the reason and nothing
 * is added; screenshots for a person to look at.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCivitaiVersion } from '../doubles/hub/civitai-protocol.ts';
import { startHubDouble, type HubDouble } from '../doubles/hub/hub-double.ts';
import { maliciousPickle, sd1LoraSafetensors } from '../helpers/model-files.ts';
import { makeHome, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { openPage, SCREENSHOT_DIR } from './open-page.ts';

let d: HubDouble;
let studio: TestStudio;
let browser: Browser;
let page: Page;
let files: string;

beforeAll(async () => {
  d = await startHubDouble();
  installCivitaiVersion(d, {
    versionId: 4242,
    modelId: 77,
    modelName: 'Sks Dog',
    baseModel: 'SD 1.5',
    trainedWords: ['sks dog', 'ohwx'],
    license: { allowCommercialUse: ['Image'], allowNoCredit: false, allowDerivatives: true, allowDifferentLicense: false },
    files: [{ id: 9001, name: 'sks_dog.safetensors', content: sd1LoraSafetensors(), primary: true }],
  });
  studio = await startTestStudio({ hubNetwork: { lookup: d.lookup, ca: d.ca } });
  await studio.running.studio.settings.update({ hub: { civitaiEndpoint: d.origin('mirror.test'), civitaiRedirectHosts: [`cdn2.test:${d.port}`] } });
  files = await makeHome();
  await writeFile(path.join(files, 'sks_dog.safetensors'), sd1LoraSafetensors());
  await writeFile(path.join(files, 'sd15-pruned.ckpt'), maliciousPickle());
  ({ browser, page } = await openPage({ pairWith: studio }));
});

afterAll(async () => {
  await browser?.close();
  await studio?.stop();
  await d?.close();
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

  it('identifies the LoRA on Civitai: base model, trigger words and licence stay on the record', async () => {
    const [model] = await studio.running.studio.library.list();
    expect(await page.getByTestId('model-civitai').getAttribute('data-state')).toBe('unknown');
    await page.getByTestId('model-identify').click();
    await page.locator('[data-testid="model-civitai"][data-state="found"]').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('model-civitai-base').textContent()).toBe('SD 1.5');
    expect(await page.getByTestId('model-civitai-words').textContent()).toContain('ohwx');
    const license = await page.getByTestId('model-civitai-license').textContent();
    expect(license).toContain('Commercial use: sell generated images');
    expect(license).toContain('Credit the creator');
    expect((await studio.running.studio.library.get(model?.id ?? '')).civitai).toMatchObject({ found: true, versionId: 4242, trainedWords: ['sks dog', 'ohwx'] });
    await page.getByTestId('model-civitai').screenshot({ path: path.join(SCREENSHOT_DIR, 'models-civitai.png') });
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
