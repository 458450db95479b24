/**
 * Rules that depend on the model family: which sd-scripts trainer runs, which model files and network types it
 * takes, which options its script has, and its bucket step (kohya-sd-scripts.md §1.1, §3.2; kohya-args.json).
 */
import { type BucketingOptions, resolveBucketRange } from '../../datasets/buckets/index.ts';
import { isLorasmithError } from '../../core/errors.ts';
import {
  KOHYA_FAMILIES,
  MODEL_COMPONENTS,
  bucketStepMultipleFor,
  componentNeed,
  familyLabel,
  hasConvLayers,
  isKohyaFamily,
  networkModuleFor,
  networkTypesFor,
  trainerScriptFor,
  type KohyaFamily,
  type KohyaRunConfig,
} from '../schema/index.ts';
import { type ValidationIssue, issue } from './types.ts';

/** The sd-scripts option each model component becomes. */
const COMPONENT_OPTION = { vae: '--vae / --ae', clipL: '--clip_l', clipG: '--clip_g', t5xxl: '--t5xxl', gemma2: '--gemma2' } as const;

export interface FamilyOption {
  /** Field path in the run config. */
  path: string;
  /** The sd-scripts option it becomes, without `--`. */
  option: string;
  /** Families whose trainer script has the option (kohya-args.json). */
  families: readonly KohyaFamily[];
  isSet(config: KohyaRunConfig): boolean;
}

const FLOW_FAMILIES: readonly KohyaFamily[] = ['flux1', 'chroma', 'lumina2'];
const DIT_FAMILIES: readonly KohyaFamily[] = ['sd3', 'flux1', 'chroma', 'lumina2'];

/** Options only some trainer scripts accept; the adapter may only write keys the script has (DESIGN.md §4). */
export const FAMILY_OPTIONS: readonly FamilyOption[] = [
  { path: 'flow.timestepSampling', option: 'timestep_sampling', families: FLOW_FAMILIES, isSet: (c) => c.flow.timestepSampling !== undefined },
  { path: 'flow.sigmoidScale', option: 'sigmoid_scale', families: FLOW_FAMILIES, isSet: (c) => c.flow.sigmoidScale !== undefined },
  { path: 'flow.discreteFlowShift', option: 'discrete_flow_shift', families: FLOW_FAMILIES, isSet: (c) => c.flow.discreteFlowShift !== undefined },
  { path: 'flow.modelPredictionType', option: 'model_prediction_type', families: FLOW_FAMILIES, isSet: (c) => c.flow.modelPredictionType !== undefined },
  { path: 'flow.guidanceScale', option: 'guidance_scale', families: ['flux1', 'chroma'], isSet: (c) => c.flow.guidanceScale !== undefined },
  { path: 'flow.weightingScheme', option: 'weighting_scheme', families: DIT_FAMILIES, isSet: (c) => c.flow.weightingScheme !== undefined },
  { path: 'flow.trainingShift', option: 'training_shift', families: ['sd3'], isSet: (c) => c.flow.trainingShift !== undefined },
  { path: 'flow.applyT5AttnMask', option: 'apply_t5_attn_mask', families: ['sd3', 'flux1', 'chroma'], isSet: (c) => c.flow.applyT5AttnMask !== undefined },
  { path: 'memory.blocksToSwap', option: 'blocks_to_swap', families: DIT_FAMILIES, isSet: (c) => c.memory.blocksToSwap !== undefined },
  {
    path: 'memory.cacheTextEncoderOutputs',
    option: 'cache_text_encoder_outputs',
    families: ['sdxl', ...DIT_FAMILIES],
    isSet: (c) => c.memory.cacheTextEncoderOutputs !== 'off',
  },
];

/** kohya-sd-scripts.md §9: "FLUX.1 supports up to 35 blocks for swapping". */
const FLUX_MAX_BLOCKS_TO_SWAP = 35;

function familyOptions(config: KohyaRunConfig, family: KohyaFamily): ValidationIssue[] {
  const script = trainerScriptFor(family);
  const issues = FAMILY_OPTIONS.filter((entry) => entry.isSet(config) && !entry.families.includes(family)).map((entry) =>
    issue(
      'option-not-for-family',
      'error',
      entry.path,
      `${script} has no --${entry.option} option, so ${entry.path} cannot be used for ${familyLabel(family)}.`,
      `Remove ${entry.path}; it applies to ${entry.families.map(familyLabel).join(', ')}.`,
    ),
  );
  if (config.flow.timestepSampling === 'nextdit_shift' && family !== 'lumina2' && FLOW_FAMILIES.includes(family)) {
    issues.push(
      issue(
        'option-not-for-family',
        'error',
        'flow.timestepSampling',
        `"nextdit_shift" is a choice of lumina_train_network.py only; ${script} refuses it.`,
        'Pick sigma, uniform, sigmoid, shift or flux_shift.',
      ),
    );
  }
  return issues;
}

function components(config: KohyaRunConfig, family: KohyaFamily): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const component of MODEL_COMPONENTS) {
    const need = componentNeed(family, component);
    const given = config.model[component] !== undefined;
    const path = `model.${component}`;
    const option = COMPONENT_OPTION[component];
    if (need === 'required' && !given) {
      issues.push(
        issue('component-missing', 'error', path, `${familyLabel(family)} needs a separate ${option} file, and none is set.`, `Pick the ${component} model from the library in ${path}.`),
      );
    } else if (need === undefined && given) {
      issues.push(
        issue(
          'component-not-for-family',
          'error',
          path,
          `${trainerScriptFor(family)} takes no ${option} file for ${familyLabel(family)}.`,
          `Remove ${path}; the family does not use it.`,
        ),
      );
    } else if (need === 'ignored' && given) {
      issues.push(issue('component-not-used', 'warning', path, `${familyLabel(family)} does not use ${option}; the file is ignored.`, `Remove ${path}.`));
    } else if (need === 'optional' && !given && family === 'sd3' && component !== 'vae') {
      issues.push(
        issue(
          'component-from-checkpoint',
          'warning',
          path,
          `No ${option} file is set, so SD3 loads that text encoder from the base checkpoint; the run fails at start if the checkpoint lacks it.`,
          `Set ${path} unless the base checkpoint includes the text encoders.`,
        ),
      );
    }
  }
  return issues;
}

function network(config: KohyaRunConfig, family: KohyaFamily): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { type, module, convDim, convAlpha, lokrFactor, dimFromWeights, initialWeights } = config.network;
  const allowed = networkTypesFor(family);
  if (!allowed.includes(type)) {
    issues.push(
      issue(
        'network-type-not-for-family',
        'error',
        'network.type',
        `A ${type} network is not offered for ${familyLabel(family)}: the LyCORIS types are only known to work with the pinned lycoris_lora on SD 1.x/2.x and SDXL, and the family has no convolutions for LoCon.`,
        `Use ${allowed.join(' or ')}.`,
      ),
    );
  } else if (module !== undefined && module !== networkModuleFor(family, type)) {
    issues.push(
      issue(
        'network-module-mismatch',
        'error',
        'network.module',
        `A ${type} network for ${familyLabel(family)} is trained with ${networkModuleFor(family, type)}, not ${module}.`,
        'Remove network.module; lorasmith picks the right module.',
      ),
    );
  }
  const convSet = convDim !== undefined || convAlpha !== undefined;
  if (convSet && !hasConvLayers(family)) {
    issues.push(
      issue(
        'conv-dim-no-effect',
        'warning',
        convDim !== undefined ? 'network.convDim' : 'network.convAlpha',
        `${familyLabel(family)} has no convolution layers an adapter can train; the conv rank is ignored.`,
        'Remove network.convDim and network.convAlpha.',
      ),
    );
  } else if (convSet && type === 'lora') {
    issues.push(
      issue(
        'conv-dim-no-effect',
        'warning',
        convDim !== undefined ? 'network.convDim' : 'network.convAlpha',
        'A plain lora network does not train convolutions, so the conv rank is ignored.',
        'Set network.type to "locon" to train the 3×3 convolutions too, or remove the conv settings.',
      ),
    );
  }
  if (type === 'locon' && convDim === undefined && allowed.includes(type)) {
    issues.push(
      issue(
        'locon-without-conv-dim',
        'warning',
        'network.convDim',
        'A locon network trains convolutions only when a conv rank is set; without it this is a plain lora.',
        'Set network.convDim (for example 8) and network.convAlpha.',
      ),
    );
  }
  if (lokrFactor !== undefined && type !== 'lokr') {
    issues.push(issue('lokr-factor-unused', 'warning', 'network.lokrFactor', `The LoKr factor has no effect on a ${type} network.`, 'Remove network.lokrFactor or set network.type to "lokr".'));
  }
  if (lokrFactor === 0) {
    issues.push(issue('lokr-factor-zero', 'error', 'network.lokrFactor', 'A LoKr factor of 0 is not a factorisation.', 'Use -1 (smallest factor) or a positive factor.'));
  }
  if (dimFromWeights && initialWeights === undefined) {
    issues.push(
      issue(
        'dim-from-weights-without-weights',
        'error',
        'network.dimFromWeights',
        'dimFromWeights takes the rank from an existing LoRA, but network.initialWeights names none; sd-scripts stops at start.',
        'Set network.initialWeights to the LoRA to continue from, or turn dimFromWeights off.',
      ),
    );
  }
  return issues;
}

function buckets(config: KohyaRunConfig, family: KohyaFamily): ValidationIssue[] {
  // sd-scripts checks the bucket options only with enable_bucket (§1.1), so a disabled bucket setup is left alone.
  if (!config.buckets.enabled) return [];
  const multiple = bucketStepMultipleFor(family);
  const { stepSize } = config.buckets;
  if (stepSize % multiple !== 0) {
    return [
      issue(
        'bucket-step-multiple',
        'error',
        'buckets.stepSize',
        `${trainerScriptFor(family)} requires bucket_reso_steps to be a multiple of ${multiple}; ${stepSize} is not, and the run stops at start.`,
        `Use ${multiple === 64 ? '64' : `${multiple} or 64`} (64 fits every family).`,
      ),
    ];
  }
  const options: BucketingOptions = {
    resolution: config.resolution,
    enableBucket: true,
    minBucketReso: config.buckets.minReso,
    maxBucketReso: config.buckets.maxReso,
    bucketResoSteps: stepSize,
    bucketNoUpscale: config.buckets.noUpscale,
  };
  try {
    return resolveBucketRange(options).notes.map((note) =>
      issue('bucket-range-adjusted', 'info', 'buckets', `${note} sd-scripts does this itself and logs a warning.`, 'Set the bound to a multiple of buckets.stepSize to silence it.'),
    );
  } catch (error) {
    if (!isLorasmithError(error)) throw error;
    const path = error.code === 'bucket-min-above-resolution' ? 'buckets.minReso' : 'buckets.maxReso';
    return [issue('bucket-range', 'error', path, error.message, error.hint ?? 'Adjust the bucket range to include the resolution.')];
  }
}

function memoryAndModel(config: KohyaRunConfig, family: KohyaFamily): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { blocksToSwap, cpuOffloadCheckpointing } = config.memory;
  if (family === 'flux1' && blocksToSwap !== undefined && blocksToSwap > FLUX_MAX_BLOCKS_TO_SWAP) {
    issues.push(
      issue(
        'blocks-to-swap-too-many',
        'error',
        'memory.blocksToSwap',
        `FLUX.1 can swap at most ${FLUX_MAX_BLOCKS_TO_SWAP} blocks; ${blocksToSwap} were asked for.`,
        `Use ${FLUX_MAX_BLOCKS_TO_SWAP} or fewer (the kohya docs use 28 for 8 GB).`,
      ),
    );
  }
  if ((family === 'sd3' || family === 'lumina2') && blocksToSwap !== undefined) {
    issues.push(
      issue('blocks-to-swap-experimental', 'info', 'memory.blocksToSwap', `Block swapping is experimental for ${familyLabel(family)} in sd-scripts.`, 'If the run fails at start, try fewer swapped blocks or none.'),
    );
  }
  if (cpuOffloadCheckpointing && family === 'chroma') {
    issues.push(
      issue('cpu-offload-not-for-chroma', 'error', 'memory.cpuOffloadCheckpointing', 'CPU offload checkpointing does not work for Chroma.', 'Turn memory.cpuOffloadCheckpointing off; use memory.blocksToSwap instead.'),
    );
  }
  if (family === 'chroma' && config.flow.applyT5AttnMask === false) {
    issues.push(
      issue('chroma-needs-t5-mask', 'error', 'flow.applyT5AttnMask', 'Chroma requires the T5 attention mask (--apply_t5_attn_mask).', 'Remove flow.applyT5AttnMask or set it to true.'),
    );
  }
  if (config.model.clipSkip !== undefined && family !== 'sd1' && family !== 'sd2') {
    issues.push(
      issue('clip-skip-not-used', 'warning', 'model.clipSkip', `Clip skip is an SD 1.x/2.x setting; ${familyLabel(family)} does not use it (the SDXL trainer warns).`, 'Remove model.clipSkip.'),
    );
  }
  if (config.model.vPrediction && DIT_FAMILIES.includes(family)) {
    issues.push(
      issue(
        'v-prediction-not-for-family',
        'warning',
        'model.vPrediction',
        `${familyLabel(family)} is a flow-matching model; v-prediction applies to SD 1.x/2.x and SDXL.`,
        'Turn model.vPrediction off.',
      ),
    );
  }
  return issues;
}

/** Family rules; for a family kohya-args.json does not cover, that is the only issue. */
export function checkKohyaFamily(config: KohyaRunConfig): ValidationIssue[] {
  const { family } = config;
  if (!isKohyaFamily(family)) {
    return [
      issue(
        'family-not-supported',
        'error',
        'family',
        `sd-scripts has a trainer for ${family}, but lorasmith cannot check its options (its script is not in kohya-args.json), so it does not run it.`,
        `Pick one of ${KOHYA_FAMILIES.join(', ')}.`,
      ),
    ];
  }
  return [
    ...components(config, family),
    ...network(config, family),
    ...buckets(config, family),
    ...familyOptions(config, family),
    ...memoryAndModel(config, family),
  ];
}
