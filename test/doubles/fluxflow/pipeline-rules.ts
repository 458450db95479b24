/**
 * FLUXFLOW ENGINE DOUBLE — what FluxFlow checks in a pipeline, and when (fluxflow.md §1.2):
 * `validatePipeline` transcribes `PipelineConfigValidator` (pipeline_config.py:222-432), run at start-up and by
 * `--validate-pipeline`; `runtimeProblem` is what only fails once a step starts (optimisers and schedulers the
 * factories cannot build, LPIPS fetching VGG weights); `silentlyIgnored` is what FluxFlow accepts and then
 * quietly does nothing with (a trained component without an optimiser, `flow` / `discriminator` in freeze
 * lists, transition metrics it never records).
 */
import type { PyMapping, PyValue } from '../../../src/training/engines/fluxflow/pyyaml.ts';

export const VALIDATOR_COMPONENTS = ['compressor', 'expander', 'flow_processor', 'flow', 'text_encoder', 'discriminator', 'D_img'];
export const VALIDATOR_OPTIMIZERS = ['Adam', 'AdamW', 'SGD', 'RMSprop', 'Adagrad', 'Adadelta', 'Lion'];
export const VALIDATOR_SCHEDULERS = ['CosineAnnealingLR', 'LinearLR', 'StepLR', 'ExponentialLR', 'ReduceLROnPlateau', 'MultiStepLR', 'ConstantLR'];
const RUNTIME_OPTIMIZERS = ['Lion', 'AdamW', 'Adam', 'SGD', 'RMSprop'];
const RUNTIME_SCHEDULERS = ['CosineAnnealingLR', 'LinearLR', 'ExponentialLR', 'ConstantLR', 'StepLR', 'ReduceLROnPlateau'];
const TRAINING_MODES = ['train_vae', 'gan_training', 'train_spade', 'train_diff', 'train_diff_full'];
const RECORDED_METRICS = ['vae_loss', 'flow_loss'];

export function mapping(value: PyValue | undefined): PyMapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) ? value : {};
}

export function num(value: PyValue | undefined): number | undefined {
  if (typeof value === 'bigint') return Number(value);
  return typeof value === 'number' ? value : undefined;
}

function strings(value: PyValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** A step as FluxFlow builds it: `defaults` shallow-merged under the step's own keys. */
export function mergedSteps(pipeline: PyMapping): PyMapping[] {
  const defaults = mapping(pipeline.defaults);
  return (Array.isArray(pipeline.steps) ? pipeline.steps : []).map((step) => ({ ...defaults, ...mapping(step) }));
}

/** Components a step's modes train (for the frozen-and-trained rule). */
function trainedComponents(step: PyMapping): string[] {
  const out: string[] = [];
  if (step.train_vae === true || step.gan_training === true || step.train_spade === true) out.push('compressor', 'expander');
  if (step.train_diff === true || step.train_diff_full === true) out.push('flow_processor', 'flow');
  return out;
}

/** `PipelineConfigValidator`'s errors, in its order; empty when it accepts the pipeline. */
export function validatePipeline(pipeline: PyMapping): string[] {
  const errors: string[] = [];
  const steps = mergedSteps(pipeline);
  if (steps.length === 0) errors.push('Pipeline must have at least one step');
  const datasets = mapping(pipeline.datasets);
  for (const [name, raw] of Object.entries(datasets)) {
    const dataset = mapping(raw);
    if (dataset.type !== 'local' && dataset.type !== 'webdataset') errors.push(`Dataset '${name}': unknown type '${String(dataset.type)}'`);
    if (dataset.type === 'local' && (typeof dataset.image_folder !== 'string' || typeof dataset.captions_file !== 'string')) errors.push(`Dataset '${name}': local datasets need image_folder and captions_file`);
    if (dataset.type === 'webdataset' && (typeof dataset.webdataset_url !== 'string' || typeof dataset.webdataset_token !== 'string')) errors.push(`Dataset '${name}': webdataset needs webdataset_url and webdataset_token`);
  }
  if (pipeline.default_dataset !== undefined && !(String(pipeline.default_dataset) in datasets)) errors.push(`default_dataset '${String(pipeline.default_dataset)}' is not defined`);
  steps.forEach((step, index) => {
    const label = `Step ${index + 1} ('${String(step.name ?? '')}')`;
    const epochs = num(step.n_epochs);
    if (epochs === undefined || epochs <= 0) errors.push(`${label}: n_epochs must be > 0`);
    const maxSteps = num(step.max_steps);
    if (step.max_steps !== undefined && step.max_steps !== null && (maxSteps === undefined || maxSteps <= 0)) errors.push(`${label}: max_steps must be > 0`);
    if (!TRAINING_MODES.some((mode) => step[mode] === true)) errors.push(`${label}: at least one training mode must be enabled`);
    for (const list of ['freeze', 'unfreeze']) {
      for (const component of strings(step[list])) if (!VALIDATOR_COMPONENTS.includes(component)) errors.push(`${label}: unknown component '${component}' in ${list}`);
    }
    for (const component of strings(step.freeze)) if (trainedComponents(step).includes(component)) errors.push(`${label}: component '${component}' is both frozen and trained`);
    const optimization = mapping(step.optimization);
    for (const [name, raw] of Object.entries(mapping(optimization.optimizers))) {
      const type = mapping(raw).type;
      if (typeof type !== 'string' || !VALIDATOR_OPTIMIZERS.includes(type)) errors.push(`${label}: unknown optimizer type '${String(type)}' for '${name}'`);
    }
    for (const [name, raw] of Object.entries(mapping(optimization.schedulers))) {
      const type = mapping(raw).type;
      if (typeof type !== 'string' || !VALIDATOR_SCHEDULERS.includes(type)) errors.push(`${label}: unknown scheduler type '${String(type)}' for '${name}'`);
    }
    if (step.dataset !== undefined && step.dataset !== null && !(String(step.dataset) in datasets)) errors.push(`${label}: dataset '${String(step.dataset)}' is not defined`);
    const transition = mapping(step.transition_on);
    if (transition.mode === 'loss_threshold' && (transition.metric === undefined || transition.threshold === undefined || transition.max_epochs === undefined)) {
      errors.push(`${label}: loss_threshold transitions need metric, threshold and max_epochs`);
    }
  });
  return errors;
}

/** What fails when the step starts (after validation passed), as `ExceptionType: message`; undefined when nothing does. */
export function runtimeProblem(step: PyMapping): string | undefined {
  const optimization = mapping(step.optimization);
  for (const raw of Object.values(mapping(optimization.optimizers))) {
    const type = String(mapping(raw).type);
    if (!RUNTIME_OPTIMIZERS.includes(type)) return `ValueError: Unsupported optimizer type: ${type}`;
  }
  for (const raw of Object.values(mapping(optimization.schedulers))) {
    const type = String(mapping(raw).type);
    if (!RUNTIME_SCHEDULERS.includes(type)) return `ValueError: Unsupported scheduler type: ${type}`;
  }
  if (step.use_lpips === true) return 'urllib.error.URLError: <urlopen error [Errno -3] Temporary failure in name resolution> (downloading https://download.pytorch.org/models/vgg16-397923af.pth for LPIPS)';
  return undefined;
}

/** What FluxFlow accepts for a step and then does nothing with, for the double's warnings. */
export function silentlyIgnored(step: PyMapping): string[] {
  const notes: string[] = [];
  const label = `step ${String(step.name ?? '')}`;
  const optimizers = mapping(mapping(step.optimization).optimizers);
  if (Object.keys(optimizers).length > 0) {
    const vae = step.train_vae === true || step.gan_training === true || step.train_spade === true || step.use_lpips === true;
    if (vae && !('vae' in optimizers)) notes.push(`${label}: trains the VAE but lists no vae optimiser; the VAE trainer is skipped`);
    if ((step.train_diff === true || step.train_diff_full === true) && !('flow' in optimizers)) notes.push(`${label}: trains the flow model but lists no flow optimiser; the flow trainer is skipped (Flow: 0.0000)`);
  }
  for (const component of strings(step.freeze)) if (component === 'flow' || component === 'discriminator') notes.push(`${label}: freeze '${component}' is not a model key at runtime; nothing is frozen`);
  const metric = mapping(step.transition_on).metric;
  if (typeof metric === 'string' && !RECORDED_METRICS.includes(metric)) notes.push(`${label}: transition metric '${metric}' is never recorded; the transition never fires`);
  return notes;
}
