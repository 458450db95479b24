/**
 * The Hugging Face Hub protocol on the hub double (hub-downloads.md §2.1): model info by revision
 * (`sha`), the tree API with `Link: next` pages, paths-info, and `/resolve/<rev>/<path>`: LFS files as a
 * 302 to a CDN host with X-Linked-Etag / X-Linked-Size / X-Repo-Commit (Xet ones also with `Link`
 * rels), non-LFS files served by the Hub itself with the git blob id as ETag. Refs can move between
 * requests. An `access` hook answers gated / private / bad-token / rate-limited cases on every route.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler, HubDouble } from './hub-double.ts';
import { gitBlobSha1Hex, serveBytes, sha256Hex } from './behaviours.ts';

export interface HfFileSpec {
  path: string;
  content: Buffer;
  /** Stored in LFS (default true): served from the CDN with a 302. */
  lfs?: boolean;
  xet?: boolean;
  /** Replace what the CDN (LFS) or the Hub (non-LFS) serves for this file. */
  serve?: Handler;
  /** What the listing says, when it should lie. */
  listedSha256?: string;
  listedSize?: number;
  listedOid?: string;
  securityStatus?: string;
}

export interface HfRepoSpec {
  repo: string;
  /** commit (40 hex) → files */
  commits: Record<string, HfFileSpec[]>;
  /** branch / tag → commit; mutable through `moveRef` */
  refs: Record<string, string>;
  apiHost?: string;
  cdnHost?: string;
  /** Tree entries per page; more → `Link: next`. */
  pageSize?: number;
  /** Host of the `next` links (HF-R05 tests); default the API host. */
  nextLinkHost?: string;
  /** Answer instead of the route (gated, private, bad token, rate limits); null = go on. */
  access?: (req: IncomingMessage) => { status: number; headers?: Record<string, string>; body?: string } | null;
  /** Extra tree entries (hostile paths). */
  extraTreeEntries?: Array<Record<string, unknown>>;
}

export interface HfRepoControl {
  moveRef(ref: string, commit: string): void;
}

export function commitId(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function entryOf(file: HfFileSpec): Record<string, unknown> {
  const lfs = file.lfs !== false;
  const sha = file.listedSha256 ?? sha256Hex(file.content);
  const size = file.listedSize ?? file.content.length;
  return {
    type: 'file',
    oid: file.listedOid ?? (lfs ? commitId(`pointer:${sha}`) : gitBlobSha1Hex(file.content)),
    size: lfs ? 134 : size,
    path: file.path,
    ...(lfs ? { lfs: { oid: sha, size, pointerSize: 134 } } : {}),
    ...(file.xet === true ? { xetHash: 'f'.repeat(64) } : {}),
    ...(file.securityStatus === undefined ? {} : { securityFileStatus: { status: file.securityStatus } }),
  };
}

function directories(files: HfFileSpec[]): string[] {
  const dirs = new Set<string>();
  for (const file of files) {
    const parts = file.path.split('/');
    for (let i = 1; i < parts.length; i += 1) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs];
}

export function installHfRepo(d: HubDouble, spec: HfRepoSpec): HfRepoControl {
  const api = spec.apiHost ?? 'hub.test';
  const cdn = spec.cdnHost ?? 'cdn.test';
  const refs = { ...spec.refs };
  const guard = (handler: Handler): Handler => (req, res, ctx) => {
    const answer = spec.access?.(req) ?? null;
    if (answer !== null) {
      const body = answer.body ?? '';
      res.writeHead(answer.status, { 'content-length': String(Buffer.byteLength(body)), ...answer.headers });
      res.end(body);
      return;
    }
    return handler(req, res, ctx);
  };
  const commitOf = (rev: string): string | undefined => (spec.commits[rev] !== undefined ? rev : refs[rev]);

  for (const rev of [...Object.keys(refs), ...Object.keys(spec.commits)]) {
    d.route(api, `/api/models/${spec.repo}/revision/${encodeURIComponent(rev)}`, guard((_req, res) => {
      const commit = commitOf(rev);
      if (commit === undefined) return json(res, 404, { error: 'Revision not found' }, { 'x-error-code': 'RevisionNotFound' });
      json(res, 200, { _id: 'x', id: spec.repo, modelId: spec.repo, sha: commit, private: false, gated: false, downloads: 1, likes: 0, lastModified: '2026-01-01T00:00:00.000Z', siblings: [] });
    }));
  }

  for (const [commit, files] of Object.entries(spec.commits)) {
    const allEntries: Array<Record<string, unknown>> = [
      ...directories(files).map((dir) => ({ type: 'directory', oid: commitId(`dir:${dir}`), size: 0, path: dir })),
      ...files.map(entryOf),
      ...(spec.extraTreeEntries ?? []),
    ];
    const treeHandler = (dir: string): Handler => guard((_req, res, ctx) => {
      const prefix = dir === '' ? '' : `${dir}/`;
      const selected = allEntries.filter((entry) => String(entry.path).startsWith(prefix) || (spec.extraTreeEntries ?? []).includes(entry));
      const pageSize = spec.pageSize ?? 1000;
      const cursor = Number(ctx.url.searchParams.get('cursor') ?? '0');
      const page = selected.slice(cursor, cursor + pageSize);
      const headers: Record<string, string> = {};
      if (cursor + pageSize < selected.length) {
        const nextHost = spec.nextLinkHost ?? api;
        headers.link = `<${d.url(nextHost, `${ctx.url.pathname}?recursive=true&expand=false&cursor=${cursor + pageSize}`)}>; rel="next"`;
      }
      json(res, 200, page, headers);
    });
    d.route(api, `/api/models/${spec.repo}/tree/${commit}`, treeHandler(''));
    for (const dir of directories(files)) d.route(api, `/api/models/${spec.repo}/tree/${commit}/${encodePath(dir)}`, treeHandler(dir));
    d.route(api, `/api/models/${spec.repo}/paths-info/${commit}`, guard(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { paths?: string[] };
      const wanted = new Set(body.paths ?? []);
      const entries = allEntries.filter((entry) => wanted.has(String(entry.path)));
      json(res, 200, entries.map((entry) => ({ ...entry, lastCommit: { id: commit, title: 'x', date: '2026-01-01T00:00:00.000Z' }, securityFileStatus: entry.securityFileStatus ?? { status: 'safe' } })));
    }));
  }

  // /resolve/<rev>/<path> for every commit and ref; a ref is looked up when the request comes.
  const allPaths = new Set(Object.values(spec.commits).flatMap((files) => files.map((file) => file.path)));
  for (const rev of [...Object.keys(refs), ...Object.keys(spec.commits)]) {
    for (const filePath of allPaths) {
      d.route(api, `/${spec.repo}/resolve/${encodeURIComponent(rev)}/${encodePath(filePath)}`, guard((req, res, ctx) => {
        const commit = commitOf(rev);
        const file = commit === undefined ? undefined : spec.commits[commit]?.find((candidate) => candidate.path === filePath);
        if (commit === undefined || file === undefined) return json(res, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
        const sha = sha256Hex(file.content);
        if (file.lfs === false) {
          const handler = file.serve ?? serveBytes(file.content, { etag: `"${gitBlobSha1Hex(file.content)}"`, headers: { 'x-repo-commit': commit } });
          return handler(req, res, ctx);
        }
        const location = d.url(cdn, `/cdn/${sha}?X-Amz-Signature=sig${ctx.count}&X-Amz-Expires=3600`);
        res.writeHead(302, {
          location,
          'content-length': '0',
          'x-linked-etag': `"${sha}"`,
          'x-linked-size': String(file.content.length),
          'x-repo-commit': commit,
          etag: `"${sha}"`,
          ...(file.xet === true
            ? { 'x-xet-hash': 'f'.repeat(64), link: `<${d.url('evil.test', '/xet-read-token')}>; rel="xet-auth", <${d.url('evil.test', '/reconstructions')}>; rel="xet-reconstruction-info"` }
            : {}),
        });
        res.end();
      }));
    }
  }
  for (const files of Object.values(spec.commits)) {
    for (const file of files) {
      if (file.lfs === false) continue;
      d.route(cdn, `/cdn/${sha256Hex(file.content)}`, file.serve ?? serveBytes(file.content, { etag: `"cdn-${sha256Hex(file.content).slice(0, 16)}"` }));
    }
  }
  return {
    moveRef(ref, commit) {
      refs[ref] = commit;
    },
  };
}
