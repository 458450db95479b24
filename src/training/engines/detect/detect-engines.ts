/**
 * Both engines at once, as `engine detect`, `GET /api/engines`, the Settings page and `doctor` show them: the GPU
 * probe runs once and is shared, the engines are probed side by side, and each engine's cache is checked
 * against this checkout's start-up files lock.
 */
import type { ProgramRunner } from '../../../core/run-program.ts';
import { probeGpus as defaultProbeGpus, type GpuProbe } from '../../planner/probe-gpus.ts';
import { detectEngine } from './detect-engine.ts';
import { ENGINE_IDS, type EngineEnv, type EngineId, type EngineLocationSettings } from './engine-location.ts';
import type { EnginesReport } from './engine-status.ts';
import { LOCKS_DIR, readStartupFilesLock } from './locks.ts';

export type { EngineReport, EnginesReport } from './engine-status.ts';

export interface DetectEnginesParams {
  env: EngineEnv;
  /** The workspace's `engines/` folder. */
  enginesDir: string;
  settings?: Omit<EngineLocationSettings, 'enginesDir'>;
  /** Default both. */
  engines?: readonly EngineId[];
  run?: ProgramRunner;
  probeGpus?: () => Promise<GpuProbe>;
  locksDir?: string;
  torchTimeoutMs?: number;
}

export async function detectEngines(params: DetectEnginesParams): Promise<EnginesReport> {
  const searchPath = params.env.PATH;
  const gpus = await (params.probeGpus ?? (() => defaultProbeGpus({ ...(params.run === undefined ? {} : { run: params.run }), ...(searchPath === undefined || searchPath === '' ? {} : { path: searchPath }) })))();
  const lock = await readStartupFilesLock(params.locksDir ?? LOCKS_DIR);
  const engines = await Promise.all(
    (params.engines ?? ENGINE_IDS).map(async (engine) => {
      const { gpus: _shared, ...status } = await detectEngine({
        engine,
        env: params.env,
        settings: { ...params.settings, enginesDir: params.enginesDir },
        probeGpus: async () => gpus,
        startupFiles: lock[engine],
        ...(params.run === undefined ? {} : { run: params.run }),
        ...(params.torchTimeoutMs === undefined ? {} : { torchTimeoutMs: params.torchTimeoutMs }),
      });
      return status;
    }),
  );
  return { gpus, engines };
}
