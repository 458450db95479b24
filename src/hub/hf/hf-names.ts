/**
 * Hugging Face names (HF-R01, HF-R04, HF-R07): repo ids, revisions and repo paths are checked locally
 * before they reach a URL or the filesystem; resolve URLs encode the revision completely and the path
 * per segment.
 */
import { hubError } from '../hub-error.ts';

const REPO_PART = /^[A-Za-z0-9._-]{1,96}$/;
const COMMIT = /^[0-9a-f]{40}$/;
const REVISION = /^[A-Za-z0-9._/-]{1,200}$/;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
// C0, DEL, C1 controls; bidi and zero-width characters (ARC-R07).
const FORBIDDEN_IN_PATH = /[\u0000-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/** Why a repo id is refused (HF-R01), or undefined when it is acceptable. */
export function repoIdProblem(repo: string): string | undefined {
  const parts = repo.split('/');
  if (parts.length > 2) return 'a repo id has at most one "/" (namespace/name)';
  for (const part of parts) {
    if (!REPO_PART.test(part)) return 'each part must be 1–96 characters of A–Z, a–z, 0–9, ".", "_" or "-"';
    if (/^[-.]|[-.]$/.test(part)) return 'a part may not start or end with "-" or "."';
    if (part.includes('--') || part.includes('..')) return 'a part may not contain "--" or ".."';
  }
  if (repo.endsWith('.git')) return 'it may not end with ".git"';
  return undefined;
}

/** Why a revision is refused (HF-R01), or undefined. */
export function revisionProblem(revision: string): string | undefined {
  if (COMMIT.test(revision)) return undefined;
  if (!REVISION.test(revision)) return 'a revision is a 40-hex commit or 1–200 characters of A–Z, a–z, 0–9, ".", "_", "/" or "-"';
  if (revision.includes('..')) return 'a revision may not contain ".."';
  if (revision.startsWith('/') || revision.startsWith('-')) return 'a revision may not start with "/" or "-"';
  return undefined;
}

export function isCommit(value: string): boolean {
  return COMMIT.test(value);
}

/**
 * Why a repo path is refused (HF-R04: `_validate_relative_filename` under POSIX and Windows rules, plus
 * ARC-R01/R07 for each segment), or undefined. `a/./b`, `a//b`, `../x`, `/x`, `a\b`, `C:x`, `\\h\s` are refused.
 */
export function repoPathProblem(repoPath: string): string | undefined {
  if (repoPath.length === 0) return 'the path is empty';
  if (Buffer.byteLength(repoPath) > 1024) return 'the path is longer than 1024 bytes';
  if (repoPath.includes('\\')) return 'the path contains a backslash';
  if (FORBIDDEN_IN_PATH.test(repoPath)) return 'the path contains a control, bidi or zero-width character';
  if (repoPath.startsWith('/')) return 'the path is absolute';
  const segments = repoPath.split('/');
  if (/^[A-Za-z]:/.test(segments[0] ?? '')) return 'the path starts with a drive name';
  for (const segment of segments) {
    if (segment === '') return 'the path has an empty segment';
    if (segment === '.' || segment === '..') return 'the path has a "." or ".." segment';
    if (Buffer.byteLength(segment) > 200) return 'a path segment is longer than 200 bytes';
    if (WINDOWS_RESERVED.test(segment)) return 'a path segment is a reserved device name';
    if (/[. ]$/.test(segment)) return 'a path segment ends with a dot or a space';
  }
  return undefined;
}

export function assertRepoId(repo: string): void {
  const problem = repoIdProblem(repo);
  if (problem !== undefined) throw hubError({ code: 'invalid', message: `The repo id ${JSON.stringify(repo.slice(0, 120))} was refused: ${problem}.`, details: { rule: 'HF-R01' } });
}

export function assertRevision(revision: string): void {
  const problem = revisionProblem(revision);
  if (problem !== undefined) throw hubError({ code: 'invalid', message: `The revision ${JSON.stringify(revision.slice(0, 120))} was refused: ${problem}.`, details: { rule: 'HF-R01' } });
}

export function assertRepoPath(repoPath: string): void {
  const problem = repoPathProblem(repoPath);
  if (problem !== undefined) {
    throw hubError({
      code: 'invalid',
      message: `The repo path ${JSON.stringify(repoPath.slice(0, 120))} was refused: ${problem}.`,
      hint: 'lorasmith only writes files whose repository paths are plain relative names.',
      details: { rule: 'HF-R04' },
    });
  }
}

/** HF-R07: each segment percent-encoded, `/` kept. */
export function encodeRepoPath(repoPath: string): string {
  return repoPath.split('/').map(encodeURIComponent).join('/');
}

/** The repo id as a folder name (DL-R08): `owner/name` → `owner--name`. */
export function repoFolderName(repo: string): string {
  return repo.replace('/', '--');
}

/** `<endpoint>/<repo>/resolve/<revision>/<path>`, the revision encoded completely, the path per segment. */
export function resolveUrl(endpoint: string, repo: string, revision: string, repoPath: string): string {
  assertRepoId(repo);
  assertRevision(revision);
  assertRepoPath(repoPath);
  return `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${encodeRepoPath(repoPath)}`;
}
