/**
 * What `train --dry-run` shows for a FluxFlow run: the launch built in a placeholder run folder (`<run>`), its
 * files by path, secrets redacted. Nothing is written and nothing is started.
 */
import { DRY_RUN_DIR, launchDryRun } from '../launch-common.ts';
import { buildFluxflowLaunch, type FluxflowLaunch, type FluxflowLaunchOptions, type FluxflowPlan } from './launch.ts';
import type { FluxflowResolvedRun } from './resolve-run.ts';

export interface FluxflowDryRun {
  engine: 'fluxflow';
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** File path → content (the pipeline YAML and one captions file per dataset). */
  files: Record<string, string>;
  sandbox: FluxflowLaunch['sandbox'];
  plan: FluxflowPlan;
  directives: FluxflowLaunch['directives'];
}

export function fluxflowDryRun(input: FluxflowResolvedRun, options: Omit<FluxflowLaunchOptions, 'runDir'>): FluxflowDryRun {
  return launchDryRun(buildFluxflowLaunch(input, { ...options, runDir: DRY_RUN_DIR }));
}
