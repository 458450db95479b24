/**
 * What detection reports about an engine (`engine detect`, `GET /api/engines`). Free of node: imports because
 * the web UI imports these types too; detect-engine.ts and detect-engines.ts fill them in.
 */
import type { GpuProbe } from '../../planner/gpu-probe-types.ts';
import type { EngineId } from '../engine-events.ts';

/** Which of the resolver's places a location came from (engine-location.ts: env > settings > workspace). */
export type LocationSource = 'env' | 'settings' | 'workspace';

export interface EngineStatus {
  engine: EngineId;
  /** The checkout (kohya) or the engine folder (fluxflow) exists, the Python runs and imports torch (and, for FluxFlow, its package). */
  installed: boolean;
  /** The sd-scripts checkout (kohya) or `engines/fluxflow` (fluxflow, installed from the package index). */
  root: string | null;
  python: string;
  /** The venv folder when `python` sits in one (`<venv>/bin/python` beside `pyvenv.cfg`). */
  venv: string | null;
  /** The checked-out commit (kohya), null when unknown or not a git checkout. */
  commit: string | null;
  /** Whether `commit` is the pinned one; null when there is no pin or no commit. */
  commitIsPinned: boolean | null;
  pythonVersion: string | null;
  torch: { version: string; cuda: string | null } | null;
  /** FluxFlow: the installed `fluxflow-training` version (package metadata). */
  packageVersion: string | null;
  /** An accelerate default config exists where accelerate would look (lorasmith passes its flags explicitly). */
  accelerateConfig: boolean;
  gpus: GpuProbe;
  sources: { root: LocationSource; python: LocationSource };
  /** The engine cache and the start-up file sets (Hub repositories) not complete in it; optional ones (gated) apart. */
  startupFiles: { dir: string; missing: string[]; missingOptional: string[] };
  /** What is missing or wrong, each a sentence with the fix. */
  problems: string[];
}

/** An engine's status without the GPU probe, which the report carries once. */
export type EngineReport = Omit<EngineStatus, 'gpus'>;

export interface EnginesReport {
  gpus: GpuProbe;
  engines: EngineReport[];
}
