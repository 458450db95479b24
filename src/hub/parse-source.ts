/**
 * The source grammar of `pull` (DL-R12):
 *
 * - `hf:<repo-id>[@<revision>]:<path>`: the first `:` after the repo id (and revision) splits, so the path
 *   may hold `:`; a path ending in `/` (or empty) is a folder; revision default `main`. The web URLs
 *   `https://huggingface.co/<repo>/resolve/<rev>/<path>` and `…/blob/<rev>/<path>` mean the same
 *   (`<rev>` and each path segment percent-decoded).
 * - `civitai:<versionId>[:<fileId>]`, or a Civitai web URL carrying `modelVersionId`.
 * - any other `https` URL: allowed only on a host the settings allow, with an expected SHA-256 or an
 *   explicit acceptance of an unverified file (checked by `assertUrlSourceAllowed`).
 *
 * Repo ids and revisions follow HF-R01, paths HF-R04; raw URLs DL-R10. Anything else is refused with the
 * accepted forms.
 */
import { LorasmithError } from '../core/errors.ts';
import { repoIdProblem, repoPathProblem, revisionProblem } from './hf/hf-names.ts';
import { checkUrl, hostMatches, rawUrlProblem, type ProviderPolicy } from './url-policy.ts';

export type PullSource =
  | {
      type: 'hf';
      repo: string;
      /** As given (a branch, tag, `refs/pr/N` or commit); resolved to a commit before any download (HF-R02). */
      revision: string;
      /** The repo path; '' for the repository root (a folder). No trailing `/`. */
      path: string;
      /** A folder: every file below it (narrowed by include globs). */
      folder: boolean;
    }
  | { type: 'civitai'; versionId: number; fileId?: number }
  | { type: 'url'; /** Re-serialised (DL-R10). */ url: string; host: string };

export interface ParseSourceOptions {
  /** Hosts (`host[:port]`) whose `/resolve/` and `/blob/` URLs are Hugging Face sources. Default huggingface.co, hf.co. */
  hfHosts?: string[];
  /** Hosts whose `/models/<id>?modelVersionId=` URLs are Civitai sources. Default civitai.com, civitai.red. */
  civitaiHosts?: string[];
}

export const DEFAULT_HF_WEB_HOSTS: readonly string[] = ['huggingface.co', 'hf.co'];
export const DEFAULT_CIVITAI_WEB_HOSTS: readonly string[] = ['civitai.com', 'civitai.red'];

export const ACCEPTED_SOURCES = [
  'hf:<repo-id>[@<revision>]:<path>   (a path ending in / is a folder)',
  'https://huggingface.co/<repo-id>/resolve/<revision>/<path>  (or /blob/)',
  'civitai:<versionId>[:<fileId>]',
  'https://civitai.com/models/<id>[/<slug>]?modelVersionId=<versionId>',
  'https://<allowed host>/<path> with --sha256 HEX or --accept-unverified',
];

const MAX_ID = 2 ** 31 - 1;

export function sourceError(raw: string, reason: string): LorasmithError {
  const shown = raw.replace(/[^\x20-\x7e]/g, '?').replace(/[?#].*$/, '').slice(0, 120);
  return new LorasmithError({
    code: 'invalid-source',
    message: `The source ${JSON.stringify(shown)} was refused: ${reason}.`,
    hint: `Accepted forms: ${ACCEPTED_SOURCES.join('; ')}.`,
    exitCode: 2,
    status: 400,
    details: { rule: 'DL-R12' },
  });
}

/** A Civitai id (CV-R01): a positive decimal integer ≤ 2^31−1, no sign, no leading zero. */
export function parseCivitaiId(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= MAX_ID ? value : undefined;
}

function hfSource(raw: string, repo: string, revision: string, repoPath: string): PullSource {
  const repoProblem = repoIdProblem(repo);
  if (repoProblem !== undefined) throw sourceError(raw, `the repo id: ${repoProblem}`);
  const revProblem = revisionProblem(revision);
  if (revProblem !== undefined) throw sourceError(raw, `the revision: ${revProblem}`);
  const folder = repoPath === '' || repoPath.endsWith('/');
  const trimmed = folder ? repoPath.replace(/\/$/, '') : repoPath;
  if (trimmed !== '' || !folder) {
    const pathProblem = repoPathProblem(trimmed);
    if (pathProblem !== undefined) throw sourceError(raw, `the path: ${pathProblem}`);
  }
  return { type: 'hf', repo, revision, path: trimmed, folder };
}

function parseHfScheme(raw: string): PullSource {
  const rest = raw.slice('hf:'.length);
  const repoEnd = rest.search(/[@:]/);
  if (repoEnd === -1) throw sourceError(raw, 'a Hugging Face source needs ":<path>" after the repo id');
  const repo = rest.slice(0, repoEnd);
  let revision = 'main';
  let afterRepo = rest.slice(repoEnd);
  if (afterRepo.startsWith('@')) {
    const colon = afterRepo.indexOf(':');
    if (colon === -1) throw sourceError(raw, 'a Hugging Face source needs ":<path>" after the revision');
    revision = afterRepo.slice(1, colon);
    afterRepo = afterRepo.slice(colon);
  }
  return hfSource(raw, repo, revision, afterRepo.slice(1));
}

function parseCivitaiScheme(raw: string): PullSource {
  const parts = raw.slice('civitai:'.length).split(':');
  if (parts.length > 2) throw sourceError(raw, 'use civitai:<versionId>[:<fileId>]');
  const versionId = parseCivitaiId(parts[0] ?? '');
  if (versionId === undefined) throw sourceError(raw, 'the version id must be a positive integer below 2^31');
  if (parts.length === 1) return { type: 'civitai', versionId };
  const fileId = parseCivitaiId(parts[1] ?? '');
  if (fileId === undefined) throw sourceError(raw, 'the file id must be a positive integer below 2^31');
  return { type: 'civitai', versionId, fileId };
}

function decodeSegment(raw: string, segment: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    throw sourceError(raw, 'a path segment has a broken percent escape');
  }
  return decoded;
}

function parseHfUrl(raw: string, url: URL): PullSource {
  const segments = url.pathname.split('/').slice(1);
  const kindAt = segments[1] === 'resolve' || segments[1] === 'blob' ? 1 : segments[2] === 'resolve' || segments[2] === 'blob' ? 2 : -1;
  if (kindAt === -1) throw sourceError(raw, 'a Hugging Face URL must be a /resolve/ or /blob/ file URL of a model repository');
  const repo = segments.slice(0, kindAt).map((segment) => decodeSegment(raw, segment)).join('/');
  const revisionSegment = segments[kindAt + 1];
  const pathSegments = segments.slice(kindAt + 2);
  if (revisionSegment === undefined || revisionSegment === '' || pathSegments.length === 0) throw sourceError(raw, 'the URL names no revision and file');
  const revision = decodeSegment(raw, revisionSegment);
  const decoded = pathSegments.map((segment) => decodeSegment(raw, segment));
  if (decoded.some((segment) => segment.includes('/'))) throw sourceError(raw, 'a path segment decodes to "/"');
  return hfSource(raw, repo, revision, decoded.join('/'));
}

function parseCivitaiUrl(raw: string, url: URL): PullSource {
  const match = /^\/models\/([1-9][0-9]{0,9})(?:\/[^/]*)?\/?$/.exec(url.pathname);
  if (match === null || parseCivitaiId(match[1] ?? '') === undefined) throw sourceError(raw, 'a Civitai URL must be https://civitai.com/models/<id>?modelVersionId=<versionId>');
  const versions = url.searchParams.getAll('modelVersionId');
  if (versions.length !== 1) throw sourceError(raw, 'the Civitai URL must carry exactly one modelVersionId');
  const versionId = parseCivitaiId(versions[0] ?? '');
  if (versionId === undefined) throw sourceError(raw, 'modelVersionId must be a positive integer below 2^31');
  return { type: 'civitai', versionId };
}

function hostKey(url: URL): { host: string; port: number } {
  const host = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  return { host: host.replace(/^\[|\]$/g, ''), port: url.port === '' ? 443 : Number(url.port) };
}

/** Parse a `pull` source (DL-R12). Throws `invalid-source` (exit 2) with the accepted forms. */
export function parseSource(raw: string, options: ParseSourceOptions = {}): PullSource {
  const text = raw.trim();
  if (text.startsWith('hf:')) return parseHfScheme(text);
  if (text.startsWith('civitai:')) return parseCivitaiScheme(text);
  if (!/^https?:/i.test(text)) throw sourceError(text, 'it is not hf:…, civitai:… or an https URL');
  const problem = rawUrlProblem(text);
  if (problem !== undefined) throw sourceError(text, problem);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw sourceError(text, 'it is not a valid URL');
  }
  if (url.protocol !== 'https:') throw sourceError(text, 'only https URLs are accepted');
  if (url.username !== '' || url.password !== '') throw sourceError(text, 'it carries user information');
  const { host, port } = hostKey(url);
  if (hostMatches(host, port, options.hfHosts ?? DEFAULT_HF_WEB_HOSTS)) return parseHfUrl(text, url);
  if (hostMatches(host, port, options.civitaiHosts ?? DEFAULT_CIVITAI_WEB_HOSTS)) return parseCivitaiUrl(text, url);
  url.hash = '';
  if (url.hostname.endsWith('.')) url.hostname = url.hostname.slice(0, -1);
  return { type: 'url', url: url.href, host };
}

export interface UrlSourceCheck {
  /** The policy of plain https URLs (buildUrlPolicy from the settings' allowed hosts). */
  policy: ProviderPolicy;
  sha256?: string;
  acceptUnverified?: boolean;
}

/** DL-R12 for a plain URL: an allowed host, and `--sha256` or `--accept-unverified`. Returns the checked href. */
export function assertUrlSourceAllowed(source: Extract<PullSource, { type: 'url' }>, check: UrlSourceCheck): string {
  if (check.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(check.sha256)) throw sourceError(source.url, '--sha256 must be 64 hex digits');
  if (check.sha256 === undefined && check.acceptUnverified !== true) {
    throw sourceError(source.url, 'a plain URL has no provider digest: give --sha256 HEX (the expected digest) or --accept-unverified');
  }
  return checkUrl({ url: source.url, policy: check.policy }).href;
}
