/**
 * The one pull pipeline (DL-R01..R12, DESIGN.md §5): source → provider metadata (expected size and
 * SHA-256 or git blob id, or none) → free-disk check → `downloadToQuarantine` into
 * `quarantine/downloads/<task-id>/` (resumed after a broken connection, and after a restart under the
 * same id) → optional ClamAV scan → `importModel` into `models/<kind>/<source>/<id>/<rev>/<name>` with
 * provenance.
 *
 * Download states, reported through `report.detail`: `fetching → verifying → scanning → converting? →
 * stored`; `awaiting-confirmation` when a file has no provider digest (the files stay in quarantine
 * until `confirmPending` or `discardPending`); `failed` with the error's reason code.
 *
 * Multi-file pulls (`hf:<repo>@<rev>:<dir>/`, include globs) download and verify each file on its own,
 * from the listing of the one resolved commit (its own size, digest, quarantine file and validators),
 * then enter the library as ONE entry (`importModelSet`): the files keep their paths relative to the
 * pulled folder, under `models/<kind>/hf/<owner>--<name>/<commit>/`, and the entry is a diffusers
 * pipeline, a tagger or a set of weights by its content. Companion files (configs, tokenizer data) come
 * along; every weight file is scanned, and one refused file refuses the whole set — nothing of it
 * reaches `models/`.
 */
import { mkdir, readFile, rename, rm, statfs } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { SecurityEvents } from '../access/security-events.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { LorasmithError, isLorasmithError } from '../core/errors.ts';
import { sanitizeFileName } from '../core/file-names.ts';
import { formatBytes } from '../core/format-bytes.ts';
import { urlForLog } from '../core/redact.ts';
import type { Workspace } from '../core/workspace.ts';
import type { ModelKind } from '../formats/fingerprint/index.ts';
import { importModel, type ImportStep } from '../library/import-model.ts';
import { importModelSet, MAX_SET_FILES, sha256OfFile } from '../library/import-model-set.ts';
import type { ModelLibrary } from '../library/model-library.ts';
import type { ModelRecord, ModelSource } from '../library/model-record.ts';
import { chooseCivitaiFile, civitaiExpected } from './civitai/civitai-client.ts';
import { assertClamscanClean, findClamscan } from './clamscan.ts';
import { downloadToQuarantine, type DownloadExpected, type DownloadResult } from './download-file.ts';
import { matchesAny } from './glob.ts';
import { hfExpected, type HfFileEntry } from './hf/hf-client.ts';
import { repoFolderName } from './hf/hf-names.ts';
import type { PulledFile, PullResult } from './hub-api-types.ts';
import type { HubContext } from './hub-context.ts';
import { hubError } from './hub-error.ts';
import { defaultSleep } from './hub-network.ts';
import { assertUrlSourceAllowed, parseSource, sourceError, type PullSource } from './parse-source.ts';
import type { SafeFetchFn } from './safe-fetch.ts';
import type { ProviderPolicy } from './url-policy.ts';
import { StudioStopping } from '../tasks/task-types.ts';

export type { PulledFile, PullResult };

export const PULL_STATES = ['queued', 'fetching', 'verifying', 'scanning', 'converting', 'stored', 'awaiting-confirmation', 'failed', 'cancelled'] as const;
export type PullState = (typeof PULL_STATES)[number];

export type Provenance = NonNullable<ModelSource['provenance']>;

export interface PullRequest {
  source: string;
  kind?: ModelKind;
  include?: string[];
  /** The expected SHA-256 (plain URLs; for hub sources a check on top of the provider's). */
  sha256?: string;
  /** Store a file without a provider digest, marked unverified, without asking again. */
  acceptUnverified?: boolean;
}

export interface PullDeps {
  workspace: Workspace;
  library: ModelLibrary;
  securityEvents: SecurityEvents;
  /** Built when the pull starts (tokens are read then). */
  hub: () => Promise<HubContext>;
  /** Path of `clamscan`; `null` = never; undefined = look on PATH. */
  clamscan?: string | null;
  /** Free space probe (tests). */
  freeBytes?: (dir: string) => Promise<number>;
  /** Resumed attempts after a broken connection (default 3). */
  maxResumes?: number;
}

export interface PullReporter {
  detail(state: PullState): void;
  progress(update: { done: number; total: number | null; message: string | null }): void;
}

/** One file to fetch, with everything needed to import it later (also from the pending manifest). */
interface PlannedFile {
  url: string;
  policy: ProviderPolicy;
  expected: DownloadExpected;
  name: string;
  /** For a file of a multi-file pull: its path below the pulled folder, each segment sanitised. */
  relPath: string | null;
  from: string;
  location: { type: 'hf' | 'civitai' | 'url'; id: string; rev: string };
  provenance: Provenance;
  fetchImpl?: SafeFetchFn;
}

/** A multi-file pull's one library entry: its name and provenance (each file's digest is on the record). */
interface PlannedEntry {
  name: string;
  provenance: Provenance;
}

interface Plan {
  source: PullSource;
  revision: string | null;
  civitaiFile: { id: number; name: string } | null;
  files: PlannedFile[];
  /** Set when the pull selects several files: they become one entry. */
  entry: PlannedEntry | null;
}

const MANIFEST = 'pending.json';
const CLAIMED = 'pending.claimed.json';
/** Where a multi-file pull's files are laid out by their relative paths before they enter the library; sanitised names never hold ":". */
const ENTRY_DIR = 'entry:staging';
const MULTI_FILE_LIMIT = MAX_SET_FILES;
const provenanceSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));

const manifestSchema = z
  .object({
    v: z.literal(1),
    source: z.string().max(4096),
    sourceLabel: z.string().max(4096),
    kind: z.string().max(32).nullable(),
    reason: z.string().max(500),
    revision: z.string().max(200).nullable(),
    civitaiFile: z.object({ id: z.number().int(), name: z.string().max(1024) }).nullable(),
    files: z
      .array(
        z
          .object({
            name: z.string().min(1).max(255),
            relPath: z.string().min(1).max(4096).nullable().default(null),
            from: z.string().max(4096),
            size: z.number().int().nonnegative(),
            sha256: z.string().regex(/^[0-9a-f]{64}$/),
            verifiedBy: z.array(z.enum(['sha256', 'git-sha1'])),
            location: z.object({ type: z.enum(['hf', 'civitai', 'url']), id: z.string().min(1).max(300), rev: z.string().max(200) }).strict(),
            provenance: provenanceSchema,
          })
          .strict(),
      )
      .min(1)
      .max(MULTI_FILE_LIMIT),
    entry: z.object({ name: z.string().min(1).max(255), provenance: provenanceSchema }).strict().nullable().default(null),
  })
  .strict();
type Manifest = z.infer<typeof manifestSchema>;

/** `quarantine/downloads/<task-id>/`: one folder per pull, named by the task id (a UUID). */
export function pullQuarantineDir(workspace: Workspace, taskId: string): string {
  if (!/^[0-9a-zA-Z-]{1,64}$/.test(taskId)) throw new Error('a pull is keyed by its task id');
  return path.join(workspace.paths.areas.quarantine, 'downloads', taskId);
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/** The progress line: file, bytes, rate and ETA. */
export function progressMessage(name: string, done: number, total: number | null, bytesPerSecond: number): string {
  const amount = total === null ? formatBytes(done) : `${formatBytes(done)} of ${formatBytes(total)}`;
  const rate = bytesPerSecond > 0 ? `, ${formatBytes(bytesPerSecond)}/s` : '';
  const eta = total !== null && bytesPerSecond > 0 ? `, ETA ${formatEta((total - done) / bytesPerSecond)}` : '';
  return `${name}: ${amount}${rate}${eta}`;
}

/** A repo path below the pulled folder, each segment sanitised (ARC-R07): the file's place in the entry. */
function relativePath(repoPath: string, relativeTo: string): string {
  const relative = relativeTo === '' ? repoPath : repoPath.slice(relativeTo.length + 1);
  return relative.split('/').map((segment) => sanitizeFileName(segment)).join('/');
}

function unique(names: string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    const key = name.toLowerCase();
    if (seen.has(key)) throw hubError({ code: 'invalid', message: `Two files of this pull would share the name ${JSON.stringify(name.slice(0, 120))}.`, hint: 'Narrow the selection with --include.' });
    seen.add(key);
  }
}

function checkUserDigest(request: PullRequest, expected: DownloadExpected, what: string): DownloadExpected {
  if (request.sha256 === undefined) return expected;
  const given = request.sha256.toLowerCase();
  if (expected.sha256 !== undefined && expected.sha256.toLowerCase() !== given) {
    throw hubError({ code: 'integrity', message: `The --sha256 given does not match the SHA-256 the provider lists for ${what}.`, hint: 'Check the digest; nothing was downloaded.', details: { rule: 'DL-R06' } });
  }
  return { ...expected, sha256: given };
}

async function planHf(source: Extract<PullSource, { type: 'hf' }>, request: PullRequest, hub: HubContext, signal: AbortSignal): Promise<Plan> {
  const client = hub.hf.client;
  const commit = await client.resolveCommit(source.repo, source.revision, signal);
  const location = { type: 'hf' as const, id: repoFolderName(source.repo), rev: commit };
  const base: Provenance = { provider: 'hf', repo: source.repo, revision: source.revision, commit };
  let entries: HfFileEntry[];
  let folder = source.folder;
  if (!folder) {
    if (request.include !== undefined && request.include.length > 0) throw sourceError(request.source, '--include needs a folder source (a path ending in "/")');
    const entry = await client.pathInfo({ repo: source.repo, commit, path: source.path, signal });
    if (entry === null) throw hubError({ code: 'not-found', message: `${source.repo}@${commit.slice(0, 12)} has no file ${source.path}.`, hint: 'Check the path (a folder ends with "/").' });
    if (entry.type === 'directory') folder = true;
    entries = entry.type === 'directory' ? [] : [entry];
  } else entries = [];
  if (folder) {
    const listed = await client.listFiles({ repo: source.repo, commit, path: source.path, signal });
    const prefix = source.path === '' ? '' : `${source.path}/`;
    entries = listed.filter((entry) => entry.type === 'file' && matchesAny(entry.path.slice(prefix.length), request.include ?? []));
    if (entries.length === 0) throw hubError({ code: 'not-found', message: `No file of ${source.repo}@${commit.slice(0, 12)}:${prefix} matches the selection.`, hint: 'Check the folder and the --include globs.' });
    if (entries.length > MULTI_FILE_LIMIT) throw hubError({ code: 'invalid', message: `The selection holds ${entries.length} files; a pull takes at most ${MULTI_FILE_LIMIT}.`, hint: 'Narrow it with --include.' });
  }
  const multi = folder && entries.length > 1;
  const files = entries.map((entry): PlannedFile => {
    const relPath = multi ? relativePath(entry.path, source.path) : null;
    // In quarantine the files of one pull sit side by side: a relative path is flattened there.
    const name = relPath !== null ? relPath.replaceAll('/', '__') : sanitizeFileName(entry.path.slice(entry.path.lastIndexOf('/') + 1));
    const expected = folder ? hfExpected(entry) : checkUserDigest(request, hfExpected(entry), entry.path);
    return {
      url: client.resolveUrl(source.repo, commit, entry.path),
      policy: hub.hf.policy,
      expected,
      name,
      relPath,
      from: entry.path,
      location,
      provenance: {
        ...base,
        path: entry.path,
        size: expected.size ?? null,
        sha256: entry.lfs?.sha256 ?? null,
        gitBlobId: entry.lfs === null ? entry.oid : null,
        hubScanStatus: entry.securityStatus,
        ...(folder ? { pull: request.source.slice(0, 500) } : {}),
      },
    };
  });
  unique(files.map((file) => file.name));
  unique(files.map((file) => file.relPath ?? file.name));
  const repoName = source.repo.slice(source.repo.lastIndexOf('/') + 1);
  const entry: PlannedEntry | null = multi
    ? {
        name: sanitizeFileName(source.path === '' ? repoName : `${repoName}-${source.path.replaceAll('/', '-')}`),
        provenance: {
          ...base,
          path: source.path === '' ? '' : `${source.path}/`,
          include: (request.include ?? []).join(' ').slice(0, 2000) || null,
          pull: request.source.slice(0, 500),
          files: entries.length,
        },
      }
    : null;
  return { source, revision: commit, civitaiFile: null, files, entry };
}

async function planCivitai(source: Extract<PullSource, { type: 'civitai' }>, request: PullRequest, hub: HubContext, signal: AbortSignal): Promise<Plan> {
  if (request.include !== undefined && request.include.length > 0) throw sourceError(request.source, '--include applies to Hugging Face folders only');
  const client = hub.civitai.client;
  const version = await client.version(source.versionId, signal);
  const file = chooseCivitaiFile(version, source.fileId);
  const expected = checkUserDigest(request, civitaiExpected(file), `file ${file.id}`);
  return {
    source,
    revision: String(version.id),
    civitaiFile: { id: file.id, name: file.name },
    files: [
      {
        url: client.downloadUrl(version.id, file.id),
        policy: hub.civitai.policy,
        expected,
        name: sanitizeFileName(file.name),
        relPath: null,
        from: `file ${file.id} (${file.name.slice(0, 200)})`,
        location: { type: 'civitai', id: String(version.modelId), rev: String(version.id) },
        fetchImpl: client.downloadFetch(),
        provenance: {
          provider: 'civitai',
          modelId: version.modelId,
          versionId: version.id,
          fileId: file.id,
          fileName: file.name.slice(0, 300),
          modelName: version.modelName?.slice(0, 300) ?? null,
          versionName: version.name?.slice(0, 300) ?? null,
          baseModel: version.baseModel,
          trainedWords: version.trainedWords.join(', ').slice(0, 2000),
          sizeKB: file.sizeKB,
          sha256: file.hashes.SHA256?.toLowerCase() ?? null,
          autoV2: file.hashes.AutoV2 ?? null,
          format: file.format,
          pickleScanResult: file.pickleScanResult,
          virusScanResult: file.virusScanResult,
        },
      },
    ],
    entry: null,
  };
}

function planUrl(source: Extract<PullSource, { type: 'url' }>, request: PullRequest, hub: HubContext): Plan {
  if (request.include !== undefined && request.include.length > 0) throw sourceError(request.source, '--include applies to Hugging Face folders only');
  const href = assertUrlSourceAllowed(source, { policy: hub.url.policy, ...(request.sha256 === undefined ? {} : { sha256: request.sha256 }), ...(request.acceptUnverified === undefined ? {} : { acceptUnverified: request.acceptUnverified }) });
  const last = new URL(href).pathname.split('/').pop() ?? '';
  let name: string;
  try {
    name = sanitizeFileName(decodeURIComponent(last));
  } catch {
    name = 'download.bin';
  }
  return {
    source,
    revision: null,
    civitaiFile: null,
    files: [
      {
        url: href,
        policy: hub.url.policy,
        expected: request.sha256 === undefined ? {} : { sha256: request.sha256.toLowerCase() },
        name,
        relPath: null,
        from: urlForLog(href),
        location: { type: 'url', id: source.host, rev: '' },
        provenance: { provider: 'url', url: urlForLog(href), sha256: request.sha256?.toLowerCase() ?? null },
      },
    ],
    entry: null,
  };
}

async function defaultFreeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}

function isInterrupt(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return reason instanceof StudioStopping;
}

function cancelledError(): LorasmithError {
  return hubError({ code: 'cancelled', message: 'The pull was cancelled; nothing was kept.' });
}

interface ImportItem {
  file: string;
  name: string;
  relPath: string | null;
  sha256: string;
  location: { type: 'hf' | 'civitai' | 'url'; id: string; rev: string };
  provenance: Provenance;
}

/**
 * Into the library: one file through `importModel`; the files of a multi-file pull laid out by their
 * relative paths in a staging folder of the pull's quarantine and imported as one entry. Either way a
 * refusal leaves nothing in `models/`.
 */
async function importPulled(params: { items: ImportItem[]; entry: PlannedEntry | null; dir: string; deps: PullDeps; kind: ModelKind | undefined; report: PullReporter; signal: AbortSignal }): Promise<{ models: ModelRecord[]; duplicates: string[] }> {
  const { items, entry, deps, report, signal } = params;
  const first = items[0];
  if (first === undefined) throw new Error('a pull imports at least one file');
  const step = (importStep: ImportStep): void => {
    if (importStep === 'scanning' || importStep === 'converting') report.detail(importStep);
  };
  const common = {
    workspace: deps.workspace,
    library: deps.library,
    securityEvents: deps.securityEvents,
    ...(params.kind === undefined ? {} : { expectedKind: params.kind }),
    step,
    signal,
  };
  const location = { type: first.location.type, id: first.location.id, ...(first.location.rev === '' ? {} : { rev: first.location.rev }) };
  let result;
  if (entry === null) {
    result = await importModel({ ...common, file: first.file, name: first.name, source: { ...location, provenance: first.provenance } });
  } else {
    const staging = path.join(params.dir, ENTRY_DIR);
    const files: string[] = [];
    const knownSha256 = new Map<string, string>();
    for (const item of items) {
      const relPath = item.relPath ?? item.name;
      const to = path.join(staging, ...relPath.split('/'));
      await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
      await rename(item.file, to);
      files.push(relPath);
      knownSha256.set(relPath, item.sha256);
    }
    result = await importModelSet({ ...common, staging, files, knownSha256, name: entry.name, source: { ...location, provenance: entry.provenance } });
  }
  return { models: [result.model], duplicates: result.duplicate ? [result.model.id] : [] };
}

/** How the files were verified, for the provenance of a whole entry: `sha256`, `git-sha1`, both, or `none`. */
function verifiedByOf(lists: ReadonlyArray<readonly string[]>): string {
  const kinds = [...new Set(lists.flat())].sort((a, b) => b.localeCompare(a));
  return kinds.length === 0 ? 'none' : kinds.join('+');
}

function sourceLabel(source: PullSource): string {
  switch (source.type) {
    case 'hf':
      return `hf:${source.repo}@${source.revision}:${source.path}${source.folder && source.path !== '' ? '/' : ''}`;
    case 'civitai':
      return `civitai:${source.versionId}${source.fileId === undefined ? '' : `:${source.fileId}`}`;
    default:
      return urlForLog(source.url);
  }
}

export interface RunPullParams {
  request: PullRequest;
  deps: PullDeps;
  /** The task id: names the quarantine folder, so a restart under the same id resumes. */
  taskId: string;
  signal: AbortSignal;
  report: PullReporter;
}

/** Run one pull to `stored` or `awaiting-confirmation`; throws a typed error (the files are gone). */
export async function runPull(params: RunPullParams): Promise<PullResult> {
  const { request, deps, signal, report } = params;
  const dir = pullQuarantineDir(deps.workspace, params.taskId);
  let keep = false;
  try {
    if (request.sha256 !== undefined && request.acceptUnverified === true) throw sourceError(request.source, 'give either --sha256 or --accept-unverified, not both');
    if (request.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(request.sha256)) throw sourceError(request.source, '--sha256 must be 64 hex digits');
    report.detail('fetching');
    const hub = await deps.hub();
    const source = parseSource(request.source, hub.parseOptions);
    const plan = source.type === 'hf' ? await planHf(source, request, hub, signal) : source.type === 'civitai' ? await planCivitai(source, request, hub, signal) : planUrl(source, request, hub);
    if (signal.aborted) throw cancelledError();

    await mkdir(dir, { recursive: true, mode: 0o700 });
    const total = plan.files.every((file) => file.expected.size !== undefined) ? plan.files.reduce((sum, file) => sum + (file.expected.size ?? 0), 0) : null;
    if (total !== null) {
      const needed = Math.ceil(total * 1.1);
      const free = await (deps.freeBytes ?? defaultFreeBytes)(dir);
      if (free < needed) {
        throw hubError({ code: 'disk-full', message: `Not enough free space: the pull needs ${formatBytes(needed)}, ${formatBytes(free)} are free.`, hint: 'Free some disk space and pull again.', details: { needed, free } });
      }
    }
    const clamscan = deps.clamscan === undefined ? await findClamscan() : deps.clamscan;

    const results: DownloadResult[] = [];
    let doneBefore = 0;
    for (const file of plan.files) {
      report.detail('fetching');
      const result = await downloadWithResume(file, dir, hub, deps, signal, clamscan, (bytes, _fileTotal, rate) => {
        const done = doneBefore + bytes;
        report.progress({ done, total, message: progressMessage(file.name, done, total, rate) });
        if (file.expected.size !== undefined && bytes >= file.expected.size) report.detail('verifying');
      });
      results.push(result);
      doneBefore += result.size;
      report.detail('verifying');
    }

    const files: PulledFile[] = plan.files.map((file, index) => {
      const result = results[index] as DownloadResult;
      return { name: result.name, from: file.from, size: result.size, sha256: result.sha256, verifiedBy: result.verifiedBy, resumedFrom: result.resumedFrom };
    });
    const verified = results.every((result) => result.verified);
    const base = { provider: source.type, source: sourceLabel(source), revision: plan.revision, civitaiFile: plan.civitaiFile, files, verified };

    if (!verified && request.acceptUnverified !== true) {
      const reason =
        source.type === 'civitai'
          ? 'Civitai lists no SHA-256 for this file, so its integrity cannot be checked.'
          : source.type === 'url'
            ? 'No SHA-256 was given for this URL.'
            : 'The Hub listed no digest for a file of this pull.';
      const manifest: Manifest = {
        v: 1,
        source: request.source.slice(0, 4096),
        sourceLabel: sourceLabel(source),
        kind: request.kind ?? null,
        reason,
        revision: plan.revision,
        civitaiFile: plan.civitaiFile,
        files: plan.files.map((file, index) => {
          const result = results[index] as DownloadResult;
          return { name: result.name, relPath: file.relPath, from: file.from, size: result.size, sha256: result.sha256, verifiedBy: result.verifiedBy, location: file.location, provenance: file.provenance };
        }),
        entry: plan.entry,
      };
      await writeFileAtomic(path.join(dir, MANIFEST), JSON.stringify(manifest), 0o600);
      keep = true;
      report.detail('awaiting-confirmation');
      return { ...base, state: 'awaiting-confirmation', models: [], duplicates: [], pendingReason: reason };
    }

    report.detail('scanning');
    const unverified: Provenance = verified ? {} : { unverified: true, confirmedBy: 'accept-unverified' };
    const items: ImportItem[] = plan.files.map((file, index) => {
      const result = results[index] as DownloadResult;
      return {
        file: result.file,
        name: result.name,
        relPath: file.relPath,
        sha256: result.sha256,
        location: file.location,
        provenance: { ...file.provenance, verified: result.verified, verifiedBy: verifiedByOf([result.verifiedBy]), ...(result.verified ? {} : unverified), computedSha256: result.sha256 },
      };
    });
    const entry = plan.entry === null ? null : { ...plan.entry, provenance: { ...plan.entry.provenance, verified, verifiedBy: verifiedByOf(results.map((result) => result.verifiedBy)), ...unverified } };
    const { models, duplicates } = await importPulled({ items, entry, dir, deps, kind: request.kind, report, signal });
    report.detail('stored');
    return { ...base, state: 'stored', models, duplicates, pendingReason: null };
  } catch (error) {
    if (signal.aborted && isInterrupt(signal)) keep = true;
    else report.detail(signal.aborted ? 'cancelled' : 'failed');
    throw signal.aborted && !isInterrupt(signal) ? cancelledError() : error;
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}

async function downloadWithResume(
  file: PlannedFile,
  dir: string,
  hub: HubContext,
  deps: PullDeps,
  signal: AbortSignal,
  clamscan: string | null,
  onProgress: (bytes: number, total: number | undefined, rate: number) => void,
): Promise<DownloadResult> {
  const maxResumes = deps.maxResumes ?? 3;
  const sleep = hub.network.sleep ?? defaultSleep;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await downloadToQuarantine({
        url: file.url,
        policy: file.policy,
        expected: file.expected,
        quarantineDir: dir,
        name: file.name,
        signal,
        onProgress,
        resume: true,
        // A multi-file model's JSON configs are wanted; a JSON answer is still never taken for a model file.
        allowJson: file.relPath !== null && /\.json$/i.test(file.relPath),
        ...(file.fetchImpl === undefined ? hub.network.fetchImpl === undefined ? {} : { fetchImpl: hub.network.fetchImpl } : { fetchImpl: file.fetchImpl }),
        ...(hub.network.lookup === undefined ? {} : { lookup: hub.network.lookup }),
        ...(hub.network.ca === undefined ? {} : { ca: hub.network.ca }),
        ...(hub.network.sleep === undefined ? {} : { sleep: hub.network.sleep }),
        ...(hub.network.now === undefined ? {} : { now: hub.network.now }),
        ...(hub.network.retry === undefined ? {} : { retry: hub.network.retry }),
        ...(hub.maxBytes === undefined ? {} : { maxBytes: hub.maxBytes }),
        ...(deps.freeBytes === undefined ? {} : { freeBytes: deps.freeBytes }),
        ...(clamscan === null ? {} : { validate: async (partial: string) => void (await assertClamscanClean({ clamscan, file: partial, name: file.name, signal })) }),
      });
    } catch (error) {
      if (!(isLorasmithError(error) && error.code === 'network') || attempt >= maxResumes || signal.aborted) throw error;
      try {
        await sleep(Math.min(1000 * 2 ** attempt, 10_000), signal);
      } catch {
        throw cancelledError();
      }
    }
  }
}

/** Whether a pull's files wait in quarantine for a confirmation. */
export async function readPending(workspace: Workspace, taskId: string): Promise<Manifest | null> {
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(await readFile(path.join(pullQuarantineDir(workspace, taskId), MANIFEST), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function nothingPending(taskId: string): LorasmithError {
  return new LorasmithError({
    code: 'not-awaiting-confirmation',
    message: `The pull ${taskId} has no files waiting for confirmation.`,
    hint: 'Only a pull in state awaiting-confirmation can be confirmed or discarded.',
    exitCode: 1,
    status: 409,
  });
}

/**
 * The user confirmed an unverified pull: its quarantined files (re-hashed, so they are the bytes that
 * were downloaded) are imported, marked `unverified`. Claims the manifest first, so a second confirm fails.
 */
export async function confirmPending(params: { deps: PullDeps; taskId: string; signal: AbortSignal; report: PullReporter }): Promise<PullResult> {
  const { deps, taskId, signal, report } = params;
  const dir = pullQuarantineDir(deps.workspace, taskId);
  const claimed = path.join(dir, CLAIMED);
  try {
    await rename(path.join(dir, MANIFEST), claimed);
  } catch {
    throw nothingPending(taskId);
  }
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(await readFile(claimed, 'utf8')));
    if (!parsed.success) throw nothingPending(taskId);
    const manifest = parsed.data;
    report.detail('verifying');
    const confirmed: Provenance = { verified: false, verifiedBy: 'none', unverified: true, confirmedBy: 'user' };
    const items: ImportItem[] = [];
    for (const file of manifest.files) {
      const name = sanitizeFileName(file.name);
      const full = path.join(dir, name);
      if (path.dirname(full) !== dir) throw nothingPending(taskId);
      const actual = await sha256OfFile(full).catch(() => null);
      if (actual !== file.sha256) {
        throw hubError({ code: 'integrity', message: `${name} changed in quarantine since it was downloaded; it was deleted.`, hint: 'Pull it again.', details: { rule: 'DL-R06' } });
      }
      const relPath = file.relPath === null ? null : file.relPath.split('/').map((segment) => sanitizeFileName(segment)).join('/');
      items.push({ file: full, name, relPath, sha256: file.sha256, location: file.location, provenance: { ...file.provenance, ...confirmed, computedSha256: file.sha256 } });
    }
    report.detail('scanning');
    const kind = manifest.kind as ModelKind | null;
    const entry = manifest.entry === null ? null : { name: manifest.entry.name, provenance: { ...manifest.entry.provenance, ...confirmed } };
    const { models, duplicates } = await importPulled({ items, entry, dir, deps, kind: kind ?? undefined, report, signal });
    report.detail('stored');
    return {
      state: 'stored',
      provider: manifest.files[0]?.location.type ?? 'url',
      source: manifest.sourceLabel,
      revision: manifest.revision,
      civitaiFile: manifest.civitaiFile,
      files: manifest.files.map((file) => ({ name: file.name, from: file.from, size: file.size, sha256: file.sha256, verifiedBy: file.verifiedBy, resumedFrom: 0 })),
      models,
      duplicates,
      verified: false,
      pendingReason: null,
    };
  } catch (error) {
    report.detail(signal.aborted ? 'cancelled' : 'failed');
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The user declined: the quarantined files are deleted. */
export async function discardPending(workspace: Workspace, taskId: string): Promise<void> {
  const dir = pullQuarantineDir(workspace, taskId);
  if ((await readPending(workspace, taskId)) === null) throw nothingPending(taskId);
  await rm(dir, { recursive: true, force: true });
}

export { sourceLabel };
