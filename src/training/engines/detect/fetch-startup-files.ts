/**
 * The installer's Hub step: one start-up file set (a tokenizer) from its pinned commit, through hub/ (DESIGN.md
 * §6.2: allowlisted hosts on every hop, the token only to the API host, streaming SHA-256 against the lock),
 * into the engine cache. Every file of the set is downloaded and checked in a private quarantine folder first;
 * only then are they moved into place (and, in Hub-cache layout, `refs/main` written last), so a failed or
 * tampered download never leaves a half-filled tokenizer folder that sd-scripts would take as complete.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../../core/atomic-write.ts';
import { LorasmithError } from '../../../core/errors.ts';
import { downloadToQuarantine } from '../../../hub/download-file.ts';
import type { HubContext } from '../../../hub/hub-context.ts';
import type { HubFetch } from './install-plan.ts';

export interface FetchStartupFilesParams {
  fetch: HubFetch;
  hub: HubContext;
  /** A folder on the cache's filesystem for the downloads in flight (the workspace's quarantine/); a fresh sub-folder is used and removed. */
  quarantineDir: string;
  signal?: AbortSignal;
}

function unpinned(fetch: HubFetch, what: string): LorasmithError {
  return new LorasmithError({
    code: 'engine-startup-files-unpinned',
    message: `The start-up files of ${fetch.repo} are not pinned (${what}); nothing was downloaded.`,
    hint: 'Pin the commit and each file’s SHA-256 and size in src/training/engines/locks/startup-files.json (see the README there).',
    exitCode: 1,
  });
}

export async function fetchStartupFiles(params: FetchStartupFilesParams): Promise<void> {
  const { fetch, hub, signal } = params;
  const commit = fetch.revision;
  if (commit === null) throw unpinned(fetch, 'no commit');
  const dir = path.join(params.quarantineDir, `engine-files-${randomUUID()}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const downloaded: Array<{ file: string; dest: string }> = [];
    for (const [index, target] of fetch.files.entries()) {
      if (target.sha256 === null || target.size === null) throw unpinned(fetch, `${target.path} has no SHA-256 and size`);
      const result = await downloadToQuarantine({
        url: hub.hf.client.resolveUrl(fetch.repo, commit, target.path),
        policy: hub.hf.policy,
        expected: { sha256: target.sha256, size: target.size },
        quarantineDir: dir,
        name: `${index}-${path.basename(target.dest)}`,
        // Tokenizer and config files are JSON; HTML is still refused.
        allowJson: true,
        ...(signal === undefined ? {} : { signal }),
        ...(hub.network.fetchImpl === undefined ? {} : { fetchImpl: hub.network.fetchImpl }),
        ...(hub.network.lookup === undefined ? {} : { lookup: hub.network.lookup }),
        ...(hub.network.ca === undefined ? {} : { ca: hub.network.ca }),
        ...(hub.network.sleep === undefined ? {} : { sleep: hub.network.sleep }),
        ...(hub.network.now === undefined ? {} : { now: hub.network.now }),
        ...(hub.network.retry === undefined ? {} : { retry: hub.network.retry }),
      });
      // downloadToQuarantine compared the digest; this guards the contract that nothing unverified reaches the cache.
      if (!result.verifiedBy.includes('sha256')) throw unpinned(fetch, `${target.path} was not checked against its SHA-256`);
      downloaded.push({ file: result.file, dest: target.dest });
    }
    for (const { file, dest } of downloaded) {
      await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
      await rename(file, dest);
    }
    if (fetch.ref !== null) {
      await mkdir(path.dirname(fetch.ref.file), { recursive: true, mode: 0o700 });
      await writeFileAtomic(fetch.ref.file, fetch.ref.commit);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
