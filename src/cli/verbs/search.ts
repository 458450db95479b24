/**
 * `lorasmith search hf|civitai QUERY`: find models on the hubs. Read-only API calls through hub/ (the
 * token, when saved, goes only to the provider's API host). NSFW results stay hidden unless --nsfw.
 * Through the running studio when there is one, so a repeated search is answered from its hub cache.
 */
import type { ExitCode } from '../../core/errors.ts';
import { formatBytes } from '../../core/format-bytes.ts';
import type { CivitaiModelSummary } from '../../hub/civitai/civitai-client.ts';
import type { HfModelSummary } from '../../hub/hf/hf-client.ts';
import type { HubSettings } from '../../hub/hub-context.ts';
import type { HubNetwork } from '../../hub/hub-network.ts';
import type { HubContext } from '../../hub/hub-context.ts';
import { hubContextFactory } from '../../hub/pull-deps.ts';
import { civitaiVersionListing, repoFileListing, searchHub, type RepoFileListing, type SearchParams, type VersionListing } from '../../hub/search.ts';
import type { Studio } from '../../studio/studio.ts';
import { usageError, writeJson, writeLine, type CliIO } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { connectStudio } from '../studio-client.ts';
import { flag, option, parseVerbArgs, type Verb } from '../verb.ts';

/** Test hooks of the verbs that call the hubs in-process: the double's endpoints, lookup and CA. */
export interface HubVerbOptions {
  settings?: (env: NodeJS.ProcessEnv) => HubSettings;
  network?: HubNetwork;
}
export type SearchVerbOptions = HubVerbOptions;

/** The hubs for an in-process verb: the studio's own configuration, or the test hooks when given. */
export async function verbHubContext(studio: Studio, io: CliIO, options: HubVerbOptions): Promise<HubContext> {
  if (options.settings === undefined && options.network === undefined) return studio.hubContext();
  return hubContextFactory({ secrets: studio.secrets, settings: options.settings?.(io.env) ?? { env: io.env }, ...(options.network === undefined ? {} : { network: options.network }) })();
}

function searchPath(params: SearchParams): string {
  const query = new URLSearchParams({ provider: params.provider, q: params.query ?? '' });
  if (params.type !== undefined) query.set('type', params.type);
  if (params.baseModel !== undefined) query.set('baseModel', params.baseModel);
  if (params.sort !== undefined) query.set('sort', params.sort);
  if (params.limit !== undefined) query.set('limit', String(params.limit));
  query.set('nsfw', params.nsfw === true ? 'true' : 'false');
  return `/api/hub/search?${query.toString()}`;
}

const HELP = `lorasmith search hf|civitai QUERY [--type T] [--base-model B] [--sort S] [--limit N] [--nsfw] [--json]
lorasmith search hf --files REPO[@REVISION] [--path DIR] [--json]
lorasmith search civitai --version VERSION_ID [--json]

  --type T        hf: lora | diffusers | any Hub tag; civitai: lora | checkpoint | vae | embedding |
                  LORA | Checkpoint | TextualInversion | LoCon | DoRA | Controlnet | …
  --base-model B  hf: a base model repo id (base_model:B); civitai: a base model name ("SDXL 1.0")
  --sort S        downloads (default) | recent | likes (hf) | rating (civitai)
  --limit N       1–100 (default 20)
  --nsfw          civitai: include NSFW models (off by default)
  --files REPO    hf: the repo's files at the commit REVISION (default main) resolves to, with size,
                  SHA-256 (LFS) or git blob id, the Hub's own scan status, and the source to pull each
  --path DIR      with --files: only below DIR
  --version ID    civitai: a version's files with format, size, SHA-256 and Civitai's scan results

Answers are kept a few minutes (by the running studio when there is one). Pull a result with
\`lorasmith pull hf:<repo>:<path>\` (a folder ends in /) or \`lorasmith pull civitai:<versionId>[:<fileId>]\`.
--json: {"provider","results":[…]}; --files: {"repo","revision","commit","files":[{"path","size","lfsSha256",
"gitBlobId","xet","hubScanStatus","source"}]}; --version: {"id","modelId","name","modelName","modelType",
"baseModel","trainedWords","files":[{"id","name","type","sizeKB","primary","format","fp","pickleScanResult",
"virusScanResult","hashes","source"}]}`;

function printFiles(io: CliIO, listing: RepoFileListing): void {
  writeLine(io, `${listing.repo} @ ${listing.revision} = commit ${listing.commit}`);
  if (listing.files.length === 0) writeLine(io, 'No files.');
  for (const file of listing.files) {
    const digest = file.lfsSha256 !== null ? `sha256 ${file.lfsSha256.slice(0, 16)}…` : file.gitBlobId !== null ? `git ${file.gitBlobId.slice(0, 12)}…` : 'NO DIGEST';
    writeLine(io, `${file.path}  ${formatBytes(file.size)}  ${digest}${file.hubScanStatus === null ? '' : `  hub scan: ${file.hubScanStatus}`}`);
  }
  writeLine(io, `Pull one with \`lorasmith pull hf:${listing.repo}@${listing.commit}:<path>\`, a folder (one library entry) with a path ending in /.`);
}

function printVersion(io: CliIO, version: VersionListing): void {
  writeLine(io, `${version.modelName ?? '?'} — ${version.name ?? '?'} (civitai:${version.id}, model ${version.modelId}, ${version.modelType ?? 'model'}, base ${version.baseModel ?? 'unknown'})`);
  if (version.trainedWords.length > 0) writeLine(io, `  trigger words: ${version.trainedWords.join(', ')}`);
  for (const file of version.files) {
    const sha = file.hashes.SHA256 === undefined ? 'NO SHA-256 (pull asks to confirm)' : `sha256 ${file.hashes.SHA256.slice(0, 16).toLowerCase()}…`;
    const scans = [file.pickleScanResult === null ? null : `pickle scan ${file.pickleScanResult}`, file.virusScanResult === null ? null : `virus scan ${file.virusScanResult}`].filter((part) => part !== null).join(', ');
    writeLine(io, `${file.source}  ${file.name}  ${file.format ?? '?'}  ${formatBytes(file.sizeKB * 1024)}  ${sha}${file.primary ? '  primary' : ''}${scans === '' ? '' : `  (${scans})`}`);
  }
}

function num(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 100) throw usageError('--limit must be 1–100.', 'See `lorasmith search --help`.');
  return parsed;
}

export function createSearchVerb(options: SearchVerbOptions = {}): Verb {
  return {
    name: 'search',
    help: HELP,
    async run(args, io): Promise<ExitCode> {
      const { values, positionals } = parseVerbArgs('search', args, {
        type: { type: 'string' },
        'base-model': { type: 'string' },
        sort: { type: 'string' },
        limit: { type: 'string' },
        nsfw: { type: 'boolean', default: false },
        files: { type: 'string' },
        path: { type: 'string' },
        version: { type: 'string' },
      });
      const [provider, ...words] = positionals;
      if (provider !== 'hf' && provider !== 'civitai') throw usageError('`search` needs a provider: hf or civitai.', 'Example: lorasmith search civitai "pixel art" --type lora');
      const json = flag(values, 'json');
      const files = option(values, 'files');
      const version = option(values, 'version');
      if (files !== undefined || version !== undefined) return browse({ io, options, json, provider, files, version, path: option(values, 'path') ?? '', words });
      const limit = num(option(values, 'limit'));
      const params: SearchParams = {
        provider,
        query: words.join(' '),
        ...(option(values, 'type') === undefined ? {} : { type: option(values, 'type') }),
        ...(option(values, 'base-model') === undefined ? {} : { baseModel: option(values, 'base-model') }),
        ...(option(values, 'sort') === undefined ? {} : { sort: option(values, 'sort') }),
        ...(limit === undefined ? {} : { limit }),
        nsfw: flag(values, 'nsfw'),
      };
      const client = await connectStudio(io.env);
      const results =
        client !== null
          ? (await client.request<{ results: HfModelSummary[] | CivitaiModelSummary[] }>('GET', searchPath(params))).results
          : await withLocalStudio(io.env, async (studio) => searchHub(await verbHubContext(studio, io, options), params));
      if (json) {
        writeJson(io, { provider, results });
        return 0;
      }
      if (results.length === 0) writeLine(io, 'No models found.');
      if (provider === 'hf') {
        for (const model of results as HfModelSummary[]) {
          writeLine(io, `${model.id}  ↓${model.downloads} ♥${model.likes}${model.gated ? '  gated' : ''}  ${model.tags.filter((tag) => !tag.includes(':')).slice(0, 5).join(', ')}`);
        }
      } else {
        for (const model of results as CivitaiModelSummary[]) {
          const latest = model.versions[0];
          writeLine(io, `${model.id}  ${model.type ?? '?'}  ${model.name}  ↓${model.downloads}${latest === undefined ? '' : `  latest: civitai:${latest.id} (${latest.name ?? ''}, ${latest.baseModel ?? '?'})`}`);
        }
      }
      return 0;
    },
  };
}

/** `--files` (a Hugging Face repo's files) or `--version` (a Civitai version's files): through the studio when it runs. */
async function browse(params: { io: CliIO; options: HubVerbOptions; json: boolean; provider: 'hf' | 'civitai'; files: string | undefined; version: string | undefined; path: string; words: string[] }): Promise<ExitCode> {
  const { io, json } = params;
  if (params.words.length > 0) throw usageError('--files and --version take no QUERY.', 'See `lorasmith search --help`.');
  const client = await connectStudio(io.env);
  if (params.files !== undefined) {
    if (params.provider !== 'hf' || params.version !== undefined) throw usageError('--files lists a Hugging Face repo: `lorasmith search hf --files REPO[@REVISION]`.', 'See `lorasmith search --help`.');
    const at = params.files.indexOf('@');
    const repo = at === -1 ? params.files : params.files.slice(0, at);
    const revision = at === -1 ? 'main' : params.files.slice(at + 1);
    const query = new URLSearchParams({ repo, revision, path: params.path.replace(/\/+$/, '') });
    const listing =
      client !== null
        ? await client.request<RepoFileListing>('GET', `/api/hub/hf/files?${query.toString()}`)
        : await withLocalStudio(io.env, async (studio) => repoFileListing(await verbHubContext(studio, io, params.options), { repo, revision, path: query.get('path') ?? '' }));
    if (json) writeJson(io, listing);
    else printFiles(io, listing);
    return 0;
  }
  const id = Number(params.version);
  if (params.provider !== 'civitai' || !Number.isInteger(id) || id < 1 || id > 2 ** 31 - 1) throw usageError('--version takes a Civitai version id: `lorasmith search civitai --version 123`.', 'The id is the number after modelVersionId= in a Civitai URL.');
  const listing =
    client !== null
      ? await client.request<VersionListing>('GET', `/api/hub/civitai/versions/${id}`)
      : await withLocalStudio(io.env, async (studio) => civitaiVersionListing(await verbHubContext(studio, io, params.options), id));
  if (json) writeJson(io, listing);
  else printVersion(io, listing);
  return 0;
}

export const searchVerb: Verb = createSearchVerb();
