/**
 * FluxFlow as a `TrainingEngine` (src/training/engines/engine.ts): resolve the run against the workspace,
 * write its files and hand the shim the launch; parse its console; read its JSONL metrics.
 */
import path from 'node:path';
import type { RunConfig } from '../../schema/index.ts';
import type { EngineLaunch, EngineOutputParser, MetricBatch, MetricsCursor, PrepareParams, TrainingEngine } from '../engine.ts';
import { runConfigOf } from '../launch-common.ts';
import type { FluxflowEngineLocation } from './engine-location.ts';
import { FLUXFLOW_CHECKPOINT_FILE, FLUXFLOW_OUTPUT_DIR } from './layout.ts';
import { prepareFluxflowRun, type FluxflowPhaseTimeouts } from './launch.ts';
import { FluxflowOutputParser } from './parse-output.ts';
import { readFluxflowMetrics } from './read-metrics.ts';
import { resolveFluxflowRun, type FluxflowWorkspace } from './resolve-run.ts';

export interface FluxflowEngineDeps {
  workspace: FluxflowWorkspace;
  location: FluxflowEngineLocation;
  lang?: string;
  timeouts?: Partial<FluxflowPhaseTimeouts>;
}

/** FluxFlow's console parser for a run (the engine location plays no part in it). */
export function createFluxflowParser(run: RunConfig): EngineOutputParser {
  const config = runConfigOf('fluxflow', run);
  // The run folder is not known here: checkpoint events name the file relative to work/.
  return new FluxflowOutputParser({
    steps: config.pipeline.steps.map((step) => ({ name: step.name, nEpochs: step.nEpochs, ...(step.maxSteps === undefined ? {} : { maxSteps: step.maxSteps }) })),
    outputFile: path.join(FLUXFLOW_OUTPUT_DIR, FLUXFLOW_CHECKPOINT_FILE),
  });
}

export interface FluxflowPrepareParams extends PrepareParams {
  /** The GPU probe could not tell (gpu_unknown, allowed by the user): leave CUDA_VISIBLE_DEVICES unset. */
  gpusUnknown?: boolean;
}

export function createFluxflowEngine(deps: FluxflowEngineDeps): TrainingEngine & { prepare(params: FluxflowPrepareParams): Promise<EngineLaunch> } {
  return {
    id: 'fluxflow',

    async prepare(params: FluxflowPrepareParams): Promise<EngineLaunch> {
      const config = runConfigOf('fluxflow', params.config);
      const input = await resolveFluxflowRun({ workspace: deps.workspace, config, ...(params.resumeFrom === undefined ? {} : { resumeFrom: params.resumeFrom }) });
      const launch = await prepareFluxflowRun(input, {
        runDir: params.runDir,
        engine: deps.location,
        ...(params.gpusUnknown === true ? {} : { gpus: params.gpus }),
        ...(deps.lang === undefined ? {} : { lang: deps.lang }),
        ...(deps.timeouts === undefined ? {} : { timeouts: deps.timeouts }),
      });
      return { engine: 'fluxflow', argv: launch.argv, env: launch.env, cwd: launch.cwd, directives: launch.directives, sandbox: launch.sandbox, outputFile: launch.outputFile, outputCompanions: [launch.plan.output.textEncoder] };
    },

    createParser: createFluxflowParser,

    metrics(runDir: string, since: MetricsCursor): Promise<MetricBatch> {
      return readFluxflowMetrics(runDir, since);
    },
  };
}
