/**
 * Shapes of the hub routes (`/api/hub/*`, `/api/pulls`) and the `pull` task, plus small helpers for
 * showing them. Everything a hub sends (names, tags, file names) is shown as text; the only links the
 * page builds go to https://huggingface.co/… or https://civitai.com/…, and only after `safeHubUrl`.
 */
import { matchesAny as serverMatchesAny } from '../../../../src/hub/glob.ts';
import type {
  CivitaiModelSummary,
  HfModelSummary,
  PullResult as ServerPullResult,
  RepoFileListing,
  VersionListing,
} from '../../../../src/hub/hub-api-types.ts';
import type { TaskRecord } from '../../types.ts';

export type Provider = 'hf' | 'civitai';

export type { CivitaiModelSummary as CivitaiSummary, HfModelSummary as HfSummary };

export type SearchResponse = { provider: 'hf'; results: HfModelSummary[] } | { provider: 'civitai'; results: CivitaiModelSummary[] };

export type HfFilesResponse = RepoFileListing;
/** `source` is `hf:<repo>@<commit>:<path>`, pinned to the listed commit. */
export type HfFile = RepoFileListing['files'][number];

/** A version's file as the route sends it (`source` is `civitai:<versionId>:<fileId>`); its hashes as a plain record. */
export type CivitaiFile = Omit<VersionListing['files'][number], 'hashes'> & { hashes: Record<string, string> };
export type CivitaiVersion = Omit<VersionListing, 'files'> & { files: CivitaiFile[] };

export interface PullRequestBody {
  source: string;
  include?: string[];
}

/** The `pull` task's params as the task list returns them (`confirms` only on a confirmation). */
export interface PullParams {
  source?: string;
  include?: string[];
  confirms?: string;
}

/** The `pull` task's result, read defensively from the task record: an unexpected provider is shown as text. */
export type PullResult = Omit<ServerPullResult, 'provider'> & { provider: string };

export interface PullTask extends TaskRecord {
  params?: unknown;
}

export const PULL_KIND = 'pull';

export function pullParams(task: PullTask): PullParams {
  const params = task.params;
  if (typeof params !== 'object' || params === null) return {};
  const { source, include, confirms } = params as Record<string, unknown>;
  return {
    ...(typeof source === 'string' ? { source } : {}),
    ...(Array.isArray(include) ? { include: include.filter((g): g is string => typeof g === 'string') } : {}),
    ...(typeof confirms === 'string' ? { confirms } : {}),
  };
}

export function pullResult(task: PullTask): PullResult | null {
  const result = task.result;
  if (typeof result !== 'object' || result === null) return null;
  const r = result as Partial<PullResult>;
  if (r.state !== 'stored' && r.state !== 'awaiting-confirmation') return null;
  return {
    state: r.state,
    provider: typeof r.provider === 'string' ? r.provider : '',
    source: typeof r.source === 'string' ? r.source : '',
    revision: typeof r.revision === 'string' ? r.revision : null,
    civitaiFile: r.civitaiFile ?? null,
    files: Array.isArray(r.files) ? r.files : [],
    models: Array.isArray(r.models) ? r.models : [],
    duplicates: Array.isArray(r.duplicates) ? r.duplicates : [],
    verified: r.verified === true,
    pendingReason: typeof r.pendingReason === 'string' ? r.pendingReason : null,
  };
}

/** What a download shows as its state: the task's state, refined by the pull's `detail`. */
export type DownloadState =
  | 'queued'
  | 'fetching'
  | 'verifying'
  | 'scanning'
  | 'converting'
  | 'stored'
  | 'awaiting-confirmation'
  | 'confirmed'
  | 'discarded'
  | 'failed'
  | 'cancelled'
  | 'interrupted';

export type Resolution = 'confirmed' | 'discarded' | 'gone';

const RUNNING_DETAILS = new Set(['fetching', 'verifying', 'scanning', 'converting']);

export function downloadState(task: PullTask, resolution: Resolution | undefined): DownloadState {
  switch (task.state) {
    case 'queued':
      return 'queued';
    case 'running':
      return task.detail !== null && RUNNING_DETAILS.has(task.detail) ? (task.detail as DownloadState) : task.detail === 'queued' ? 'queued' : 'fetching';
    case 'succeeded':
      if (task.detail === 'awaiting-confirmation' || pullResult(task)?.state === 'awaiting-confirmation') {
        return resolution === 'confirmed' ? 'confirmed' : resolution === 'discarded' || resolution === 'gone' ? 'discarded' : 'awaiting-confirmation';
      }
      return 'stored';
    default:
      return task.state;
  }
}

export const STATE_LABELS: Record<DownloadState, string> = {
  queued: 'queued',
  fetching: 'fetching',
  verifying: 'verifying',
  scanning: 'scanning',
  converting: 'converting',
  stored: 'stored',
  'awaiting-confirmation': 'awaiting confirmation',
  confirmed: 'confirmed',
  discarded: 'discarded',
  failed: 'failed',
  cancelled: 'cancelled',
  interrupted: 'interrupted',
};

/** The badge colour of each state (classes from the shared badge styles). */
export const STATE_BADGE: Record<DownloadState, string> = {
  queued: 'badge--queued',
  fetching: 'badge--running',
  verifying: 'badge--running',
  scanning: 'badge--running',
  converting: 'badge--running',
  stored: 'badge--succeeded',
  'awaiting-confirmation': 'badge--warn',
  confirmed: 'badge--neutral',
  discarded: 'badge--neutral',
  failed: 'badge--failed',
  cancelled: 'badge--cancelled',
  interrupted: 'badge--interrupted',
};

export function isActive(state: DownloadState): boolean {
  return state === 'queued' || state === 'fetching' || state === 'verifying' || state === 'scanning' || state === 'converting';
}

/** A pull source split for display; anything unexpected is shown as it came. */
export type ParsedSource =
  | { type: 'hf'; repo: string; revision: string; path: string }
  | { type: 'civitai'; versionId: string; fileId: string | null }
  | { type: 'other'; text: string };

export function parseSource(source: string): ParsedSource {
  const hf = /^hf:([^@:]+)(?:@([^:]+))?:(.*)$/.exec(source);
  if (hf) return { type: 'hf', repo: hf[1] ?? '', revision: hf[2] ?? 'main', path: hf[3] ?? '' };
  const civitai = /^civitai:(\d{1,10})(?::(\d{1,10}))?$/.exec(source);
  if (civitai) return { type: 'civitai', versionId: civitai[1] ?? '', fileId: civitai[2] ?? null };
  return { type: 'other', text: source };
}

/** A 40-hex commit is shortened the way git shows it. */
export function shortRevision(revision: string): string {
  return /^[0-9a-f]{40}$/i.test(revision) ? revision.slice(0, 12) : revision;
}

const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

/** The only hosts the page links to; any other URL is shown as text. */
export function safeHubUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.port !== '') return null;
  if (url.hostname !== 'huggingface.co' && url.hostname !== 'civitai.com') return null;
  return url.href;
}

export function hfRepoUrl(repo: string): string | null {
  return REPO_ID.test(repo) && !repo.includes('..') ? `https://huggingface.co/${repo}` : null;
}

export function civitaiModelUrl(modelId: number, versionId?: number): string | null {
  if (!Number.isSafeInteger(modelId) || modelId < 1) return null;
  const version = versionId !== undefined && Number.isSafeInteger(versionId) && versionId > 0 ? `?modelVersionId=${versionId}` : '';
  return `https://civitai.com/models/${modelId}${version}`;
}

/** The extension of a file name, lower-cased, without the dot ('' when it has none). */
function extension(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

export interface FormatGuess {
  label: string;
  /** ok: read as it is; convert: a pickle, scanned and converted; none: not a model file the library holds. */
  tone: 'ok' | 'convert' | 'none' | 'unknown';
}

/** A guess from the name only — the studio decides from the bytes when it imports the file. */
export function guessFormat(name: string): FormatGuess {
  switch (extension(name)) {
    case 'safetensors':
      return { label: 'safetensors', tone: 'ok' };
    case 'gguf':
      return { label: 'GGUF', tone: 'ok' };
    case 'onnx':
      return { label: 'ONNX', tone: 'ok' };
    case 'ckpt':
    case 'pt':
    case 'pth':
    case 'bin':
      return { label: 'pickle → safetensors', tone: 'convert' };
    case 'json':
    case 'txt':
    case 'md':
    case 'yaml':
    case 'yml':
    case 'png':
    case 'jpg':
    case 'jpeg':
    case 'webp':
    case 'gif':
    case 'py':
    case 'gitattributes':
    case 'model':
    case 'msgpack':
    case 'h5':
      return { label: 'not a model file', tone: 'none' };
    case '':
      return { label: 'no extension', tone: 'none' };
    default:
      return { label: extension(name), tone: 'unknown' };
  }
}

/** `base_model:…` tags of a Hub model (the relation prefix such as `adapter:` dropped). */
export function hfBaseModels(tags: string[]): string[] {
  const found: string[] = [];
  for (const tag of tags) {
    if (!tag.startsWith('base_model:')) continue;
    const value = tag.slice('base_model:'.length).replace(/^(adapter|finetune|merge|quantized):/, '');
    if (value !== '' && !found.includes(value)) found.push(value);
  }
  return found;
}

const HF_TYPE_TAGS = ['lora', 'diffusers', 'safetensors', 'gguf', 'onnx', 'stable-diffusion', 'stable-diffusion-xl', 'flux', 'text-to-image'];

/** A few well-known tags of a Hub model, for the results list. */
export function hfTypeTags(summary: HfModelSummary): string[] {
  return HF_TYPE_TAGS.filter((tag) => summary.tags.includes(tag) && tag !== summary.pipelineTag).slice(0, 3);
}

/**
 * The server's include-glob match (src/hub/glob.ts), to preview a selection. A glob the server would refuse
 * (one that does not compile, such as `[b-a]` while it is being typed) selects nothing here instead of throwing.
 */
export function matchesAny(relativePath: string, globs: readonly string[]): boolean {
  try {
    return serverMatchesAny(relativePath, globs);
  } catch {
    return false;
  }
}

/** Globs typed as one line: separated by commas or spaces. */
export function splitGlobs(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((glob) => glob.trim())
    .filter((glob) => glob !== '');
}

/** The folders of a listing (every parent of every file), sorted. */
export function foldersOf(paths: string[]): string[] {
  const folders = new Set<string>();
  for (const path of paths) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i += 1) folders.add(parts.slice(0, i).join('/'));
  }
  return [...folders].sort((a, b) => a.localeCompare(b));
}
