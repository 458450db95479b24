/**
 * The hub configuration of one pull or search: provider policies from the environment and settings
 * (DESIGN.md §7: LORASMITH_HF_ENDPOINT, LORASMITH_CIVITAI_ENDPOINT, LORASMITH_*_REDIRECT_HOSTS), the
 * tokens (read when the work starts, never stored elsewhere), the hosts plain URLs may come from, and
 * the network hooks tests inject.
 */
import { buildProviderPolicy, buildUrlPolicy } from './build-provider-policy.ts';
import { createCivitaiClient, type CivitaiClient } from './civitai/civitai-client.ts';
import { createHfClient, type HfClient } from './hf/hf-client.ts';
import { HubCache } from './hub-cache.ts';
import type { HubNetwork } from './hub-network.ts';
import { DEFAULT_CIVITAI_WEB_HOSTS, DEFAULT_HF_WEB_HOSTS, type ParseSourceOptions } from './parse-source.ts';
import { originOfHostEntry, type ProviderPolicy } from './url-policy.ts';

export interface HubSettings {
  /** Where LORASMITH_* variables are read; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  hfEndpoint?: string;
  hfRedirectHosts?: string[];
  civitaiEndpoint?: string;
  civitaiRedirectHosts?: string[];
  civitaiRed?: boolean;
  /** Hosts plain https URLs may be pulled from (DL-R12); none by default. */
  urlHosts?: string[];
  /** Global download cap (DL-R05); default 64 GiB. */
  maxBytes?: number;
}

export interface HubTokens {
  hf?: string | null;
  civitai?: string | null;
}

export interface HubContext {
  hf: { policy: ProviderPolicy; endpoint: string; client: HfClient };
  civitai: { policy: ProviderPolicy; endpoint: string; client: CivitaiClient };
  url: { policy: ProviderPolicy };
  network: HubNetwork;
  parseOptions: ParseSourceOptions;
  maxBytes: number | undefined;
  /** Browse answers kept a few minutes (searches, file lists, versions); pulls never read it. */
  cache: HubCache;
}

export function buildHubContext(params: { settings?: HubSettings; tokens?: HubTokens; network?: HubNetwork; cache?: HubCache }): HubContext {
  const settings = params.settings ?? {};
  const network = params.network ?? {};
  const env = settings.env ?? process.env;
  const hfToken = params.tokens?.hf ?? undefined;
  const civitaiToken = params.tokens?.civitai ?? undefined;
  const hfPolicy = buildProviderPolicy({
    provider: 'hf',
    env,
    ...(settings.hfEndpoint === undefined ? {} : { endpoint: settings.hfEndpoint }),
    ...(settings.hfRedirectHosts === undefined ? {} : { redirectHosts: settings.hfRedirectHosts }),
    ...(hfToken === undefined || hfToken === null ? {} : { token: hfToken }),
  });
  const civitaiPolicy = buildProviderPolicy({
    provider: 'civitai',
    env,
    ...(settings.civitaiEndpoint === undefined ? {} : { endpoint: settings.civitaiEndpoint }),
    ...(settings.civitaiRedirectHosts === undefined ? {} : { redirectHosts: settings.civitaiRedirectHosts }),
    ...(civitaiToken === undefined || civitaiToken === null ? {} : { token: civitaiToken }),
    ...(settings.civitaiRed === undefined ? {} : { civitaiRed: settings.civitaiRed }),
  });
  const hfApiHost = hfPolicy.apiHosts[0] ?? 'huggingface.co';
  const civitaiApiHost = civitaiPolicy.apiHosts[0] ?? 'civitai.com';
  const hfEndpoint = originOfHostEntry(hfApiHost);
  const civitaiEndpoint = originOfHostEntry(civitaiApiHost);
  return {
    hf: {
      policy: hfPolicy,
      endpoint: hfEndpoint,
      client: createHfClient({ policy: hfPolicy, endpoint: hfEndpoint, network, ...(hfToken === undefined || hfToken === null ? {} : { token: hfToken }) }),
    },
    civitai: { policy: civitaiPolicy, endpoint: civitaiEndpoint, client: createCivitaiClient({ policy: civitaiPolicy, endpoint: civitaiEndpoint, network }) },
    url: { policy: buildUrlPolicy({ hosts: settings.urlHosts ?? [] }) },
    network,
    parseOptions: {
      hfHosts: [...DEFAULT_HF_WEB_HOSTS, ...hfPolicy.apiHosts],
      civitaiHosts: [...DEFAULT_CIVITAI_WEB_HOSTS, ...civitaiPolicy.apiHosts],
    },
    maxBytes: settings.maxBytes,
    cache: params.cache ?? new HubCache(network.now === undefined ? {} : { now: network.now }),
  };
}
