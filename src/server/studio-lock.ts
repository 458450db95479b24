/**
 * One studio per workspace: `server.lock` is created exclusively and names its holder by pid and start
 * time; a lock whose holder is gone is stale and taken over. `server.json` (0600) tells the CLI where
 * the running studio listens.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { LorasmithError, errnoCode } from '../core/errors.ts';
import { currentProcessIdentity, isSameProcess } from '../core/process-identity.ts';

const lockSchema = z.object({ pid: z.number().int(), startTicks: z.string(), purpose: z.string() });
export const serverInfoSchema = z.object({
  url: z.string(),
  pid: z.number().int(),
  startTicks: z.string(),
  port: z.number().int(),
  startedAt: z.string(),
  version: z.string(),
});
export type ServerInfo = z.infer<typeof serverInfoSchema>;

export interface WorkspaceLock {
  release(): Promise<void>;
}

async function readJson<T>(file: string, schema: z.ZodType<T>): Promise<T | null> {
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || error instanceof SyntaxError) return null;
    throw error;
  }
}

/** Take the workspace lock for `purpose` ("serve", "train"), or fail with exit code 2 and who holds it. */
export async function acquireWorkspaceLock(params: { lockFile: string; serverJson: string; purpose: string }): Promise<WorkspaceLock> {
  const me = currentProcessIdentity();
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(params.lockFile, 'wx', 0o600);
      await handle.writeFile(JSON.stringify({ ...me, purpose: params.purpose }));
      await handle.close();
      return {
        release: async () => {
          const holder = await readJson(params.lockFile, lockSchema);
          if (holder !== null && holder.pid === me.pid && holder.startTicks === me.startTicks) await rm(params.lockFile, { force: true });
        },
      };
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
    const holder = await readJson(params.lockFile, lockSchema);
    if (holder !== null && isSameProcess(holder.pid, holder.startTicks)) {
      const server = await readJson(params.serverJson, serverInfoSchema);
      throw new LorasmithError({
        code: 'workspace-busy',
        message:
          holder.purpose === 'serve'
            ? `A studio is already running on this workspace (pid ${holder.pid}${server ? `, ${server.url}` : ''}).`
            : `This workspace is in use by lorasmith ${holder.purpose} (pid ${holder.pid}).`,
        hint: holder.purpose === 'serve' ? 'Use that studio (`lorasmith pair` prints a new link), or stop it first.' : 'Wait for it to finish, or set LORASMITH_HOME to another workspace.',
        exitCode: 2,
      });
    }
    // The holder is gone (crash, kill -9): the lock is stale.
    await rm(params.lockFile, { force: true });
  }
  throw new LorasmithError({ code: 'workspace-busy', message: 'Could not take the workspace lock.', hint: 'Try again.', exitCode: 2 });
}

export async function writeServerInfo(file: string, info: ServerInfo): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(info, null, 2)}\n`, 0o600);
}

/** The running studio named by server.json, if its process is alive (pid + start time). */
export async function readLiveServerInfo(file: string): Promise<ServerInfo | null> {
  const info = await readJson(file, serverInfoSchema);
  return info !== null && isSameProcess(info.pid, info.startTicks) ? info : null;
}
