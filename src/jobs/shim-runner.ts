/**
 * The studio's `JobRunner`: the run shim's own client (src/jobs/shim/). The sandbox probe runs once per
 * process; a refusal (root without bubblewrap, unsandboxed runs not allowed) comes back as the run's failure.
 */
import { isLorasmithError } from '../core/errors.ts';
import type { JobRunner } from './job-runner.ts';
import { collectArtifacts, isProcessAlive, killOrphanedEngine, probeSandbox, readLogChunk, readShimStatus, requestStop, startShim, writeParsedCursor, chooseSandbox } from './shim/index.ts';

export function shimRunner(): JobRunner {
  return {
    async chooseSandbox({ allowUnsandboxed }) {
      try {
        const choice = chooseSandbox({ probe: await probeSandbox(), allowUnsandboxed });
        return { mode: choice.mode, ...(choice.bwrap === undefined ? {} : { bwrap: choice.bwrap }) };
      } catch (error) {
        if (isLorasmithError(error)) return { refused: error };
        throw error;
      }
    },
    startShim: (params) => startShim(params),
    readShimStatus,
    isShimAlive: isProcessAlive,
    async requestStop(runDir) {
      await requestStop(runDir);
    },
    readLogChunk,
    writeParsedCursor,
    killOrphanedEngine,
    collectArtifacts: (workDir, dir) => collectArtifacts(workDir, dir),
  };
}
