/**
 * The commit a checkout is at, read from `.git` without running git: `HEAD` is either a 40-hex sha (detached,
 * as the installer leaves it) or `ref: refs/heads/<branch>`, whose sha is in its loose ref file or in
 * `packed-refs`. A `.git` file (`gitdir: <path>`, worktrees and submodules) is followed once. Anything that
 * does not parse gives null: detection reports "unknown commit", never throws.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

const SHA = /^[0-9a-f]{40}$/;
const REF = /^refs\/[A-Za-z0-9._\/-]{1,200}$/;
const MAX = 64 * 1024;

async function readSmall(file: string): Promise<string | null> {
  try {
    const info = await stat(file);
    if (!info.isFile() || info.size > MAX * 16) return null;
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

async function gitDirOf(root: string): Promise<string | null> {
  const dotGit = path.join(root, '.git');
  try {
    const info = await stat(dotGit);
    if (info.isDirectory()) return dotGit;
    if (!info.isFile()) return null;
  } catch {
    return null;
  }
  const text = await readSmall(dotGit);
  const match = text === null ? null : /^gitdir: (.+)$/m.exec(text.trim());
  if (match?.[1] === undefined) return null;
  return path.resolve(root, match[1].trim());
}

export interface GitHead {
  commit: string;
  /** `refs/heads/main` when HEAD is on a branch; null when detached. */
  ref: string | null;
}

export async function readGitHead(root: string): Promise<GitHead | null> {
  const gitDir = await gitDirOf(root);
  if (gitDir === null) return null;
  const head = (await readSmall(path.join(gitDir, 'HEAD')))?.trim();
  if (head === undefined) return null;
  if (SHA.test(head)) return { commit: head, ref: null };
  const ref = /^ref: (.+)$/.exec(head)?.[1]?.trim();
  if (ref === undefined || !REF.test(ref) || ref.split('/').includes('..')) return null;
  // A worktree's refs live in the common dir.
  const common = (await readSmall(path.join(gitDir, 'commondir')))?.trim();
  const dirs = common === undefined ? [gitDir] : [gitDir, path.resolve(gitDir, common)];
  for (const dir of dirs) {
    const loose = (await readSmall(path.join(dir, ref)))?.trim();
    if (loose !== undefined && SHA.test(loose)) return { commit: loose, ref };
  }
  for (const dir of dirs) {
    const packed = await readSmall(path.join(dir, 'packed-refs'));
    if (packed === null) continue;
    for (const line of packed.split('\n')) {
      const [sha, name] = line.trim().split(' ');
      if (name === ref && sha !== undefined && SHA.test(sha)) return { commit: sha, ref };
    }
  }
  return null;
}
