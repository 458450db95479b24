/** GET /api/engines and PUT /api/engines/:engine/location, as the Engines panel reads them. */
export type EngineId = 'kohya' | 'fluxflow';
export type LocationSource = 'env' | 'settings' | 'workspace';

export type GpuProbe =
  | { mode: 'gpu'; gpus: Array<{ index: number; name: string; memoryTotalMiB: number; memoryFreeMiB: number; driverVersion: string }> }
  | { mode: 'cpu'; reason: string }
  | { mode: 'unknown'; reason: string };

export interface EngineStatus {
  engine: EngineId;
  installed: boolean;
  root: string | null;
  python: string;
  venv: string | null;
  commit: string | null;
  commitIsPinned: boolean | null;
  pythonVersion: string | null;
  torch: { version: string; cuda: string | null } | null;
  packageVersion: string | null;
  accelerateConfig: boolean;
  sources: { root: LocationSource; python: LocationSource };
  startupFiles: { dir: string; missing: string[]; missingOptional: string[] };
  problems: string[];
}

export interface EngineSettings {
  kohyaRoot: string | null;
  kohyaPython: string | null;
  fluxflowPython: string | null;
}

export interface EnginesAnswer {
  gpus: GpuProbe;
  engines: EngineStatus[];
  settings: EngineSettings;
  locationsEditable: boolean;
}
