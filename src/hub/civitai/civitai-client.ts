/**
 * A small Civitai client over our safe fetch (CV-R01..R08).
 *
 * The token (from the policy) goes only as `Authorization: Bearer` to the configured API origin, never
 * in a URL and never to a redirect target (CV-R02). The User-Agent names no browser, so errors come as
 * JSON (CV-R08). Version JSON is validated strictly where it matters (ids, files, hashes) and loosely
 * elsewhere. Downloads are pinned by `fileId` (CV-R07) and never probed with HEAD.
 */
import { z } from 'zod';
import type { LorasmithError } from '../../core/errors.ts';
import type { CivitaiLicense } from '../../library/model-record.ts';
import type { DownloadExpected } from '../download-file.ts';
import type { CivitaiFile, CivitaiModelSummary, CivitaiVersion } from '../hub-api-types.ts';
import { hubError } from '../hub-error.ts';
import { statusError } from '../http-status-error.ts';
import { fetchJson, type ApiFailure, type HubNetwork } from '../hub-network.ts';
import type { SafeFetchFn } from '../safe-fetch.ts';
import { safeFetch } from '../safe-fetch.ts';
import type { ProviderPolicy } from '../url-policy.ts';

export type { CivitaiFile, CivitaiModelSummary, CivitaiVersion };

const MAX_ID = 2 ** 31 - 1;
const id = z.number().int().min(1).max(MAX_ID);
const MiB = 1024 * 1024;

/** CV-R01 hash shapes; anything else is dropped (never trusted). */
const HASH_SHAPES: Record<string, RegExp> = {
  AutoV1: /^[0-9A-Fa-f]{8}$/,
  AutoV2: /^[0-9A-Fa-f]{10}$/,
  AutoV3: /^[0-9A-Fa-f]{12}$/,
  SHA256: /^[0-9A-Fa-f]{64}$/,
  CRC32: /^[0-9A-Fa-f]{8}$/,
  BLAKE3: /^[0-9A-Fa-f]{64}$/,
};

const fileSchema = z
  .object({
    id,
    name: z.string().min(1).max(1024),
    type: z.string().max(64).optional().nullable(),
    sizeKB: z.number().nonnegative().max(1024 * 1024 * 1024),
    primary: z.boolean().optional().nullable(),
    metadata: z
      .object({ format: z.string().max(64).optional().nullable(), size: z.string().max(64).optional().nullable(), fp: z.string().max(64).optional().nullable() })
      .loose()
      .optional()
      .nullable(),
    pickleScanResult: z.string().max(64).optional().nullable(),
    virusScanResult: z.string().max(64).optional().nullable(),
    hashes: z.record(z.string(), z.unknown()).optional().nullable(),
  })
  .loose();

const versionSchema = z
  .object({
    id,
    modelId: id,
    name: z.string().max(1024).optional().nullable(),
    baseModel: z.string().max(128).optional().nullable(),
    trainedWords: z.array(z.string().max(1024)).max(1000).optional().nullable(),
    model: z.object({ name: z.string().max(1024).optional().nullable(), type: z.string().max(64).optional().nullable(), nsfw: z.boolean().optional().nullable() }).loose().optional().nullable(),
    files: z.array(fileSchema).max(1000),
    status: z.string().max(64).optional().nullable(),
    availability: z.string().max(64).optional().nullable(),
  })
  .loose();

const modelSchema = z
  .object({
    id,
    name: z.string().max(1024),
    type: z.string().max(64).optional().nullable(),
    nsfw: z.boolean().optional().nullable(),
    creator: z.object({ username: z.string().max(256).optional().nullable() }).loose().optional().nullable(),
    stats: z.object({ downloadCount: z.number().optional().nullable() }).loose().optional().nullable(),
    allowNoCredit: z.boolean().optional().nullable(),
    // An array in today's API (`["Image","Rent"]`), a single string in older answers (`"Sell"`).
    allowCommercialUse: z.union([z.array(z.string().max(32)).max(16), z.string().max(32)]).optional().nullable(),
    allowDerivatives: z.boolean().optional().nullable(),
    allowDifferentLicense: z.boolean().optional().nullable(),
    modelVersions: z.array(z.object({ id, name: z.string().max(1024).optional().nullable(), baseModel: z.string().max(128).optional().nullable() }).loose()).max(1000).optional().nullable(),
  })
  .loose();
const searchSchema = z.object({ items: z.array(modelSchema).max(1000) }).loose();

/** A model (`GET /api/v1/models/{id}`): what `models identify` reads besides the version, its licence. */
export interface CivitaiModel {
  id: number;
  name: string;
  type: string | null;
  creator: string | null;
  license: CivitaiLicense;
}

export interface CivitaiSearchParams {
  query?: string;
  /** Civitai model types: `LORA`, `Checkpoint`, `TextualInversion`, … */
  types?: string[];
  baseModel?: string;
  sort?: 'downloads' | 'recent' | 'rating';
  limit?: number;
  /** Off by default. */
  nsfw?: boolean;
  signal?: AbortSignal;
}

export interface CivitaiClientParams {
  /** From buildProviderPolicy({ provider: 'civitai', token }). */
  policy: ProviderPolicy;
  /** The API origin: `https://civitai.com` or LORASMITH_CIVITAI_ENDPOINT. */
  endpoint: string;
  network?: HubNetwork;
}

export interface CivitaiClient {
  readonly endpoint: string;
  version(versionId: number, signal?: AbortSignal): Promise<CivitaiVersion>;
  model(modelId: number, signal?: AbortSignal): Promise<CivitaiModel>;
  /** Identify a file by a hash of any kind the API stores; `null` when Civitai does not know it. */
  byHash(hash: string, signal?: AbortSignal): Promise<CivitaiVersion | null>;
  search(params: CivitaiSearchParams): Promise<CivitaiModelSummary[]>;
  /** Check the token (`/api/v1/me`). */
  me(signal?: AbortSignal): Promise<{ username: string | null }>;
  /** The download URL pinned by fileId (CV-R07), on the API origin, never with a token. */
  downloadUrl(versionId: number, fileId: number): string;
  /** A chain fetch for the download route: a redirect to `/login` is `auth-required` (CV-R03). */
  downloadFetch(base?: SafeFetchFn): SafeFetchFn;
}

function checkId(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_ID) throw hubError({ code: 'invalid', message: `The Civitai ${what} must be a positive integer below 2^31.`, details: { rule: 'CV-R01' } });
}

function toFile(raw: z.infer<typeof fileSchema>): CivitaiFile {
  const hashes: CivitaiFile['hashes'] = {};
  for (const [name, shape] of Object.entries(HASH_SHAPES)) {
    const value = raw.hashes?.[name];
    if (typeof value === 'string' && shape.test(value)) hashes[name as keyof CivitaiFile['hashes']] = value.toUpperCase();
  }
  return {
    id: raw.id,
    name: raw.name,
    type: raw.type ?? null,
    sizeKB: raw.sizeKB,
    primary: raw.primary === true,
    format: raw.metadata?.format ?? null,
    fp: raw.metadata?.fp ?? null,
    pickleScanResult: raw.pickleScanResult ?? null,
    virusScanResult: raw.virusScanResult ?? null,
    hashes,
  };
}

function toVersion(raw: z.infer<typeof versionSchema>): CivitaiVersion {
  return {
    id: raw.id,
    modelId: raw.modelId,
    name: raw.name ?? null,
    modelName: raw.model?.name ?? null,
    modelType: raw.model?.type ?? null,
    baseModel: raw.baseModel ?? null,
    trainedWords: raw.trainedWords ?? [],
    files: raw.files.map(toFile),
  };
}

/** DL-R05 / CV-R04 / CV-R07: `sizeKB` is a hint (ceil × 1024 + 1 MiB); only SHA256 is integrity. */
export function civitaiExpected(file: CivitaiFile): DownloadExpected {
  return { size: Math.ceil(file.sizeKB * 1024), sizeTolerance: MiB, ...(file.hashes.SHA256 === undefined ? {} : { sha256: file.hashes.SHA256.toLowerCase() }) };
}

/** The file a pull takes: the pinned one, else the version's primary (CV-R07). */
export function chooseCivitaiFile(version: CivitaiVersion, fileId?: number): CivitaiFile {
  if (fileId !== undefined) {
    const file = version.files.find((candidate) => candidate.id === fileId);
    if (file === undefined) {
      throw hubError({
        code: 'not-found',
        message: `Civitai version ${version.id} has no file ${fileId}.`,
        hint: `Its files: ${version.files.map((f) => `${f.id} (${f.name.slice(0, 60)})`).join(', ') || 'none'}.`,
      });
    }
    return file;
  }
  const primaries = version.files.filter((file) => file.primary);
  const only = version.files.length === 1 ? version.files[0] : undefined;
  const chosen = primaries.length === 1 ? primaries[0] : only;
  if (chosen === undefined) {
    throw hubError({
      code: 'not-found',
      message: `Civitai version ${version.id} names no single primary file.`,
      hint: `Pick one with civitai:${version.id}:<fileId>; its files: ${version.files.map((f) => `${f.id} (${f.name.slice(0, 60)})`).join(', ') || 'none'}.`,
    });
  }
  return chosen;
}

function bodyText(body: unknown, key: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[key];
  return typeof value === 'string' ? value.slice(0, 200) : undefined;
}

/** CV-R08 reason codes with Civitai wording; a 401 despite a token reads "token invalid or lacking access" (CV-R02). */
export function civitaiError(failure: ApiFailure, what: string): LorasmithError {
  const details = { status: failure.status, provider: 'civitai' };
  switch (failure.status) {
    case 401:
      return failure.credentialSent
        ? hubError({ code: 'auth-required', message: `Civitai refused ${what}: the API key is invalid or lacks access (HTTP 401).`, hint: 'Create a new API key in your Civitai account settings and save it with `lorasmith login civitai`.', details })
        : hubError({ code: 'auth-required', message: `Civitai requires a login for ${what} (HTTP 401).`, hint: 'Save an API key with `lorasmith login civitai`.', details });
    case 403: {
      const early = /early access/i.test(`${bodyText(failure.body, 'error') ?? ''} ${bodyText(failure.body, 'message') ?? ''}`);
      return hubError({
        code: 'forbidden',
        message: early ? `${what} is in early access on Civitai (HTTP 403).` : `Civitai refused access to ${what} (HTTP 403).`,
        hint: early ? 'It becomes public when the early-access period ends, or buy access on the site.' : 'This account may not download it.',
        details,
      });
    }
    case 404:
      return hubError({ code: 'not-found', message: `Civitai has no ${what}, or it is not published (HTTP 404).`, hint: 'Check the version id (the number after modelVersionId=).', details });
    case 410:
      return hubError({ code: 'gone', message: `${what} was archived or removed on Civitai (HTTP 410).`, details });
    case 429:
      return hubError({ code: 'rate-limited', message: `Civitai kept answering "too many requests" for ${what} (HTTP 429).`, hint: 'Wait a while (download limits reset daily), then try again.', details });
    default:
      return statusError({ status: failure.status, headers: failure.headers, urlForLog: failure.urlForLog });
  }
}

const SORTS: Record<NonNullable<CivitaiSearchParams['sort']>, string> = { downloads: 'Most Downloaded', recent: 'Newest', rating: 'Highest Rated' };

export function createCivitaiClient(params: CivitaiClientParams): CivitaiClient {
  const network = params.network ?? {};
  const endpoint = params.endpoint.replace(/\/+$/, '');
  const getJson = async (path: string, what: string, signal?: AbortSignal): Promise<unknown> =>
    (await fetchJson({ url: `${endpoint}${path}`, policy: params.policy, network, mapError: (failure) => civitaiError(failure, what), ...(signal === undefined ? {} : { signal }) })).json;

  const parseVersion = (json: unknown, what: string): CivitaiVersion => {
    const parsed = versionSchema.safeParse(json);
    if (!parsed.success) throw hubError({ code: 'invalid', message: `Civitai answered ${what} in an unexpected shape.`, hint: 'Check LORASMITH_CIVITAI_ENDPOINT.' });
    return toVersion(parsed.data);
  };

  return {
    endpoint,

    async version(versionId, signal) {
      checkId(versionId, 'version id');
      const what = `model version ${versionId}`;
      const version = parseVersion(await getJson(`/api/v1/model-versions/${versionId}`, what, signal), what);
      if (version.id !== versionId) throw hubError({ code: 'invalid', message: `Civitai answered version ${version.id} when asked for ${versionId}.` });
      return version;
    },

    async model(modelId, signal) {
      checkId(modelId, 'model id');
      const parsed = modelSchema.safeParse(await getJson(`/api/v1/models/${modelId}`, `model ${modelId}`, signal));
      if (!parsed.success) throw hubError({ code: 'invalid', message: `Civitai answered model ${modelId} in an unexpected shape.`, hint: 'Check LORASMITH_CIVITAI_ENDPOINT.' });
      const raw = parsed.data;
      if (raw.id !== modelId) throw hubError({ code: 'invalid', message: `Civitai answered model ${raw.id} when asked for ${modelId}.` });
      const commercial = raw.allowCommercialUse;
      return {
        id: raw.id,
        name: raw.name,
        type: raw.type ?? null,
        creator: raw.creator?.username ?? null,
        license: {
          allowCommercialUse: (commercial === undefined || commercial === null ? [] : Array.isArray(commercial) ? commercial : [commercial]).filter((use) => use !== 'None'),
          allowNoCredit: raw.allowNoCredit ?? null,
          allowDerivatives: raw.allowDerivatives ?? null,
          allowDifferentLicense: raw.allowDifferentLicense ?? null,
        },
      };
    },

    async byHash(hash, signal) {
      if (!Object.values(HASH_SHAPES).some((shape) => shape.test(hash))) {
        throw hubError({ code: 'invalid', message: 'A Civitai hash is 8, 10, 12 or 64 hex digits.', details: { rule: 'CV-R01' } });
      }
      try {
        return parseVersion(await getJson(`/api/v1/model-versions/by-hash/${hash.toUpperCase()}`, `the file with hash ${hash.slice(0, 12)}`, signal), 'a by-hash lookup');
      } catch (error) {
        if (error instanceof Error && 'code' in error && (error as { code: unknown }).code === 'not-found') return null;
        throw error;
      }
    },

    async search({ query, types = [], baseModel, sort = 'downloads', limit = 20, nsfw = false, signal }) {
      const url = new URLSearchParams();
      url.set('limit', String(Math.max(1, Math.min(limit, 100))));
      if (query !== undefined && query !== '') url.set('query', query.slice(0, 200));
      for (const type of types) url.append('types', type);
      if (baseModel !== undefined) url.append('baseModels', baseModel);
      url.set('sort', SORTS[sort]);
      url.set('nsfw', nsfw ? 'true' : 'false');
      const parsed = searchSchema.safeParse(await getJson(`/api/v1/models?${url.toString()}`, 'the model search', signal));
      if (!parsed.success) throw hubError({ code: 'invalid', message: 'Civitai answered the model search in an unexpected shape.' });
      return parsed.data.items
        .filter((item) => nsfw || item.nsfw !== true)
        .slice(0, limit)
        .map((item) => ({
          id: item.id,
          name: item.name,
          type: item.type ?? null,
          nsfw: item.nsfw === true,
          creator: item.creator?.username ?? null,
          downloads: item.stats?.downloadCount ?? 0,
          versions: (item.modelVersions ?? []).map((v) => ({ id: v.id, name: v.name ?? null, baseModel: v.baseModel ?? null })),
        }));
    },

    async me(signal) {
      if (params.policy.credential === undefined) {
        throw hubError({ code: 'auth-required', message: 'No Civitai API key is saved.', hint: 'Save one with `lorasmith login civitai` or set CIVITAI_TOKEN.' });
      }
      const json = await getJson('/api/v1/me', 'the API key check', signal);
      return { username: bodyText(json, 'username') ?? null };
    },

    downloadUrl(versionId, fileId) {
      checkId(versionId, 'version id');
      checkId(fileId, 'file id');
      return `${endpoint}/api/download/models/${versionId}?fileId=${fileId}`;
    },

    downloadFetch(base = network.fetchImpl ?? safeFetch) {
      return async (request) => {
        const response = await base(request);
        const landed = response.url;
        const onApi = params.policy.apiHosts.some((host) => {
          const port = landed.port === '' ? '' : `:${landed.port}`;
          return `${landed.hostname}${port}` === host || landed.hostname === host;
        });
        if (onApi && /^\/login(?:\/|$)/.test(landed.pathname)) {
          response.dispose();
          throw hubError({
            code: 'auth-required',
            message: 'Civitai sent the download to its login page: this file needs a logged-in account.',
            hint: 'Save an API key with `lorasmith login civitai`.',
            details: { rule: 'CV-R03' },
          });
        }
        if (response.status === 401 || response.status === 403 || response.status === 404 || response.status === 410) {
          response.dispose();
          throw civitaiError({ status: response.status, headers: response.headers, urlForLog: response.urlForLog, body: undefined, credentialSent: response.credentialSent }, 'this download');
        }
        return response;
      };
    },
  };
}
