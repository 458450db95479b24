/**
 * hub/: the one download pipeline every remote transfer goes through (hub-downloads.md §1). The Hugging
 * Face and Civitai clients build on this surface: a provider policy, a checked request chain, a
 * WHATWG fetch for @huggingface/hub, and the quarantined, verified, resumable file download.
 */
export type { DownloadReason } from './hub-error.ts';
export { hubError, isHubError } from './hub-error.ts';
export type { CheckedUrl, CheckUrlParams, ProviderCredential, ProviderName, ProviderPolicy, UrlRole } from './url-policy.ts';
export { assertPolicy, checkUrl, hostMatches, originOfHostEntry, rawUrlProblem } from './url-policy.ts';
export { isPublicAddress } from './address-policy.ts';
export type { BuildProviderPolicyParams, BuildUrlPolicyParams } from './build-provider-policy.ts';
export { buildProviderPolicy, buildUrlPolicy, CIVITAI_DEFAULT_REDIRECT_HOSTS, HF_DEFAULT_REDIRECT_HOSTS } from './build-provider-policy.ts';
export type { LookupFn, ResolvedAddress, SafeFetchFn, SafeFetchParams, SafeHop, SafeResponse, TlsCa } from './safe-fetch.ts';
export { defaultLookup, MAX_REDIRECTS, safeFetch, transferError } from './safe-fetch.ts';
export type { CreateSafeFetchParams, WhatwgFetch } from './create-safe-fetch.ts';
export { createSafeFetch } from './create-safe-fetch.ts';
export type { StatusErrorParams } from './http-status-error.ts';
export { statusError } from './http-status-error.ts';
export type { MarkupKind } from './sniff-markup.ts';
export { sniffMarkup } from './sniff-markup.ts';
export type { DownloadExpected, DownloadResult, DownloadToQuarantineParams, ProgressFn, VerifiedBy } from './download-file.ts';
export { DEFAULT_MAX_BYTES, DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_WAIT_MS, downloadToQuarantine, parseRetryAfter } from './download-file.ts';
export type { PullSource, ParseSourceOptions, UrlSourceCheck } from './parse-source.ts';
export { ACCEPTED_SOURCES, assertUrlSourceAllowed, parseCivitaiId, parseSource } from './parse-source.ts';
export type { ApiFailure, FetchJsonParams, HubNetwork, JsonAnswer } from './hub-network.ts';
export { fetchJson } from './hub-network.ts';
export type { HubContext, HubSettings, HubTokens } from './hub-context.ts';
export { buildHubContext } from './hub-context.ts';
export * from './hf/index.ts';
export * from './civitai/index.ts';
export type { ClamscanResult } from './clamscan.ts';
export { assertClamscanClean, findClamscan, runClamscan } from './clamscan.ts';
export { globToRegExp, matchesAny } from './glob.ts';
export type { PulledFile, PullDeps, PullReporter, PullRequest, PullResult, PullState, RunPullParams } from './pull.ts';
export { confirmPending, discardPending, progressMessage, PULL_STATES, pullQuarantineDir, readPending, runPull } from './pull.ts';
export type { PullParams } from './pull-task.ts';
export { confirmPull, discardPull, PULL_TASK_KIND, pullParamsSchema, pullTask } from './pull-task.ts';
export type { HubDepsParams, TokenSource } from './pull-deps.ts';
export { hubContextFactory, pullDeps } from './pull-deps.ts';
export type { RepoFileListing, RepoFiles, SearchParams, VersionListing } from './search.ts';
export { civitaiVersion, civitaiVersionListing, listRepoFiles, repoFileListing, searchHub } from './search.ts';
export type { CacheProvider, HubCacheOptions } from './hub-cache.ts';
export { HUB_CACHE_MAX_ENTRIES, HUB_CACHE_TTL_MS, HubCache } from './hub-cache.ts';
export type { IdentifyOptions } from './identify.ts';
export { identifyLibraryModel, identifyOnCivitai } from './identify.ts';
