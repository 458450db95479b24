/**
 * Browsing the hubs, for the CLI and the API: a search (provider, query and filters, validated here), a
 * Hugging Face repo's files at the commit a revision resolves to, a Civitai version. Each answer is kept
 * a few minutes in the hub cache (hub-cache.ts), keyed by what was asked and whether a token went with
 * it; pulls do not come through here.
 */
import { LorasmithError } from '../core/errors.ts';
import type { HfFileEntry } from './hf/hf-client.ts';
import type { CivitaiModelSummary, CivitaiVersion, HfModelSummary, RepoFileListing, VersionListing } from './hub-api-types.ts';
import type { HubContext } from './hub-context.ts';

export type { RepoFileListing, VersionListing };

export interface SearchParams {
  provider: 'hf' | 'civitai';
  query?: string;
  type?: string;
  baseModel?: string;
  sort?: string;
  limit?: number;
  nsfw?: boolean;
  signal?: AbortSignal;
}

const CIVITAI_TYPES = ['Checkpoint', 'TextualInversion', 'Hypernetwork', 'AestheticGradient', 'LORA', 'LoCon', 'DoRA', 'Controlnet', 'Upscaler', 'MotionModule', 'VAE', 'Poses', 'Wildcards', 'Workflows', 'Other'];
const CIVITAI_ALIASES: Record<string, string> = { lora: 'LORA', checkpoint: 'Checkpoint', vae: 'VAE', embedding: 'TextualInversion', locon: 'LoCon', dora: 'DoRA', controlnet: 'Controlnet' };

function bad(message: string, hint: string): LorasmithError {
  return new LorasmithError({ code: 'usage', message, hint, exitCode: 2, status: 400 });
}

/** Words as the hubs match them: case and runs of white space make no difference. */
function normalisedQuery(query: string): string {
  return query.trim().replace(/\s+/g, ' ');
}

export async function searchHub(hub: HubContext, params: SearchParams): Promise<HfModelSummary[] | CivitaiModelSummary[]> {
  const limit = params.limit ?? 20;
  const query = normalisedQuery((params.query ?? '').slice(0, 200));
  if (params.baseModel !== undefined && (params.baseModel.length > 200 || /[\u0000-\u001f]/.test(params.baseModel))) throw bad('The base model filter is too long or has control characters.', 'Give a repo id or a base model name.');
  const signal = params.signal === undefined ? {} : { signal: params.signal };
  if (params.provider === 'hf') {
    const sort = params.sort ?? 'downloads';
    if (sort !== 'downloads' && sort !== 'recent' && sort !== 'likes') throw bad(`Hugging Face sorts by downloads, recent or likes, not ${JSON.stringify(sort.slice(0, 40))}.`, 'Use --sort downloads|recent|likes.');
    const type = params.type?.toLowerCase();
    if (type !== undefined && !/^[a-z0-9._:/-]{1,100}$/.test(type)) throw bad('The Hugging Face type must be a tag such as lora or diffusers.', 'Use --type lora.');
    const key = { provider: 'hf' as const, call: 'search', authenticated: hub.hf.policy.credential !== undefined, params: { endpoint: hub.hf.endpoint, query: query.toLowerCase(), type, baseModel: params.baseModel, sort, limit } };
    return hub.cache.remember(key, () => hub.hf.client.search({ query, ...(type === undefined ? {} : { tags: [type] }), ...(params.baseModel === undefined ? {} : { baseModel: params.baseModel }), sort, limit, ...signal }));
  }
  const sort = params.sort ?? 'downloads';
  if (sort !== 'downloads' && sort !== 'recent' && sort !== 'rating') throw bad(`Civitai sorts by downloads, recent or rating, not ${JSON.stringify(sort.slice(0, 40))}.`, 'Use --sort downloads|recent|rating.');
  let types: string[] = [];
  if (params.type !== undefined) {
    const mapped = CIVITAI_ALIASES[params.type.toLowerCase()] ?? CIVITAI_TYPES.find((candidate) => candidate === params.type);
    if (mapped === undefined) throw bad(`Unknown Civitai type ${JSON.stringify(params.type.slice(0, 40))}.`, `Use one of ${CIVITAI_TYPES.join(', ')}.`);
    types = [mapped];
  }
  const nsfw = params.nsfw === true;
  const key = { provider: 'civitai' as const, call: 'search', authenticated: hub.civitai.policy.credential !== undefined, params: { endpoint: hub.civitai.endpoint, query: query.toLowerCase(), types, baseModel: params.baseModel, sort, limit, nsfw } };
  return hub.cache.remember(key, () => hub.civitai.client.search({ query, types, ...(params.baseModel === undefined ? {} : { baseModel: params.baseModel }), sort, limit, nsfw, ...signal }));
}

export interface RepoFiles {
  commit: string;
  entries: HfFileEntry[];
}

/** A Hugging Face repo's files below `path` at the commit `revision` resolves to now (within the cache's few minutes). */
export async function listRepoFiles(hub: HubContext, params: { repo: string; revision: string; path: string; signal?: AbortSignal }): Promise<RepoFiles> {
  const signal = params.signal === undefined ? {} : { signal: params.signal };
  const key = { provider: 'hf' as const, call: 'files', authenticated: hub.hf.policy.credential !== undefined, params: { endpoint: hub.hf.endpoint, repo: params.repo, revision: params.revision, path: params.path } };
  return hub.cache.remember(key, async () => {
    const commit = await hub.hf.client.resolveCommit(params.repo, params.revision, params.signal);
    return { commit, entries: await hub.hf.client.listFiles({ repo: params.repo, commit, path: params.path, expand: true, ...signal }) };
  });
}

/** The files of `listRepoFiles`, each with the source that pulls exactly it (pinned to the commit). */
export async function repoFileListing(hub: HubContext, params: { repo: string; revision: string; path: string }): Promise<RepoFileListing> {
  const { commit, entries } = await listRepoFiles(hub, params);
  return {
    repo: params.repo,
    revision: params.revision,
    commit,
    files: entries
      .filter((entry) => entry.type === 'file')
      .map((entry) => ({
        path: entry.path,
        size: entry.size,
        lfsSha256: entry.lfs?.sha256 ?? null,
        gitBlobId: entry.lfs === null ? entry.oid : null,
        xet: entry.xet,
        hubScanStatus: entry.securityStatus,
        source: `hf:${params.repo}@${commit}:${entry.path}`,
      })),
  };
}

/** A Civitai model version with its files, formats and hashes. */
export async function civitaiVersion(hub: HubContext, versionId: number, signal?: AbortSignal): Promise<CivitaiVersion> {
  const key = { provider: 'civitai' as const, call: 'version', authenticated: hub.civitai.policy.credential !== undefined, params: { endpoint: hub.civitai.endpoint, versionId } };
  return hub.cache.remember(key, () => hub.civitai.client.version(versionId, signal));
}

/** `civitaiVersion`, each file with the source that pulls exactly it. */
export async function civitaiVersionListing(hub: HubContext, versionId: number): Promise<VersionListing> {
  const version = await civitaiVersion(hub, versionId);
  return { ...version, files: version.files.map((file) => ({ ...file, source: `civitai:${version.id}:${file.id}` })) };
}
