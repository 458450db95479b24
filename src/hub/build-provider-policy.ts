/**
 * Provider policies from defaults, the environment (DESIGN.md §7) and the settings.
 *
 * Defaults: Hugging Face API/token host `huggingface.co`; redirects to `huggingface.co`, `hf.co`,
 * `cdn-lfs.huggingface.co`, `cdn-lfs-us-1.huggingface.co` and any host below `.hf.co` (hub-downloads.md
 * §2.1). Civitai API/token host `civitai.com` (plus `civitai.red` when enabled); redirects to those, the
 * R2 delivery workers, `b2.civitai.com` and `f###.backblazeb2.com` (CV-R03).
 *
 * An overridden endpoint (`LORASMITH_HF_ENDPOINT`, `LORASMITH_CIVITAI_ENDPOINT`) replaces the API host;
 * the allowlist follows it, and it becomes exempt (loopback or private address, IP literal, its port).
 * The extra redirect hosts (`LORASMITH_*_REDIRECT_HOSTS`, comma-separated `host[:port]`) apply only to
 * their own provider and only while its endpoint is overridden; they are exempt as whole origins.
 * Endpoints are https only.
 */
import { isIP } from 'node:net';
import { hubError } from './hub-error.ts';
import { checkUrl, originOfHostEntry, parseHostEntry, rawUrlProblem, assertPolicy, type ProviderPolicy } from './url-policy.ts';

export const HF_DEFAULT_REDIRECT_HOSTS: ReadonlyArray<string> = ['huggingface.co', 'hf.co', 'cdn-lfs.huggingface.co', 'cdn-lfs-us-1.huggingface.co', '.hf.co'];
export const CIVITAI_DEFAULT_REDIRECT_HOSTS: ReadonlyArray<string | RegExp> = [
  'civitai.com',
  /^civitai-delivery-worker-prod\.[0-9a-f]{32}\.r2\.cloudflarestorage\.com$/,
  'b2.civitai.com',
  /^f\d{3}\.backblazeb2\.com$/,
];

export interface BuildProviderPolicyParams {
  provider: 'hf' | 'civitai';
  /** Where LORASMITH_* variables are read; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Settings values, used when the environment does not set them. */
  endpoint?: string;
  redirectHosts?: string[];
  /** The token (without `Bearer `); sent only to the API origin. */
  token?: string;
  /** Civitai: also accept `civitai.red` (same site, another domain). */
  civitaiRed?: boolean;
}

export interface BuildUrlPolicyParams {
  /** Host names the settings allow for plain https URLs (DL-R12); port 443 only, no exemptions. */
  hosts: string[];
}

function endpointHostEntry(endpoint: string, variable: string): string {
  const problem = rawUrlProblem(endpoint);
  let url: URL | undefined;
  try {
    url = problem === undefined ? new URL(endpoint) : undefined;
  } catch {
    url = undefined;
  }
  const bad = (reason: string): Error =>
    hubError({ code: 'invalid', message: `${variable} was refused: ${reason}.`, hint: `Set ${variable} to an https origin such as https://127.0.0.1:8443.` });
  if (url === undefined) throw bad(problem ?? 'it is not a URL');
  if (url.protocol !== 'https:') throw bad('it must use https');
  if (url.username !== '' || url.password !== '') throw bad('it carries user information');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') throw bad('it must be an origin without a path or query');
  const host = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  const rawAuthority = /^https:\/\/([^/?#]*)/i.exec(endpoint)?.[1]?.toLowerCase().replace(/:443$/, '').replace(/\.(?=:\d+$|$)/, '');
  if (isIP(host.replace(/^\[|\]$/g, '')) !== 0 && rawAuthority !== url.host) throw bad('the IP address is not written canonically');
  return url.port === '' ? host : `${host}:${url.port}`;
}

function splitHosts(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Validate one configured `host[:port]` (not a suffix, not a URL). */
function redirectHostEntry(entry: string, variable: string): string {
  let parsed;
  try {
    parsed = parseHostEntry(entry);
  } catch {
    throw hubError({ code: 'invalid', message: `${variable} has a malformed entry ${JSON.stringify(entry.slice(0, 80))}.`, hint: 'Use comma-separated host[:port] names.' });
  }
  if (parsed.suffix) throw hubError({ code: 'invalid', message: `${variable} entries must be exact host names.` });
  const host = isIP(parsed.host) === 6 ? `[${parsed.host}]` : parsed.host;
  return parsed.port === 443 ? host : `${host}:${parsed.port}`;
}

export function buildProviderPolicy(params: BuildProviderPolicyParams): ProviderPolicy {
  const env = params.env ?? process.env;
  const prefix = params.provider === 'hf' ? 'LORASMITH_HF' : 'LORASMITH_CIVITAI';
  const endpointVariable = `${prefix}_ENDPOINT`;
  const redirectVariable = `${prefix}_REDIRECT_HOSTS`;
  const endpoint = env[endpointVariable] ?? params.endpoint;
  const overridden = endpoint !== undefined && endpoint.trim() !== '';

  let apiHosts: string[];
  let redirectHosts: Array<string | RegExp>;
  let exemptHosts: string[] = [];
  if (overridden) {
    const endpointHost = endpointHostEntry(endpoint.trim(), endpointVariable);
    const extraRaw = env[redirectVariable] !== undefined ? splitHosts(env[redirectVariable]) : (params.redirectHosts ?? []);
    const extra = extraRaw.map((entry) => redirectHostEntry(entry, redirectVariable));
    apiHosts = [endpointHost];
    redirectHosts = [endpointHost, ...extra];
    exemptHosts = [endpointHost, ...extra];
  } else if (params.provider === 'hf') {
    apiHosts = ['huggingface.co'];
    redirectHosts = [...HF_DEFAULT_REDIRECT_HOSTS];
  } else {
    apiHosts = params.civitaiRed === true ? ['civitai.com', 'civitai.red'] : ['civitai.com'];
    redirectHosts = [...CIVITAI_DEFAULT_REDIRECT_HOSTS, ...(params.civitaiRed === true ? ['civitai.red'] : [])];
  }

  const policy: ProviderPolicy = { name: params.provider, apiHosts, redirectHosts, exemptHosts };
  if (params.token !== undefined && params.token !== '') {
    if (/[\s\0-\x1f\x7f]/.test(params.token)) throw hubError({ code: 'invalid', message: 'The access token contains whitespace or control characters.' });
    policy.credential = { header: 'authorization', value: `Bearer ${params.token}`, origins: apiHosts.map(originOfHostEntry) };
  }
  assertPolicy(policy);
  // The endpoint itself must pass the policy it defines (https, canonical IP form, port).
  for (const host of apiHosts) checkUrl({ url: `${originOfHostEntry(host)}/`, policy });
  return policy;
}

/** The policy for plain https URLs on hosts the settings allow (DL-R12): no credential, no exemption. */
export function buildUrlPolicy(params: BuildUrlPolicyParams): ProviderPolicy {
  const hosts = params.hosts.map((host) => redirectHostEntry(host, 'the allowed URL hosts'));
  const policy: ProviderPolicy = { name: 'url', apiHosts: hosts, redirectHosts: hosts, exemptHosts: [] };
  assertPolicy(policy);
  return policy;
}
