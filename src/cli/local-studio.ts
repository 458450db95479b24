import { openStudio, type Studio } from '../studio/studio.ts';
import { workspaceHome } from '../core/workspace.ts';

/** Run `work` against the workspace in-process (no server needed), closing the database afterwards. */
export async function withLocalStudio<T>(env: NodeJS.ProcessEnv, work: (studio: Studio) => Promise<T>): Promise<T> {
  const { createLogger } = await import('../core/logger.ts');
  const studio = await openStudio({ home: workspaceHome(env), env, log: createLogger({ level: env.LORASMITH_LOG_LEVEL ?? 'warn' }) });
  try {
    return await work(studio);
  } finally {
    await studio.close();
  }
}
