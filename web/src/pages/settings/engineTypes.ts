/** GET /api/engines and PUT /api/engines/:engine/location, as the Engines panel reads them. */
import type { EnginesReport } from '../../../../src/training/engines/detect/engine-status.ts';

export type { EngineId } from '../../../../src/training/engines/engine-events.ts';
export type { EngineReport as EngineStatus, LocationSource } from '../../../../src/training/engines/detect/engine-status.ts';
export type { GpuProbe } from '../../../../src/training/planner/gpu-probe-types.ts';

/** The `engines` settings section as the route sends it (null: not set). */
export interface EngineSettings {
  kohyaRoot: string | null;
  kohyaPython: string | null;
  fluxflowPython: string | null;
}

export interface EnginesAnswer extends EnginesReport {
  settings: EngineSettings;
  locationsEditable: boolean;
}
