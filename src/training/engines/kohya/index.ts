/**
 * The kohya-ss sd-scripts engine adapter: input types, file writers, image links, launch and output parser.
 * The Engine wrapper (detect / installPlan / metrics / collect) builds on these.
 */
export type { KohyaArgValue, KohyaDatasetInput, KohyaDatasetOptions, KohyaRunInput, KohyaSamplePrompt, KohyaSubsetInput, KohyaSubsetOptions, KohyaResizeInterpolation } from './types.ts';
export { KOHYA_ARGS_SOURCE, KOHYA_TRAINER_SCRIPTS, isKohyaTrainerScript, kohyaArg, kohyaArgsFor, type KohyaArgSpec, type KohyaArgType, type KohyaTrainerScript } from './kohya-args.ts';
export { kohyaRunLayout, subsetLinkDir, type KohyaRunLayout } from './layout.ts';
export { ADAPTER_OWNED_KEYS, renderConfigToml, toKeyValueArgs, type KohyaConfigPaths, type KohyaConfigToml } from './write-config-toml.ts';
export { BUCKET_STEP_MULTIPLE, renderDatasetToml, type KohyaDatasetToml, type KohyaSubsetPlan, type RenderDatasetTomlInput } from './write-dataset-toml.ts';
export { kohyaDatasetConfigSchema } from './dataset-toml-schema.ts';
export { parseSamplePromptLine, readSamplePromptsTxt, renderSamplePrompts, type KohyaSamplePromptsFile, type SamplePromptDict, type SamplePromptsFormat } from './write-sample-prompts.ts';
export { KOHYA_IMAGE_EXTENSIONS, linkSubsetImages, type LinkImagesResult, type LinkSubsetInput, type LinkedSubset } from './link-images.ts';
export {
  DEFAULT_KOHYA_TIMEOUTS,
  DRY_RUN_PLACEHOLDER,
  buildKohyaLaunch,
  kohyaDryRun,
  kohyaEnvironment,
  prepareKohyaRun,
  type KohyaDryRun,
  type KohyaEngineLocation,
  type KohyaLaunch,
  type KohyaLaunchFile,
  type KohyaLaunchOptions,
  type KohyaPhaseDirective,
  type KohyaPhaseTimeouts,
  type KohyaPlan,
  type KohyaSandbox,
  type KohyaSnapshotDirective,
} from './launch.ts';
export { LineSplitter, type LineSplitterOptions, type SplitLine } from './line-splitter.ts';
export {
  KohyaOutputParser,
  parseKohyaOutput,
  type KohyaErrorEvent,
  type KohyaEvent,
  type KohyaExit,
  type KohyaLine,
  type KohyaOutcome,
  type KohyaParserOptions,
  type KohyaParserState,
  type KohyaPhase,
  type KohyaProgressEvent,
} from './parse-output.ts';
