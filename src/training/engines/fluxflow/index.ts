/**
 * The FluxFlow engine adapter (DESIGN.md §4, fluxflow.md): resolution against the workspace, the pipeline YAML
 * and captions files, the launch, the dry run, the console parser and the metrics reader.
 */
export { normaliseCaption, parseCaptionsFile, renderCaptionsFile, type CaptionEntry, type ParsedCaptions } from './captions-file.ts';
export { fluxflowDryRun, type FluxflowDryRun } from './dry-run.ts';
export {
  FLUXFLOW_NOT_INSTALLED,
  FLUXFLOW_TOKENIZER,
  FLUXFLOW_TOKENIZER_CACHE,
  fluxflowEngineStatus,
  fluxflowLocationAt,
  type FluxflowEngineLocation,
  type FluxflowEngineStatus,
} from './engine-location.ts';
export { createFluxflowEngine, createFluxflowParser, type FluxflowEngineDeps, type FluxflowPrepareParams } from './fluxflow-engine.ts';
export {
  DEFAULT_FLUXFLOW_TIMEOUTS,
  FLUXFLOW_PROGRESS_LINE,
  buildFluxflowLaunch,
  prepareFluxflowRun,
  type FluxflowLaunch,
  type FluxflowLaunchOptions,
  type FluxflowPhaseTimeouts,
  type FluxflowPlan,
} from './launch.ts';
export {
  FLUXFLOW_CHECKPOINT_FILE,
  FLUXFLOW_DISCRIMINATOR_FILE,
  FLUXFLOW_OUTPUT_DIR,
  FLUXFLOW_STATE_FILE,
  FLUXFLOW_TEXT_ENCODER_FILE,
  fluxflowRunLayout,
  type FluxflowRunLayout,
} from './layout.ts';
export { FluxflowOutputParser, type FluxflowParserOptions, type FluxflowParserStep } from './parse-output.ts';
export { dumpPyYaml, formatPyFloat, loadPyYaml, PyYamlError, type PyMapping, type PyValue } from './pyyaml.ts';
export { readFluxflowMetrics } from './read-metrics.ts';
export { resolveFluxflowRun, type FluxflowDatasetInput, type FluxflowResolvedRun, type FluxflowWorkspace } from './resolve-run.ts';
export { checkPipelineYaml, PIPELINE_YAML_SCHEMA, type PipelineYamlCheck } from './yaml-schema.ts';
export { pipelineDocument, renderPipelineYaml, type PipelineYamlPaths } from './write-pipeline-yaml.ts';
export { FluxflowJobEngine, type FluxflowJobEngineParams } from './job-engine.ts';
