/**
 * The Civitai API on the hub double (hub-downloads.md §3.1): `/api/v1/model-versions/<id>`, by-hash,
 * `/api/v1/models/<id>` (with the licence flags), model search, `/api/v1/me`, and the download route `/api/download/models/<versionId>` answering a 307
 * to an R2-style signed URL on another host (with a hostile Content-Disposition), pinned by `fileId`;
 * without `fileId` it picks by "preferences" — a different file than `primary` (CV-R07). JSON errors
 * for non-browser User-Agents, the `/login` redirect for browsers.
 */
import type { ServerResponse } from 'node:http';
import type { Handler, HubDouble } from './hub-double.ts';
import { serveBytes, sha256Hex } from './behaviours.ts';

export interface CivitaiFileSpec {
  id: number;
  name: string;
  content: Buffer;
  primary?: boolean;
  /** Hashes to list; default SHA256 + AutoV2 of the content. `null` lists none. */
  hashes?: Record<string, string> | null;
  sizeKB?: number;
  format?: string;
  /** Replace what the storage host serves. */
  serve?: Handler;
}

export interface CivitaiVersionSpec {
  versionId: number;
  modelId: number;
  files: CivitaiFileSpec[];
  baseModel?: string;
  trainedWords?: string[];
  /** The model's licence flags as `/api/v1/models/<id>` answers them; default: image use only, credit needed. */
  license?: { allowCommercialUse?: string[] | string; allowNoCredit?: boolean; allowDerivatives?: boolean; allowDifferentLicense?: boolean };
  modelName?: string;
  apiHost?: string;
  storageHost?: string;
  /** Answer the download route with this instead (401, 403, 404, 410, 429 …). */
  downloadAnswer?: Handler;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

export function civitaiHashes(content: Buffer): Record<string, string> {
  const sha = sha256Hex(content).toUpperCase();
  return { SHA256: sha, AutoV2: sha.slice(0, 10), CRC32: 'DEADBEEF' };
}

export function versionJson(spec: CivitaiVersionSpec, d: HubDouble): Record<string, unknown> {
  const api = spec.apiHost ?? 'mirror.test';
  return {
    id: spec.versionId,
    modelId: spec.modelId,
    name: 'v1.0',
    baseModel: spec.baseModel ?? 'SD 1.5',
    baseModelType: 'Standard',
    trainedWords: spec.trainedWords ?? ['sks dog'],
    status: 'Published',
    nsfwLevel: 1,
    model: { name: spec.modelName ?? 'Test LoRA', type: 'LORA', nsfw: false, poi: false },
    files: spec.files.map((file) => ({
      id: file.id,
      name: file.name,
      type: 'Model',
      sizeKB: file.sizeKB ?? file.content.length / 1024,
      metadata: { format: file.format ?? 'SafeTensor', size: 'pruned', fp: 'fp16' },
      pickleScanResult: 'Success',
      virusScanResult: 'Success',
      ...(file.hashes === null ? {} : { hashes: file.hashes ?? civitaiHashes(file.content) }),
      downloadUrl: d.url(api, `/api/download/models/${spec.versionId}`),
      primary: file.primary === true,
    })),
    images: [],
    downloadUrl: d.url(api, `/api/download/models/${spec.versionId}`),
  };
}

/** `GET /api/v1/models/<id>`: the model with its licence flags and this version. */
export function modelJson(spec: CivitaiVersionSpec): Record<string, unknown> {
  return {
    id: spec.modelId,
    name: spec.modelName ?? 'Test LoRA',
    description: '<p>hi</p>',
    type: 'LORA',
    poi: false,
    nsfw: false,
    allowNoCredit: false,
    allowCommercialUse: ['Image'],
    allowDerivatives: true,
    allowDifferentLicense: false,
    ...spec.license,
    creator: { username: 'alice' },
    stats: { downloadCount: 10 },
    modelVersions: [{ id: spec.versionId, name: 'v1.0', baseModel: spec.baseModel ?? 'SD 1.5' }],
  };
}

export function installCivitaiVersion(d: HubDouble, spec: CivitaiVersionSpec): void {
  const api = spec.apiHost ?? 'mirror.test';
  const storage = spec.storageHost ?? 'cdn2.test';
  d.route(api, `/api/v1/model-versions/${spec.versionId}`, (_req, res) => json(res, 200, versionJson(spec, d)));
  d.route(api, `/api/v1/models/${spec.modelId}`, (_req, res) => json(res, 200, modelJson(spec)));
  for (const file of spec.files) {
    d.route(api, `/api/v1/model-versions/by-hash/${sha256Hex(file.content).toUpperCase()}`, (_req, res) => json(res, 200, versionJson(spec, d)));
    d.route(api, `/api/v1/model-versions/by-hash/${sha256Hex(file.content).toUpperCase().slice(0, 10)}`, (_req, res) => json(res, 200, versionJson(spec, d)));
    d.route(storage, `/delivery/${file.id}`, file.serve ?? serveBytes(file.content, { etag: `"r2-${file.id}"`, headers: { 'content-disposition': 'attachment; filename="../../.bashrc"' } }));
  }
  d.route(api, `/api/download/models/${spec.versionId}`, (req, res, ctx) => {
    if (spec.downloadAnswer !== undefined) return spec.downloadAnswer(req, res, ctx);
    const fileId = ctx.url.searchParams.get('fileId');
    // Without fileId the server picks by the caller's saved preferences: not the primary file.
    const file = fileId === null ? spec.files.find((candidate) => candidate.primary !== true) ?? spec.files[0] : spec.files.find((candidate) => String(candidate.id) === fileId);
    if (file === undefined) return json(res, 404, { error: 'File not found' });
    const location = d.url(storage, `/delivery/${file.id}?X-Amz-Signature=sig${ctx.count}&X-Amz-Expires=86400&response-content-disposition=${encodeURIComponent('attachment; filename="../../.bashrc"')}`);
    res.writeHead(307, { location, 'cache-control': 'no-store', 'content-length': '0' });
    res.end();
  });
}

/** CV-A03: JSON 401 for non-browser clients, a `/login` redirect for browsers. */
export function loginWall(d: HubDouble, api = 'mirror.test'): Handler {
  return (req, res) => {
    if (/mozilla|chrome|safari/i.test(req.headers['user-agent'] ?? '')) {
      res.writeHead(307, { location: '/login?returnUrl=%2Fmodel-versions%2F1&reason=download-auth', 'content-length': '0' });
      res.end();
      return;
    }
    void d;
    void api;
    const body = JSON.stringify({ error: 'Unauthorized', message: 'The creator of this asset requires you to be logged in to download it' });
    res.writeHead(401, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  };
}
