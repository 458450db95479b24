/**
 * Chromium for the browser tests: Debian's build through playwright-core, with the flags a container
 * without a GPU or a user namespace needs, one page in a fresh context, and the screenshots folder made.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestStudio } from '../helpers/studio.ts';

export const SCREENSHOT_DIR = path.resolve('.tmp/screenshots');

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

export interface OpenPage {
  browser: Browser;
  page: Page;
  /** The text of every console error the page logs from now on. */
  consoleErrors: string[];
}

export interface OpenPageOptions {
  /** Default 1360 × 900. */
  viewport?: { width: number; height: number };
  /** Runs on the context before the page opens (permissions, init scripts). */
  prepare?: (context: BrowserContext) => Promise<void>;
  /** Pair with this studio through its printed URL and wait for the landing page (Models). */
  pairWith?: TestStudio;
}

export async function openPage(options: OpenPageOptions = {}): Promise<OpenPage> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1360, height: 900 } });
    await options.prepare?.(context);
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    if (options.pairWith !== undefined) {
      await page.goto(options.pairWith.running.pairingUrl);
      await page.getByTestId('page-models').waitFor();
    }
    return { browser, page, consoleErrors };
  } catch (error) {
    // The caller never gets the browser to close in its afterAll.
    await browser.close();
    throw error;
  }
}

/**
 * Grants `origin` notifications and records the ones its pages raise (the browser shows none headless):
 * `window.__notified` holds `{ title, body }` for each, `window.__notifications` the Notification objects,
 * so a test can click one with `dispatchEvent(new Event('click'))`. A string: this project's server
 * typecheck has no DOM types.
 */
export async function recordNotifications(context: BrowserContext, origin: string): Promise<void> {
  await context.grantPermissions(['notifications'], { origin });
  await context.addInitScript(`{
    const Real = window.Notification;
    window.__notified = [];
    window.__notifications = [];
    class Recorded extends Real {
      constructor(title, options) {
        super(title, options);
        window.__notified.push({ title, body: (options && options.body) || '' });
        window.__notifications.push(this);
      }
    }
    Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
    Recorded.requestPermission = (...args) => Real.requestPermission(...args);
    window.Notification = Recorded;
  }`);
}
