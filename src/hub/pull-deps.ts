/**
 * Wiring for the studio: the pull pipeline's dependencies from the workspace, the library and the
 * secret store. Tokens are read when each pull or search starts, so `lorasmith login` takes effect
 * without a restart. No dependency on studio/: callers pass the pieces.
 */
import type { SecurityEvents } from '../access/security-events.ts';
import type { Workspace } from '../core/workspace.ts';
import type { ModelLibrary } from '../library/model-library.ts';
import { HubCache } from './hub-cache.ts';
import { buildHubContext, type HubContext, type HubSettings } from './hub-context.ts';
import type { HubNetwork } from './hub-network.ts';
import type { PullDeps } from './pull.ts';

export interface TokenSource {
  get(name: 'hf' | 'civitai'): Promise<string | null>;
}

export interface HubDepsParams {
  secrets: TokenSource;
  settings?: HubSettings | (() => Promise<HubSettings>);
  network?: HubNetwork;
}

/** A factory of hub contexts with the current tokens, sharing one browse cache (the network's clock). */
export function hubContextFactory(params: HubDepsParams): () => Promise<HubContext> {
  const cache = new HubCache(params.network?.now === undefined ? {} : { now: params.network.now });
  return async () => {
    const settings = typeof params.settings === 'function' ? await params.settings() : (params.settings ?? {});
    const [hf, civitai] = await Promise.all([params.secrets.get('hf'), params.secrets.get('civitai')]);
    cache.noteToken('hf', hf);
    cache.noteToken('civitai', civitai);
    return buildHubContext({ settings, tokens: { hf, civitai }, cache, ...(params.network === undefined ? {} : { network: params.network }) });
  };
}

export function pullDeps(params: HubDepsParams & { workspace: Workspace; library: ModelLibrary; securityEvents: SecurityEvents; clamscan?: string | null; freeBytes?: (dir: string) => Promise<number>; maxResumes?: number }): PullDeps {
  return {
    workspace: params.workspace,
    library: params.library,
    securityEvents: params.securityEvents,
    hub: hubContextFactory(params),
    ...(params.clamscan === undefined ? {} : { clamscan: params.clamscan }),
    ...(params.freeBytes === undefined ? {} : { freeBytes: params.freeBytes }),
    ...(params.maxResumes === undefined ? {} : { maxResumes: params.maxResumes }),
  };
}
