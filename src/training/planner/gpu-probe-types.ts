/**
 * What the GPU probe (probe-gpus.ts) finds, as the plan and the engines report send it. Free of node: imports
 * because the web UI imports these types too.
 */

export interface GpuDevice {
  index: number;
  name: string;
  /** MiB, as nvidia-smi reports with `nounits`. */
  memoryTotalMiB: number;
  memoryFreeMiB: number;
  driverVersion: string;
}

export type GpuProbe =
  | { mode: 'gpu'; gpus: GpuDevice[] }
  | { mode: 'cpu'; reason: string }
  | { mode: 'unknown'; reason: string };
