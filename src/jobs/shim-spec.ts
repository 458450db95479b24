/**
 * What the server hands a run shim (`shim.json`): the engine's launch as `prepare` returned it, the sandbox
 * the run gets, the GPU device nodes of the claimed slots, and the settings' stop grace and log limits.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { EngineLaunch } from '../training/engines/engine.ts';
import type { JobSettings } from './job-settings.ts';
import type { SandboxMode, ShimSpec } from './shim/protocol.ts';

/** NVIDIA's control nodes, needed by every CUDA process, and the per-GPU nodes of the claimed GPUs. */
export function gpuDeviceNodes(gpus: readonly string[], devDir = '/dev'): string[] {
  if (gpus.length === 0) return [];
  const nodes = ['nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools', 'nvidia-modeset', ...gpus.filter((gpu) => /^\d+$/.test(gpu)).map((gpu) => `nvidia${gpu}`)];
  return nodes.map((node) => path.join(devDir, node)).filter((node) => existsSync(node));
}

export function buildShimSpec(params: {
  jobId: string;
  runDir: string;
  launch: EngineLaunch;
  sandbox: { mode: SandboxMode; bwrap?: string };
  devices: string[];
  settings: Pick<JobSettings, 'stopGraceS' | 'logSegmentBytes' | 'logKeepSegments'>;
  secretsFile: string;
}): ShimSpec {
  const { launch, settings } = params;
  return {
    version: 1,
    jobId: params.jobId,
    runDir: params.runDir,
    workDir: path.join(params.runDir, 'work'),
    argv: launch.argv,
    env: launch.env,
    cwd: launch.cwd,
    sandbox: {
      mode: params.sandbox.mode,
      readOnly: launch.sandbox.readOnly,
      writable: launch.sandbox.writable,
      devices: params.devices,
      ...(params.sandbox.bwrap === undefined ? {} : { bwrap: params.sandbox.bwrap }),
    },
    phases: launch.directives.phases,
    snapshots: launch.directives.snapshots,
    stop: { graceS: settings.stopGraceS },
    logs: { segmentBytes: settings.logSegmentBytes, keepSegments: settings.logKeepSegments },
    secretsFile: params.secretsFile,
  };
}
