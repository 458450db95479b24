import type { Studio } from '../studio/studio.ts';
import { workspaceHome } from '../core/workspace.ts';

/** Run `work` against the workspace in-process (no server needed), closing the database afterwards. */
export async function withLocalStudio<T>(env: NodeJS.ProcessEnv, work: (studio: Studio) => Promise<T>): Promise<T> {
  // Loaded here, not at the top: the studio is most of the CLI's code, and verbs that reach a running studio
  // over HTTP (or print their help) never need it.
  const [{ createLogger }, { openStudio }] = await Promise.all([import('../core/logger.ts'), import('../studio/studio.ts')]);
  const studio = await openStudio({ home: workspaceHome(env), env, log: createLogger({ level: env.LORASMITH_LOG_LEVEL ?? 'warn' }) });
  try {
    return await work(studio);
  } finally {
    await studio.close();
  }
}
