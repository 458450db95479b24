/**
 * `lorasmith serve`: check the bind options (WEB-R01), take the workspace lock, mark what a previous run
 * left unfinished, listen, record server.json, and hand back the one-time pairing URL to print.
 */
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { LorasmithError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { HubNetwork } from '../hub/hub-network.ts';
import type { JobRunner } from '../jobs/job-runner.ts';
import { currentProcessIdentity } from '../core/process-identity.ts';
import { LORASMITH_VERSION } from '../core/version.ts';
import { openStudio, type Studio } from '../studio/studio.ts';
import { buildApp } from './app.ts';
import { acquireWorkspaceLock, writeServerInfo } from './studio-lock.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export interface ServeOptions {
  home?: string;
  /** 0 picks a free port (tests). Default: the workspace setting. */
  port?: number;
  host?: string;
  expose?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  publicNames?: string[];
  log?: Logger;
  webDist?: string;
  /** Tests only: passed to the studio (the hub double's lookup and CA). */
  hubNetwork?: HubNetwork;
  /** Tests only: passed to the studio (a job runner other than the run shim). */
  jobRunner?: JobRunner;
}

export interface RunningStudio {
  studio: Studio;
  url: string;
  port: number;
  pairingUrl: string;
  close(): Promise<void>;
}

function usage(message: string, hint: string): LorasmithError {
  return new LorasmithError({ code: 'usage', message, hint, exitCode: 2 });
}

/** WEB-R01: loopback unless --expose with TLS and at least one public name. */
export function checkBindOptions(options: Pick<ServeOptions, 'host' | 'expose' | 'tlsCert' | 'tlsKey' | 'publicNames'>): void {
  const host = options.host ?? '127.0.0.1';
  const tls = options.tlsCert !== undefined || options.tlsKey !== undefined;
  if (tls && (options.tlsCert === undefined || options.tlsKey === undefined)) throw usage('--tls-cert and --tls-key go together.', 'Give both files.');
  if (!LOOPBACK.has(host) && !options.expose) {
    throw usage(`Refusing to listen on ${host} without --expose.`, 'The studio listens on 127.0.0.1. For remote use, forward the port over SSH (see README), or use --expose with --tls-cert, --tls-key and --public-name.');
  }
  if (options.expose) {
    if (!tls) throw usage('--expose needs TLS: browsers send no Sec-Fetch-Site over plain HTTP on a LAN address.', 'Add --tls-cert FILE --tls-key FILE, or use the SSH tunnel recipe in the README.');
    if ((options.publicNames ?? []).length === 0) throw usage('--expose needs at least one --public-name, the name browsers will use.', 'Add --public-name studio.lan (repeatable).');
  }
  if (!options.expose && (options.publicNames ?? []).length > 0) throw usage('--public-name only applies with --expose.', 'Drop --public-name, or add --expose with TLS.');
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startStudio(options: ServeOptions = {}): Promise<RunningStudio> {
  checkBindOptions(options);
  const host = options.host ?? '127.0.0.1';
  const tls = options.tlsCert !== undefined && options.tlsKey !== undefined ? { cert: await readFile(options.tlsCert), key: await readFile(options.tlsKey) } : undefined;
  const studio = await openStudio({
    ...(options.home === undefined ? {} : { home: options.home }),
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.hubNetwork === undefined ? {} : { hubNetwork: options.hubNetwork }),
    ...(options.jobRunner === undefined ? {} : { jobRunner: options.jobRunner }),
  });
  let lock: Awaited<ReturnType<typeof acquireWorkspaceLock>>;
  try {
    lock = await acquireWorkspaceLock({ lockFile: studio.workspace.paths.serverLock, serverJson: studio.workspace.paths.serverJson, purpose: 'serve' });
  } catch (error) {
    await studio.close();
    throw error;
  }
  try {
    const recovered = await studio.tasks.recover();
    if (recovered.length > 0) studio.log.warn({ count: recovered.length }, 'tasks left unfinished by the previous run were marked interrupted');
    const settings = await studio.settings.get();
    const port = options.port === 0 ? await freePort(host) : (options.port ?? settings.server.port);
    const { app, context } = await buildApp({
      studio,
      settings,
      port,
      ...(tls === undefined ? {} : { tls }),
      ...(options.expose ? { publicNames: options.publicNames ?? [] } : {}),
      ...(options.webDist === undefined ? {} : { webDist: options.webDist }),
    });
    await app.listen({ host, port });
    if (options.expose) studio.log.warn({ host, names: options.publicNames }, 'the studio is exposed beyond this machine; authentication stays on');
    const me = currentProcessIdentity();
    await writeServerInfo(studio.workspace.paths.serverJson, {
      url: context.origins.baseUrl,
      pid: me.pid,
      startTicks: me.startTicks,
      port,
      startedAt: context.startedAt,
      version: LORASMITH_VERSION,
    });
    const { code } = await studio.pairing.issue(settings.server.pairingCodeTtlSeconds);
    let closed = false;
    return {
      studio,
      url: context.origins.baseUrl,
      port,
      pairingUrl: `${context.origins.baseUrl}/pair?code=${code}`,
      close: async () => {
        if (closed) return;
        closed = true;
        await app.close();
        await studio.close();
        await rm(studio.workspace.paths.serverJson, { force: true });
        await lock.release();
      },
    };
  } catch (error) {
    await studio.close();
    await lock.release();
    throw error;
  }
}
