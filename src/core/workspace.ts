/**
 * The workspace: everything lorasmith keeps lives under one folder, `LORASMITH_HOME` (default
 * `~/.lorasmith`), created 0700 with the layout of DESIGN.md §3. User-data paths are resolved through
 * `resolve()`, which applies the one path resolver to an area of the workspace.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LorasmithError } from './errors.ts';
import { resolveInside } from './paths.ts';

export const WORKSPACE_AREAS = ['models', 'quarantine', 'datasets', 'runs', 'engines'] as const;
export type WorkspaceArea = (typeof WORKSPACE_AREAS)[number];

export interface WorkspacePaths {
  home: string;
  db: string;
  secrets: string;
  apiSecret: string;
  serverJson: string;
  serverLock: string;
  areas: Record<WorkspaceArea, string>;
}

export interface Workspace {
  readonly paths: WorkspacePaths;
  /** An untrusted relative path inside one area of the workspace, symlinks followed and contained. */
  resolve(area: WorkspaceArea, relative: string): Promise<string>;
}

export function workspaceHome(env: NodeJS.ProcessEnv = process.env, homedir: string = os.homedir()): string {
  const configured = env.LORASMITH_HOME;
  if (configured !== undefined && configured !== '') {
    if (!path.isAbsolute(configured)) {
      throw new LorasmithError({
        code: 'workspace-invalid',
        message: `LORASMITH_HOME must be an absolute path; it is ${JSON.stringify(configured)}.`,
        hint: 'Set LORASMITH_HOME to an absolute folder, e.g. export LORASMITH_HOME="$HOME/.lorasmith".',
      });
    }
    return path.resolve(configured);
  }
  return path.join(homedir, '.lorasmith');
}

export function workspacePaths(home: string): WorkspacePaths {
  const areas = Object.fromEntries(WORKSPACE_AREAS.map((area) => [area, path.join(home, area)])) as Record<WorkspaceArea, string>;
  return {
    home,
    db: path.join(home, 'lorasmith.db'),
    secrets: path.join(home, 'secrets.json'),
    apiSecret: path.join(home, 'api-secret'),
    serverJson: path.join(home, 'server.json'),
    serverLock: path.join(home, 'server.lock'),
    areas,
  };
}

async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  if (!info.isDirectory()) {
    throw new LorasmithError({
      code: 'workspace-invalid',
      message: `${dir} exists and is not a folder.`,
      hint: 'Move that file away or point LORASMITH_HOME at another folder.',
    });
  }
  // A folder made earlier by hand may be group- or world-readable: the workspace holds secrets.
  if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** Create (or open) the workspace: home and every area, 0700. */
export async function openWorkspace(params: { home?: string } = {}): Promise<Workspace> {
  const home = params.home ?? workspaceHome();
  const paths = workspacePaths(home);
  await ensurePrivateDir(home);
  for (const area of WORKSPACE_AREAS) await ensurePrivateDir(paths.areas[area]);
  return {
    paths,
    resolve: (area, relative) => resolveInside({ root: paths.areas[area], input: relative, what: `${area} path` }),
  };
}
