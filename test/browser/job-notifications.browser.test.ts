/**
 * Job-end notifications on every page of the studio, in Chromium against the real studio with real runs of the
 * KOHYA ENGINE DOUBLE (started by the jobs tests' runner, a fake nvidia-smi listing one GPU): with
 * notifications on, a run that ends while the user is on Datasets raises its notification there, and clicking
 * it opens that run on the Jobs page; on the Jobs page with another run open, the click switches to the run
 * that ended; a cancelled run raises none; the app holds one jobs stream throughout, whichever page it shows.
 * Screenshot in .tmp/screenshots/.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/jobs/job-types.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { fakeNvidiaSmi, runConfig } from '../jobs/helpers/job-workspace.ts';
import { processRunner, type ProcessRunner } from '../jobs/helpers/process-runner.ts';
import { writeScenarioEngine } from '../jobs/helpers/scenario-engine.ts';
import { untilJob } from '../jobs/helpers/until-job.ts';
import { makeTrainWorkspace, type TrainWorkspace } from '../train/train-workspace.ts';
import { openPage, recordNotifications, SCREENSHOT_DIR } from './open-page.ts';

let workspace: TrainWorkspace;
let studio: TestStudio;
let browser: Browser;
let page: Page;
let runner: ProcessRunner;
/** Requests the page made for the studio-wide jobs stream (`/api/jobs/events`, not one job's stream). */
let jobsStreams = 0;
const savedPath = process.env.PATH;

function enqueue(name: string): Promise<JobRecord> {
  return studio.running.studio.jobs.enqueue({ config: runConfig({ base: workspace.checkpointId, name, epochs: 1 }) });
}

const notified = () => page.evaluate<string[]>('window.__notified.map((n) => n.title)');
const clickNotification = (index: number) => page.evaluate(`window.__notifications[${index}].dispatchEvent(new Event('click'))`);
const openJob = () => page.getByTestId('job-detail').getAttribute('data-job-id');

beforeAll(async () => {
  workspace = await makeTrainWorkspace();
  const engine = await writeScenarioEngine(path.join(workspace.files, 'engine'));
  // 32 steps an epoch: a few seconds a run; still-life slower, so landscape is still queued behind it when cancelled.
  await engine.set({ portrait: { speed: 12 }, 'still-life': { speed: 6 }, landscape: { speed: 12 } });
  process.env.PATH = `${await fakeNvidiaSmi(path.join(workspace.files, 'gpus'), 1)}:${savedPath ?? ''}`;
  runner = processRunner();
  studio = await startTestStudio({ home: workspace.home, jobRunner: runner });
  await studio.running.studio.settings.setEngines({ kohyaRoot: engine.location.engineRoot, kohyaPython: engine.location.python, fluxflowPython: null });
  ({ browser, page } = await openPage({
    async prepare(context) {
      await recordNotifications(context, studio.url);
      context.on('request', (request) => {
        if (new URL(request.url()).pathname === '/api/jobs/events') jobsStreams += 1;
      });
    },
    pairWith: studio,
  }));
}, 120_000);

afterAll(async () => {
  process.env.PATH = savedPath;
  await browser?.close();
  runner?.killAll();
  await studio?.stop();
});

describe('job-end notifications across the studio', () => {
  let portrait: JobRecord;

  it('a run that ends while the user is on Datasets notifies there; the click opens it on the Jobs page', async () => {
    // The choice is made on the Jobs page (its list loaded means the jobs stream is open), then the user leaves.
    await page.getByTestId('nav-jobs').click();
    await page.getByTestId('jobs-empty').waitFor();
    await page.getByTestId('jobs-notify').check();
    await page.getByTestId('nav-datasets').click();
    await page.getByTestId('page-datasets').waitFor();

    portrait = await enqueue('portrait');
    await untilJob(studio.running.studio.jobs, portrait.id, (job) => job.state === 'succeeded');
    await expect.poll(notified, { timeout: 15_000 }).toEqual(['Training finished: portrait']);
    expect(new URL(page.url()).pathname).toBe('/datasets');

    await clickNotification(0);
    await page.getByTestId('page-jobs').waitFor();
    expect(new URL(page.url()).searchParams.get('job')).toBe(portrait.id);
    await page.getByTestId('job-detail').and(page.locator(`[data-job-id="${portrait.id}"][data-state="succeeded"]`)).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'jobs-opened-from-notification.png'), fullPage: true });
    // Opened like a link: Back returns to the page the user was on.
    await page.goBack();
    await page.getByTestId('page-datasets').waitFor();
  }, 120_000);

  it('on the Jobs page with another run open, the click switches to the run that ended; a cancelled run notifies nothing', async () => {
    await page.getByTestId('nav-jobs').click();
    await page.getByTestId('job-item-portrait').click();
    await expect.poll(openJob).toBe(portrait.id);

    const stillLife = await enqueue('still-life');
    // One GPU: landscape waits behind still-life, and is cancelled there.
    const landscape = await enqueue('landscape');
    await page.getByTestId('queued-landscape').waitFor();
    await studio.running.studio.jobs.cancel(landscape.id);
    await untilJob(studio.running.studio.jobs, stillLife.id, (job) => job.state === 'succeeded');
    await expect.poll(notified, { timeout: 15_000 }).toEqual(['Training finished: portrait', 'Training finished: still-life']);
    expect(await openJob()).toBe(portrait.id);

    await clickNotification(1);
    await expect.poll(openJob).toBe(stillLife.id);
    expect(new URL(page.url()).searchParams.get('job')).toBe(stillLife.id);
    expect((await studio.running.studio.jobs.get(landscape.id)).state).toBe('cancelled');
    expect(await notified()).toHaveLength(2);
    // Models, Datasets, Jobs and back: the page opened the studio-wide jobs stream once, when it was paired.
    expect(jobsStreams).toBe(1);
  }, 120_000);
});
