/**
 * The installer's pins (DESIGN.md §4: "every file hash-pinned"), kept in the repository under
 * `src/training/engines/locks/`:
 * - pip requirement locks (`torch-<version>-<tag>.txt`, `kohya-<commit12>.txt`, `fluxflow.txt`), installed with
 *   `pip install --require-hashes --no-deps`: every line an exact `==` pin with at least one `--hash=sha256:`,
 *   no option lines (an `--index-url` or `-e` inside would widen what pip may fetch). `checkRequirementsLock`
 *   says what is wrong before anything runs, and the installer refuses such a lock;
 * - `startup-files.json`: the files each engine would fetch from the Hub at start (tokenizers), each set pinned
 *   to a Hub commit and each file to its SHA-256 and size, fetched through hub/ at install.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { errnoCode, LorasmithError } from '../../../core/errors.ts';
import { repoIdProblem, repoPathProblem } from '../../../hub/hf/hf-names.ts';

/** `src/training/engines/locks`, where this checkout's pins are. */
export const LOCKS_DIR = path.resolve(fileURLToPath(new URL('../locks', import.meta.url)));
export const STARTUP_FILES_LOCK = 'startup-files.json';

const MAX_LOCK_BYTES = 4 * 1024 * 1024;
const SHA256 = /^[0-9a-f]{64}$/;

export interface RequirementsLockCheck {
  file: string;
  /** `missing`: no such file; `invalid`: lines that are not hash-pinned requirements; null: usable. */
  problem: 'missing' | 'invalid' | null;
  requirements: number;
  /** One sentence per offending line (the first few), each naming the line. */
  findings: string[];
}

/** pip's logical lines: `\` continuations joined, comments (`#` at the start or after a space) dropped. */
function logicalLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let current = '';
  let start = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const uncommented = raw.replace(/(^|\s)#.*$/, '');
    if (current === '') start = index + 1;
    if (/\\\s*$/.test(uncommented)) {
      current += `${uncommented.replace(/\\\s*$/, '')} `;
      return;
    }
    current += uncommented;
    if (current.trim() !== '') out.push({ line: start, text: current.trim() });
    current = '';
  });
  if (current.trim() !== '') out.push({ line: start, text: current.trim() });
  return out;
}

const REQUIREMENT = /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[A-Za-z0-9._,\s-]*\])?\s*(===?)\s*([A-Za-z0-9.+!_-]+)\s*(;(?:(?!--hash).)*)?((?:\s+--hash=[a-z0-9]+:[0-9a-fA-F]+)*)\s*$/;

export async function checkRequirementsLock(file: string): Promise<RequirementsLockCheck> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { file, problem: 'missing', requirements: 0, findings: [`${path.basename(file)} does not exist.`] };
    throw error;
  }
  if (Buffer.byteLength(text) > MAX_LOCK_BYTES) return { file, problem: 'invalid', requirements: 0, findings: [`${path.basename(file)} is larger than a lock file can be.`] };
  const findings: string[] = [];
  let requirements = 0;
  for (const { line, text: logical } of logicalLines(text)) {
    const where = `${path.basename(file)}:${line}`;
    const name = logical.split(/[\s=<>!~;[]/)[0] ?? logical;
    if (logical.startsWith('-')) {
      findings.push(`${where}: option lines (${logical.split(/\s/)[0]}) are not allowed: the installer names the index itself, and editable or nested requirements cannot be hash-checked.`);
      continue;
    }
    requirements += 1;
    const match = REQUIREMENT.exec(logical);
    if (match === null) {
      findings.push(`${where}: ${name} is not pinned to one version (name==version).`);
      continue;
    }
    const hashes = (match[6] ?? '').trim().split(/\s+/).filter((part) => part !== '');
    const sha256 = hashes.filter((hash) => /^--hash=sha256:[0-9a-fA-F]{64}$/.test(hash));
    if (sha256.length === 0) findings.push(`${where}: ${name}==${match[4]} has no --hash=sha256:… (pip would not check what it downloads).`);
    else if (sha256.length !== hashes.length) findings.push(`${where}: ${name} has a hash that is not a SHA-256.`);
  }
  if (requirements === 0) findings.push(`${path.basename(file)} lists no requirement.`);
  return { file, problem: findings.length === 0 ? null : 'invalid', requirements, findings };
}

const repoId = z.string().refine((value) => repoIdProblem(value) === undefined, 'a Hub repository id (owner/name)');
const repoPath = z.string().refine((value) => repoPathProblem(value) === undefined, 'a plain relative repository path');

const startupFileSchema = z
  .object({
    path: repoPath,
    sha256: z.string().regex(SHA256).nullable(),
    size: z.number().int().nonnegative().nullable(),
  })
  .strict();

const startupSetSchema = z
  .object({
    repo: repoId,
    /** The id the engine asks transformers for, when it differs from the canonical repo (names the Hub-cache folder). */
    cacheName: repoId.optional(),
    /** The Hub commit (40 hex) the files are taken from; null until pinned. */
    revision: z.string().regex(/^[0-9a-f]{40}$/).nullable(),
    /** Files come from this folder of the repository and land flattened (sd-scripts' SD 2 tokenizer). */
    subfolder: repoPath.optional(),
    /** `folder`: `<cache>/<owner>_<name>/` (sd-scripts' tokenizer_cache_dir); `hub-cache`: `models--…/snapshots/<commit>/`. */
    layout: z.enum(['folder', 'hub-cache']),
    /** A gated repository: needs a Hub token whose account accepted the licence. */
    gated: z.boolean(),
    /** Which model families need it, for the plan. */
    families: z.string().min(1).max(200),
    files: z.array(startupFileSchema).min(1).max(50),
  })
  .strict();

export const startupFilesLockSchema = z
  .object({
    $comment: z.string().optional(),
    kohya: z.array(startupSetSchema),
    fluxflow: z.array(startupSetSchema),
  })
  .strict();

export type StartupFileSet = z.infer<typeof startupSetSchema>;
export type StartupFilesLock = z.infer<typeof startupFilesLockSchema>;

export async function readStartupFilesLock(locksDir: string = LOCKS_DIR): Promise<StartupFilesLock> {
  const file = path.join(locksDir, STARTUP_FILES_LOCK);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new LorasmithError({
      code: 'engine-lock-unreadable',
      message: `The start-up files lock ${file} cannot be read (${errnoCode(error) ?? (error instanceof Error ? error.message : String(error))}).`,
      hint: 'Restore it from the lorasmith repository (src/training/engines/locks/).',
    });
  }
  const checked = startupFilesLockSchema.safeParse(parsed);
  if (!checked.success) {
    throw new LorasmithError({ code: 'engine-lock-unreadable', message: `The start-up files lock ${file} is invalid: ${z.prettifyError(checked.error)}`, hint: 'Restore it from the lorasmith repository (src/training/engines/locks/).' });
  }
  return checked.data;
}

/** Where one set's files go, and the Hub-cache ref that names its commit. */
export interface StartupFileTarget {
  /** Path in the repository. */
  path: string;
  /** Absolute file in the engine cache. */
  dest: string;
  sha256: string | null;
  size: number | null;
}

export function startupSetDir(set: StartupFileSet, cacheDir: string): string {
  // sd-scripts looks in <tokenizer_cache_dir>/<repo with "/" → "_">; transformers' Hub cache in models--<owner>--<name>.
  return set.layout === 'folder' ? path.join(cacheDir, set.repo.replaceAll('/', '_')) : path.join(cacheDir, `models--${(set.cacheName ?? set.repo).replaceAll('/', '--')}`);
}

export function startupFileTargets(set: StartupFileSet, cacheDir: string): { targets: StartupFileTarget[]; ref: { file: string; commit: string } | null } {
  const dir = startupSetDir(set, cacheDir);
  const targets = set.files.map((file) => {
    const repoFile = set.subfolder === undefined ? file.path : `${set.subfolder}/${file.path}`;
    const dest = set.layout === 'folder' ? path.join(dir, ...file.path.split('/')) : path.join(dir, 'snapshots', set.revision ?? '<unpinned>', ...file.path.split('/'));
    return { path: repoFile, dest, sha256: file.sha256, size: file.size };
  });
  return { targets, ref: set.layout === 'hub-cache' && set.revision !== null ? { file: path.join(dir, 'refs', 'main'), commit: set.revision } : null };
}

/** What keeps a set from being fetched: an unpinned commit, files without SHA-256 or size. */
export function startupSetProblems(set: StartupFileSet): string[] {
  const problems: string[] = [];
  if (set.revision === null) problems.push(`${set.repo} has no pinned Hub commit`);
  const unhashed = set.files.filter((file) => file.sha256 === null || file.size === null).map((file) => file.path);
  if (unhashed.length > 0) problems.push(`${set.repo}: ${unhashed.join(', ')} ${unhashed.length === 1 ? 'has' : 'have'} no SHA-256 and size`);
  return problems;
}
