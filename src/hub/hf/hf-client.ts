/**
 * A small Hugging Face client over our safe fetch (HF-R02, HF-R03, HF-R05, HF-R06, HF-R07, HF-R08).
 *
 * API calls that @huggingface/hub serves (model info → commit, paths-info, model search, whoami) are
 * made by the library, always with our `createSafeFetch` (credentials bound to the API origin,
 * redirects checked, `Link: next` on another origin refused) and without handing it the token where
 * the policy can carry it. The tree listing is ours, so the path is encoded per segment and `next` pages
 * are followed only on the first page's origin. Model files are never downloaded here: `resolveUrl`
 * gives the by-commit URL for the download pipeline.
 */
import type * as HubLibrary from '@huggingface/hub';
import { z } from 'zod';
import { LorasmithError } from '../../core/errors.ts';
import { createSafeFetch, type WhatwgFetch } from '../create-safe-fetch.ts';
import type { DownloadExpected } from '../download-file.ts';
import type { HfModelSummary } from '../hub-api-types.ts';
import { hubError } from '../hub-error.ts';
import { defaultSleep, fetchJson, type ApiFailure, type HubNetwork } from '../hub-network.ts';
import { parseRetryAfter } from '../download-file.ts';
import { transferError } from '../safe-fetch.ts';
import type { ProviderPolicy } from '../url-policy.ts';
import { hfError } from './hf-errors.ts';
import { assertRepoId, assertRepoPath, assertRevision, encodeRepoPath, isCommit, resolveUrl } from './hf-names.ts';

export type { HfModelSummary };

export interface HfClientParams {
  /** From buildProviderPolicy({ provider: 'hf', token }): the token rides on the policy, bound to the API origin. */
  policy: ProviderPolicy;
  /** The API origin, e.g. `https://huggingface.co` or the LORASMITH_HF_ENDPOINT value. */
  endpoint: string;
  network?: HubNetwork;
  /** Only for `whoAmI`, which the library requires a token for. */
  token?: string;
}

export interface HfFileEntry {
  path: string;
  type: 'file' | 'directory';
  size: number;
  /** Git blob id (40 hex) when the listing gave a well-formed one. */
  oid: string | null;
  /** LFS/Xet content: SHA-256 (64 hex) and size of the real file. */
  lfs: { sha256: string; size: number } | null;
  xet: boolean;
  /** The Hub's own scan status when listed with expand (informational only, PKL-R13). */
  securityStatus: string | null;
}

export interface HfSearchParams {
  query?: string;
  /** `lora`, `diffusers`, … as Hub tags. */
  tags?: string[];
  baseModel?: string;
  sort?: 'downloads' | 'recent' | 'likes';
  limit?: number;
  signal?: AbortSignal;
}

export interface HfClient {
  readonly endpoint: string;
  /** HF-R02: a branch, tag or `refs/pr/N` → the 40-hex commit. */
  resolveCommit(repo: string, revision: string, signal?: AbortSignal): Promise<string>;
  /** Every file below `path` ('' = the root) at a commit, recursively; paths checked (HF-R04). */
  listFiles(params: { repo: string; commit: string; path?: string; expand?: boolean; signal?: AbortSignal }): Promise<HfFileEntry[]>;
  /** One path's entry at a commit (paths-info); `null` when the path does not exist. */
  pathInfo(params: { repo: string; commit: string; path: string; signal?: AbortSignal }): Promise<HfFileEntry | null>;
  search(params: HfSearchParams): Promise<HfModelSummary[]>;
  /** Check the token: the account name, or a typed error. */
  whoAmI(signal?: AbortSignal): Promise<{ name: string; type: string; role: string | null }>;
  /** The download URL by commit (HF-R07 encoding). */
  resolveUrl(repo: string, commit: string, path: string): string;
}

const MAX_PAGES = 1000;

const lfsSchema = z.object({ oid: z.string(), size: z.number().int().nonnegative() }).loose();
const treeEntrySchema = z
  .object({
    type: z.string(),
    path: z.string().min(1).max(4096),
    size: z.number().int().nonnegative().optional(),
    oid: z.string().optional(),
    lfs: lfsSchema.optional().nullable(),
    xetHash: z.string().optional().nullable(),
    securityFileStatus: z.object({ status: z.string().max(64) }).loose().optional().nullable(),
  })
  .loose();
const treeSchema = z.array(treeEntrySchema).max(100_000);

function toEntry(raw: z.infer<typeof treeEntrySchema>, what: string): HfFileEntry {
  assertRepoPath(raw.path);
  const type = raw.type === 'directory' ? 'directory' : raw.type === 'file' ? 'file' : undefined;
  if (type === undefined) throw hubError({ code: 'invalid', message: `The listing of ${what} has an entry of unknown type.`, details: { rule: 'HF-R03' } });
  let lfs: HfFileEntry['lfs'] = null;
  if (raw.lfs !== undefined && raw.lfs !== null) {
    const sha256 = raw.lfs.oid.toLowerCase();
    // HF-R03: only a well-formed SHA-256 counts; a malformed one makes the listing unusable.
    if (!/^[0-9a-f]{64}$/.test(raw.lfs.oid)) {
      throw hubError({ code: 'invalid', message: `The listing of ${what} gave ${raw.path} a malformed SHA-256.`, details: { rule: 'HF-R03' } });
    }
    lfs = { sha256, size: raw.lfs.size };
  }
  const oid = raw.oid !== undefined && /^[0-9a-f]{40}$/.test(raw.oid) ? raw.oid : null;
  return {
    path: raw.path,
    type,
    size: lfs?.size ?? raw.size ?? 0,
    oid,
    lfs,
    xet: typeof raw.xetHash === 'string' && raw.xetHash !== '',
    securityStatus: raw.securityFileStatus?.status ?? null,
  };
}

/** What the download pipeline checks a file against (DL-R05, HF-R03): LFS SHA-256, else the git blob id. */
export function hfExpected(entry: HfFileEntry): DownloadExpected {
  if (entry.lfs !== null) return { size: entry.lfs.size, sha256: entry.lfs.sha256 };
  if (entry.oid !== null) return { size: entry.size, gitSha1: entry.oid };
  return { size: entry.size };
}

/** `Link: <url>; rel="next"` → the URL, or undefined. */
export function parseNextLink(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (match !== null && /(?:^|;)\s*rel\s*=\s*"?next"?\s*(?:;|$)/i.test(match[2] ?? '')) return match[1];
  }
  return undefined;
}

interface ApiFetchState {
  failure: ApiFailure | undefined;
}

/**
 * Our safe fetch for one library call: the first request fixes the origin and every later request (a
 * `next` page) must stay on it (HF-R05); 429/503 are retried with Retry-After (bounded); the last error
 * answer is kept for HF-R06's messages.
 */
function libraryFetch(params: HfClientParams, network: HubNetwork, state: ApiFetchState): typeof fetch {
  const base: WhatwgFetch = createSafeFetch({
    policy: params.policy,
    ...(network.lookup === undefined ? {} : { lookup: network.lookup }),
    ...(network.ca === undefined ? {} : { ca: network.ca }),
    ...(network.fetchImpl === undefined ? {} : { fetchImpl: network.fetchImpl }),
  });
  const sleep = network.sleep ?? defaultSleep;
  const now = network.now ?? Date.now;
  const maxRetries = Math.min(network.retry?.maxRetries ?? 3, 10);
  const maxWaitMs = network.retry?.maxWaitMs ?? 60_000;
  let firstOrigin: string | undefined;
  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    let origin: string;
    try {
      origin = new URL(href).origin;
    } catch {
      throw hubError({ code: 'invalid', message: 'The Hugging Face client built an invalid URL.' });
    }
    if (firstOrigin === undefined) firstOrigin = origin;
    else if (origin !== firstOrigin) {
      throw hubError({
        code: 'redirect-refused',
        message: `The Hugging Face listing pointed its next page to another origin (${new URL(href).host}); it was not fetched.`,
        details: { rule: 'HF-R05' },
      });
    }
    for (let attempt = 0; ; attempt += 1) {
      const response = await base(input, init);
      if ((response.status === 429 || response.status === 503) && attempt < maxRetries) {
        await response.body?.cancel().catch(() => undefined);
        const wait = Math.min(parseRetryAfter(response.headers.get('retry-after') ?? undefined, now()) ?? 1000 * 2 ** attempt, maxWaitMs);
        try {
          await sleep(wait, init?.signal ?? undefined);
        } catch (error) {
          throw transferError(error, init?.signal ?? undefined);
        }
        continue;
      }
      if (!response.ok) {
        const headers: Record<string, string> = {};
        response.headers.forEach((value, name) => {
          headers[name] = value;
        });
        state.failure = { status: response.status, headers, urlForLog: `${new URL(href).origin}${new URL(href).pathname}`, body: undefined, credentialSent: params.policy.credential !== undefined };
      }
      return response;
    }
  };
  return wrapped as typeof fetch;
}

/**
 * The library, loaded on first use: importing it instantiates a wasm module (≈ 50 ms), which every CLI verb
 * that opens the studio would pay although most never reach the Hub.
 */
let hubLibrary: Promise<typeof HubLibrary> | undefined;

function loadHubLibrary(): Promise<typeof HubLibrary> {
  hubLibrary ??= import('@huggingface/hub');
  return hubLibrary;
}

function hubApiErrorBody(error: unknown): unknown {
  if (typeof error === 'object' && error !== null && 'data' in error) return (error as { data: unknown }).data;
  return undefined;
}

/** Map whatever the library threw to a typed error (ours pass through; HubApiError by the kept answer). */
function libraryError(error: unknown, state: ApiFetchState, what: string, signal: AbortSignal | undefined): LorasmithError {
  if (error instanceof LorasmithError) return error;
  if (signal?.aborted === true) return transferError(error, signal);
  if (state.failure !== undefined) return hfError({ ...state.failure, body: hubApiErrorBody(error) }, what);
  if (error instanceof TypeError && /access token/i.test(error.message)) {
    return hubError({ code: 'auth-required', message: 'The Hugging Face token is not a Hugging Face token (it must start with "hf_").', hint: 'Save a token from huggingface.co/settings/tokens with `lorasmith login hf`.' });
  }
  return hubError({ code: 'invalid', message: `Hugging Face answered ${what} in an unexpected shape.`, hint: 'The endpoint may not be a Hugging Face Hub; check LORASMITH_HF_ENDPOINT.' });
}

export function createHfClient(params: HfClientParams): HfClient {
  const network = params.network ?? {};
  const endpoint = params.endpoint.replace(/\/+$/, '');

  async function viaLibrary<T>(what: string, signal: AbortSignal | undefined, call: (hub: typeof HubLibrary, fetchFn: typeof fetch) => Promise<T>): Promise<T> {
    // Outside the try: a failed load is not an answer from Hugging Face.
    const hub = await loadHubLibrary();
    const state: ApiFetchState = { failure: undefined };
    try {
      return await call(hub, libraryFetch(params, network, state));
    } catch (error) {
      throw libraryError(error, state, what, signal);
    }
  }

  return {
    endpoint,

    async resolveCommit(repo, revision, signal) {
      assertRepoId(repo);
      assertRevision(revision);
      const what = `Hugging Face repository ${repo}`;
      const info = await viaLibrary(what, signal, (hub, fetchFn) => hub.modelInfo({ name: repo, revision, hubUrl: endpoint, fetch: fetchFn, additionalFields: ['sha'] }));
      const sha = (info as { sha?: unknown }).sha;
      if (typeof sha !== 'string' || !isCommit(sha)) {
        throw hubError({ code: 'invalid', message: `Hugging Face did not name the commit of ${repo}@${revision}.`, details: { rule: 'HF-R02' } });
      }
      if (isCommit(revision) && sha !== revision) {
        throw hubError({ code: 'invalid', message: `Hugging Face resolved the commit ${revision} of ${repo} to another commit.`, details: { rule: 'HF-R02' } });
      }
      return sha;
    },

    async listFiles({ repo, commit, path = '', expand = false, signal }) {
      assertRepoId(repo);
      if (!isCommit(commit)) throw hubError({ code: 'invalid', message: 'A listing is always made at a commit.', details: { rule: 'HF-R02' } });
      if (path !== '') assertRepoPath(path);
      const what = `Hugging Face repository ${repo}`;
      const first = new URL(`${endpoint}/api/models/${repo}/tree/${commit}${path === '' ? '' : `/${encodeRepoPath(path)}`}`);
      first.searchParams.set('recursive', 'true');
      first.searchParams.set('expand', String(expand));
      const entries: HfFileEntry[] = [];
      let next: URL | undefined = first;
      for (let page = 0; next !== undefined; page += 1) {
        if (page >= MAX_PAGES) throw hubError({ code: 'invalid', message: `The listing of ${what} has too many pages.` });
        const answer = await fetchJson({ url: next.href, policy: params.policy, network, mapError: (failure) => hfError(failure, what), ...(signal === undefined ? {} : { signal }) });
        const parsed = treeSchema.safeParse(answer.json);
        if (!parsed.success) throw hubError({ code: 'invalid', message: `The listing of ${what} is not in the expected shape.` });
        for (const raw of parsed.data) entries.push(toEntry(raw, what));
        const link = parseNextLink(answer.headers.link);
        if (link === undefined) break;
        let candidate: URL;
        try {
          candidate = new URL(link, answer.url);
        } catch {
          throw hubError({ code: 'invalid', message: `The listing of ${what} has a malformed next-page link.`, details: { rule: 'HF-R05' } });
        }
        if (candidate.origin !== first.origin) {
          throw hubError({
            code: 'redirect-refused',
            message: `The listing of ${what} pointed its next page to another origin (${candidate.host}); it was not fetched.`,
            hint: 'A Hugging Face listing only ever continues on the Hub itself.',
            details: { rule: 'HF-R05' },
          });
        }
        next = candidate;
      }
      const prefix = path === '' ? '' : `${path}/`;
      for (const entry of entries) {
        if (path !== '' && entry.path !== path && !entry.path.startsWith(prefix)) {
          throw hubError({ code: 'invalid', message: `The listing of ${what} named a file outside the folder asked for.`, details: { rule: 'HF-R04' } });
        }
      }
      return entries;
    },

    async pathInfo({ repo, commit, path, signal }) {
      assertRepoId(repo);
      assertRepoPath(path);
      if (!isCommit(commit)) throw hubError({ code: 'invalid', message: 'File metadata is always read at a commit.', details: { rule: 'HF-R02' } });
      const what = `Hugging Face repository ${repo}`;
      const infos = await viaLibrary(what, signal, (hub, fetchFn) => hub.pathsInfo({ repo: { type: 'model', name: repo }, paths: [path], revision: commit, expand: true, hubUrl: endpoint, fetch: fetchFn }));
      const parsed = treeSchema.safeParse(infos.map((info) => ({ ...info, lastCommit: undefined })));
      if (!parsed.success) throw hubError({ code: 'invalid', message: `The file metadata of ${what} is not in the expected shape.` });
      const match = parsed.data.find((raw) => raw.path === path);
      return match === undefined ? null : toEntry(match, what);
    },

    async search({ query, tags = [], baseModel, sort = 'downloads', limit = 20, signal }) {
      const filter = [...tags, ...(baseModel === undefined ? [] : [`base_model:${baseModel}`])];
      const found: HfModelSummary[] = [];
      await viaLibrary('the Hugging Face model search', signal, async (hub, fetchFn) => {
        const iterator = hub.listModels({
          search: { ...(query === undefined || query === '' ? {} : { query }), ...(filter.length === 0 ? {} : { tags: filter }) },
          sort: sort === 'recent' ? 'lastModified' : sort,
          limit: Math.max(1, Math.min(limit, 100)),
          additionalFields: ['tags'],
          hubUrl: endpoint,
          fetch: fetchFn,
        });
        for await (const model of iterator) {
          found.push({
            id: String(model.name ?? model.id),
            downloads: Number(model.downloads ?? 0),
            likes: Number(model.likes ?? 0),
            updatedAt: model.updatedAt instanceof Date && !Number.isNaN(model.updatedAt.getTime()) ? model.updatedAt.toISOString() : '',
            gated: model.gated !== false && model.gated !== undefined,
            private: model.private === true,
            tags: Array.isArray(model.tags) ? model.tags.filter((tag): tag is string => typeof tag === 'string').slice(0, 50) : [],
            pipelineTag: typeof model.task === 'string' ? model.task : null,
          });
          if (found.length >= limit) break;
        }
      });
      return found;
    },

    async whoAmI(signal) {
      if (params.token === undefined || params.token === '') {
        throw hubError({ code: 'auth-required', message: 'No Hugging Face token is saved.', hint: 'Save one with `lorasmith login hf` or set HF_TOKEN.' });
      }
      const token = params.token;
      const info = await viaLibrary('the Hugging Face token check', signal, (hub, fetchFn) => hub.whoAmI({ accessToken: token, hubUrl: endpoint, fetch: fetchFn }));
      const role = info.auth?.accessToken?.role;
      return { name: String(info.name), type: String(info.type), role: typeof role === 'string' ? role : null };
    },

    resolveUrl(repo, commit, path) {
      if (!isCommit(commit)) throw hubError({ code: 'invalid', message: 'Files are always downloaded by commit.', details: { rule: 'HF-R02' } });
      return resolveUrl(endpoint, repo, commit, path);
    },
  };
}
