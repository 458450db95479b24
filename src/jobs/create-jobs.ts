/**
 * The jobs service as the studio builds it: kohya and FluxFlow as the engines (located by LORASMITH_KOHYA_* /
 * LORASMITH_FLUXFLOW_PYTHON / the engines settings / the workspace's install), the GPU probe on this process's PATH, the run shim as the runner, the
 * watchdog numbers and the rest from the `jobs` settings.
 */
import type { Kysely } from 'kysely';
import type { SecurityEvents } from '../access/security-events.ts';
import type { Database } from '../core/db/schema.ts';
import type { Logger } from '../core/logger.ts';
import type { SettingsStore } from '../core/settings.ts';
import type { Workspace } from '../core/workspace.ts';
import type { ModelLibrary } from '../library/model-library.ts';
import { kohyaEngineStatus } from '../training/engines/detect/kohya-engine-status.ts';
import { fluxflowEngineStatus } from '../training/engines/fluxflow/engine-location.ts';
import { FluxflowJobEngine } from '../training/engines/fluxflow/job-engine.ts';
import { KohyaTrainingEngine } from '../training/engines/kohya/engine.ts';
import { probeGpus } from '../training/planner/probe-gpus.ts';
import { studioRunResolver } from '../training/resolve-run.ts';
import { JobService } from './job-service.ts';
import type { JobRunner } from './job-runner.ts';
import type { JobRecord } from './job-types.ts';
import { shimRunner } from './shim-runner.ts';

export interface CreateJobsParams {
  db: Kysely<Database>;
  workspace: Workspace;
  log: Logger;
  settings: SettingsStore;
  library: ModelLibrary;
  datasetsRoot: string;
  securityEvents: SecurityEvents;
  env: NodeJS.ProcessEnv;
  /** Tests only: another runner than the run shim. */
  runner?: JobRunner;
  /** Told once when a job ends (the job webhook). */
  onFinished?: (job: JobRecord) => Promise<void>;
}

export function createJobs(params: CreateJobsParams): JobService {
  const { settings, env } = params;
  const workspace = { library: params.library, datasets: { root: params.datasetsRoot } };
  const kohya = new KohyaTrainingEngine({
    workspace,
    locate: async () => kohyaEngineStatus({ env, enginesDir: params.workspace.paths.areas.engines, settings: (await settings.get()).engines }),
    timeouts: async () => {
      const { startupIdleS, cachingIdleS, stepFactor, stepFloorS } = (await settings.get()).jobs;
      return { startupIdleS, cachingIdleS, stepFactor, stepFloorS };
    },
  });
  const fluxflow = new FluxflowJobEngine({
    workspace,
    locate: async () => fluxflowEngineStatus({ env, enginesDir: params.workspace.paths.areas.engines, settings: (await settings.get()).engines }),
    timeouts: async () => {
      // FluxFlow's first-start dimension scan is its caching phase.
      const { startupIdleS, cachingIdleS, stepFactor, stepFloorS } = (await settings.get()).jobs;
      return { startupIdleS, scanningIdleS: cachingIdleS, stepFactor, stepFloorS };
    },
  });
  return new JobService({
    db: params.db,
    workspace: params.workspace,
    log: params.log,
    library: params.library,
    securityEvents: params.securityEvents,
    runner: params.runner ?? shimRunner(),
    engines: { kohya, fluxflow },
    probeGpus: () => probeGpus({ path: env.PATH ?? '/usr/bin:/bin' }),
    resolver: studioRunResolver(workspace),
    settings: async () => (await settings.get()).jobs,
    ...(params.onFinished === undefined ? {} : { onFinished: params.onFinished }),
  });
}
