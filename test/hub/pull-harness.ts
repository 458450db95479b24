/** A studio workspace plus the hub double, wired for pulls: the double's lookup and CA, no real waits. */
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { CliIO } from '../../src/cli/io.ts';
import { LorasmithError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { buildHubContext, type HubSettings } from '../../src/hub/hub-context.ts';
import type { HubNetwork } from '../../src/hub/hub-network.ts';
import { runPull, type PullDeps, type PullRequest, type PullResult, type PullState } from '../../src/hub/pull.ts';
import { openStudio, type Studio } from '../../src/studio/studio.ts';
import { startHubDouble, type HubDouble } from '../doubles/hub/hub-double.ts';
import { makeHome } from '../helpers/studio.ts';

export const HF_CANARY = 'hf_CANARYcanaryCANARYcanary5f0c1234';
export const CIVITAI_CANARY = 'civitai_canary_5f0c0000aaaa1111bbbb';

export function quietLogger() {
  return createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });
}

export async function openTestStudio(): Promise<Studio> {
  return openStudio({ home: await makeHome(), log: quietLogger(), env: {} });
}

/**
 * Registers the file's hooks: the hub double and a studio started once, the double's routes and request log
 * reset and the library emptied after each test, both closed at the end. `started` hands them to the file's
 * own variables (hooks the file registers after this call run after these, and their afterAll before).
 */
export function hubTestContext(started: (context: { d: HubDouble; studio: Studio }) => void): void {
  let d: HubDouble;
  let studio: Studio;
  beforeAll(async () => {
    d = await startHubDouble();
    studio = await openTestStudio();
    started({ d, studio });
  });
  afterEach(async () => {
    d.reset();
    for (const model of await studio.library.list()) await studio.library.remove(model.id);
  });
  afterAll(async () => {
    await studio.close();
    await d.close();
  });
}

export function testSettings(d: HubDouble, extra: HubSettings = {}): HubSettings {
  return {
    env: {
      LORASMITH_HF_ENDPOINT: d.origin('hub.test'),
      LORASMITH_HF_REDIRECT_HOSTS: `cdn.test:${d.port}`,
      LORASMITH_CIVITAI_ENDPOINT: d.origin('mirror.test'),
      LORASMITH_CIVITAI_REDIRECT_HOSTS: `cdn2.test:${d.port}`,
    },
    ...extra,
  };
}

export function testNetwork(d: HubDouble, extra: HubNetwork = {}): HubNetwork {
  return { lookup: d.lookup, ca: d.ca, sleep: async () => undefined, ...extra };
}

export interface Harness {
  deps: PullDeps;
  pull(request: PullRequest | string, options?: { taskId?: string; signal?: AbortSignal }): Promise<{ result: PullResult; states: PullState[]; taskId: string }>;
  fail(request: PullRequest | string): Promise<{ error: LorasmithError; states: PullState[]; taskId: string }>;
}

export function harness(
  studio: Studio,
  d: HubDouble,
  options: { settings?: HubSettings; tokens?: { hf?: string; civitai?: string }; network?: HubNetwork; clamscan?: string | null; freeBytes?: (dir: string) => Promise<number> } = {},
): Harness {
  const deps: PullDeps = {
    workspace: studio.workspace,
    library: studio.library,
    securityEvents: studio.securityEvents,
    hub: async () => buildHubContext({ settings: options.settings ?? testSettings(d), tokens: options.tokens ?? {}, network: options.network ?? testNetwork(d) }),
    clamscan: options.clamscan === undefined ? null : options.clamscan,
    ...(options.freeBytes === undefined ? {} : { freeBytes: options.freeBytes }),
  };
  const run = async (request: PullRequest | string, runOptions: { taskId?: string; signal?: AbortSignal } = {}) => {
    const states: PullState[] = [];
    const taskId = runOptions.taskId ?? randomUUID();
    const promise = runPull({
      request: typeof request === 'string' ? { source: request } : request,
      deps,
      taskId,
      signal: runOptions.signal ?? new AbortController().signal,
      report: { detail: (state) => void (states.at(-1) === state ? undefined : states.push(state)), progress: () => undefined },
    });
    return { promise, states, taskId };
  };
  return {
    deps,
    async pull(request, runOptions) {
      const { promise, states, taskId } = await run(request, runOptions);
      return { result: await promise, states, taskId };
    },
    async fail(request) {
      const { promise, states, taskId } = await run(request);
      try {
        await promise;
      } catch (error) {
        expect(error).toBeInstanceOf(LorasmithError);
        return { error: error as LorasmithError, states, taskId };
      }
      throw new Error('expected the pull to fail');
    },
  };
}

export async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name))).sort();
  } catch {
    return [];
  }
}

export async function modelFiles(studio: Studio): Promise<string[]> {
  return filesUnder(studio.workspace.paths.areas.models);
}

export async function downloadsLeft(studio: Studio): Promise<string[]> {
  return filesUnder(path.join(studio.workspace.paths.areas.quarantine, 'downloads'));
}

/** A refused pull leaves nothing: no library file, no download folder in quarantine. */
export async function expectNothingStored(studio: Studio): Promise<void> {
  expect(await modelFiles(studio)).toEqual([]);
  expect(await downloadsLeft(studio)).toEqual([]);
}

/** A CLI run's IO against a workspace: output captured, logs silenced. */
export function captureIO(home: string): { io: CliIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: new Writable({ write: (chunk: Buffer, _e, cb) => void ((out += chunk.toString()), cb()) }),
      stderr: new Writable({ write: (chunk: Buffer, _e, cb) => void ((err += chunk.toString()), cb()) }),
      stdin: Readable.from([]),
      env: { LORASMITH_HOME: home, LORASMITH_LOG_LEVEL: 'silent' },
    },
    out: () => out,
    err: () => err,
  };
}
