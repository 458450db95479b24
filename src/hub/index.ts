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
