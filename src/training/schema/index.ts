/** The run config: one zod schema for kohya LoRA runs and FluxFlow runs, its JSON Schema and its reference page. */
export {
  KOHYA_FAMILIES,
  MODEL_COMPONENTS,
  NETWORK_MODULES,
  NETWORK_TYPES,
  RUN_FAMILIES,
  bucketStepMultipleFor,
  componentNeed,
  familyLabel,
  hasConvLayers,
  isKohyaFamily,
  networkModuleFor,
  networkTypesFor,
  trainerScriptFor,
  type ComponentNeed,
  type KohyaFamily,
  type KohyaNetworkScript,
  type ModelComponent,
  type NetworkModule,
  type NetworkType,
  type RunFamily,
} from './families.ts';
export { RUN_SCHEMA_ID } from './fields.ts';
export { formatIssuePath } from './format-issue-path.ts';
export {
  FLUXFLOW_COMPONENTS,
  FLUXFLOW_DEAD_FIELDS,
  FLUXFLOW_OPTIMIZERS,
  FLUXFLOW_SCHEDULERS,
  fluxflowRunSchema,
  type DeadField,
  type FluxflowRunConfig,
  type FluxflowRunInput,
  type FluxflowStep,
} from './fluxflow-run.ts';
export {
  SAMPLE_SAMPLERS,
  SCHEDULERS,
  kohyaRunSchema,
  type KohyaDatasetRef,
  type KohyaRunConfig,
  type KohyaRunInput,
  type KohyaSubsetOverride,
} from './kohya-run.ts';
export { isAdaptive, isScheduleFree, optimizerSchema, type OptimizerConfig, type OptimizerType } from './optimizer.ts';
export { parseKohyaRunConfig, parseRunConfig } from './parse-run-config.ts';
export { renderSchemaReference } from './render-schema-reference.ts';
export { runConfigJsonSchema, type JsonSchemaNode } from './run-config-json-schema.ts';
export { runConfigSchema, type RunConfig, type RunConfigInput } from './run-config.ts';
