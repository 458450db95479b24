/**
 * Cross-field rules of a kohya run that hold for every family: caching vs captions and augmentation, optimizer
 * vs scheduler, precision, noise, sampling, saving and dataset references (kohya-sd-scripts.md §2, §3).
 */
import { type KohyaRunConfig, isAdaptive, isScheduleFree } from '../schema/index.ts';
import { type ValidationIssue, issue } from './types.ts';

/** The kohya code warns when an adaptive optimizer gets a learning rate at or below this (§3.3). */
const ADAPTIVE_LOW_LR = 0.1;

function textEncoders(config: KohyaRunConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const cached = config.memory.cacheTextEncoderOutputs !== 'off';
  const { captions } = config;
  if (cached && config.network.trainTextEncoders) {
    issues.push(
      issue(
        'te-cache-with-te-training',
        'error',
        'memory.cacheTextEncoderOutputs',
        'Text-encoder outputs cannot be cached while the text encoders are trained: their outputs change every step (sd-scripts requires --network_train_unet_only).',
        'Turn network.trainTextEncoders off, or set memory.cacheTextEncoderOutputs to "off".',
      ),
    );
  }
  if (cached) {
    const varied: Array<[string, boolean]> = [
      ['captions.shuffle', captions.shuffle],
      ['captions.dropoutRate', captions.dropoutRate > 0],
      ['captions.dropoutEveryNEpochs', captions.dropoutEveryNEpochs > 0],
      ['captions.tagDropoutRate', captions.tagDropoutRate > 0],
    ];
    config.datasets.forEach((dataset, d) => {
      dataset.subsets.forEach((subset, s) => varied.push([`datasets[${d}].subsets[${s}].shuffleCaption`, subset.shuffleCaption === true]));
      dataset.regularisation.forEach((reg, r) =>
        reg.subsets.forEach((subset, s) => varied.push([`datasets[${d}].regularisation[${r}].subsets[${s}].shuffleCaption`, subset.shuffleCaption === true])),
      );
    });
    for (const [path, on] of varied) {
      if (!on) continue;
      issues.push(
        issue(
          'te-cache-with-caption-changes',
          'error',
          path,
          `Cached text-encoder outputs are computed once per caption, so ${path} cannot change captions during training; sd-scripts refuses the combination.`,
          `Turn ${path} off, or set memory.cacheTextEncoderOutputs to "off".`,
        ),
      );
    }
  }
  if (config.learningRate.textEncoder !== undefined && !config.network.trainTextEncoders) {
    issues.push(
      issue(
        'te-lr-without-te-training',
        'warning',
        'learningRate.textEncoder',
        cached
          ? 'A text-encoder learning rate is set, but the text encoders are not trained (their outputs are cached); it is ignored.'
          : 'A text-encoder learning rate is set, but the text encoders are not trained; it is ignored.',
        'Remove learningRate.textEncoder, or turn network.trainTextEncoders on (and text-encoder caching off).',
      ),
    );
  }
  if (captions.keepTokens > 0 && !captions.shuffle && captions.tagDropoutRate === 0) {
    issues.push(
      issue('keep-tokens-without-shuffle', 'info', 'captions.keepTokens', 'keepTokens only matters when tags are shuffled or dropped; neither is on.', 'Turn captions.shuffle on, or set keepTokens to 0.'),
    );
  }
  return issues;
}

function augmentation(config: KohyaRunConfig): ValidationIssue[] {
  if (config.memory.cacheLatents === 'off') return [];
  const changing: Array<[string, boolean]> = [
    ['augmentation.color', config.augmentation.color],
    ['augmentation.randomCrop', config.augmentation.randomCrop],
  ];
  return changing
    .filter(([, on]) => on)
    .map(([path]) =>
      issue(
        'latent-cache-with-augmentation',
        'error',
        path,
        `Cached latents are encoded once per image, so ${path} cannot change the image during training; sd-scripts refuses the combination.`,
        `Turn ${path} off, or set memory.cacheLatents to "off".`,
      ),
    );
}

function optimizerAndScheduler(config: KohyaRunConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { optimizer, scheduler, learningRate } = config;
  const warmup = scheduler.warmupSteps > 0 || (scheduler.warmupRatio ?? 0) > 0;
  if (scheduler.type === 'constant' && warmup) {
    issues.push(
      issue(
        'scheduler-constant-with-warmup',
        'error',
        'scheduler.warmupSteps',
        'The "constant" scheduler takes no warm-up; sd-scripts stops with "does not require num_warmup_steps".',
        'Use the "constant_with_warmup" scheduler, or set the warm-up to 0.',
      ),
    );
  }
  if (scheduler.warmupSteps > 0 && scheduler.warmupRatio !== undefined) {
    issues.push(
      issue('scheduler-warmup-twice', 'error', 'scheduler.warmupRatio', 'Warm-up is given both as steps and as a ratio; sd-scripts takes one value.', 'Keep scheduler.warmupSteps or scheduler.warmupRatio, not both.'),
    );
  }
  const unused: Array<[string, boolean, string]> = [
    ['scheduler.cycles', scheduler.cycles !== 1 && scheduler.type !== 'cosine_with_restarts', '"cosine_with_restarts"'],
    ['scheduler.power', scheduler.power !== 1 && scheduler.type !== 'polynomial', '"polynomial"'],
    [
      'scheduler.minLrRatio',
      scheduler.minLrRatio !== undefined && !['cosine_with_min_lr', 'cosine_warmup_with_min_lr', 'warmup_stable_decay'].includes(scheduler.type),
      '"cosine_with_min_lr", "cosine_warmup_with_min_lr" or "warmup_stable_decay"',
    ],
    ['scheduler.decaySteps', scheduler.decaySteps !== undefined && scheduler.type !== 'warmup_stable_decay', '"warmup_stable_decay"'],
  ];
  for (const [path, isUnused, users] of unused) {
    if (isUnused) issues.push(issue('scheduler-option-unused', 'warning', path, `${path} only affects the ${users} scheduler; "${scheduler.type}" ignores it.`, `Remove ${path} or change scheduler.type.`));
  }
  if (optimizer.type === 'AdaFactor' && optimizer.args.relativeStep) {
    issues.push(
      issue(
        'adafactor-relative-step',
        'warning',
        'optimizer.args.relativeStep',
        'With relative steps, Adafactor picks its own learning rate: sd-scripts forces the "adafactor" scheduler and ignores the learning rates and the scheduler set here.',
        'Turn optimizer.args.relativeStep off (the kohya docs recipe) to use your learning rates.',
      ),
    );
  }
  if (isAdaptive(optimizer.type)) {
    const rates: Array<[string, number | undefined]> = [
      ['learningRate.base', learningRate.base],
      ['learningRate.unet', learningRate.unet],
    ];
    for (const [path, rate] of rates) {
      if (rate === undefined || rate > ADAPTIVE_LOW_LR) continue;
      issues.push(
        issue('adaptive-optimizer-low-lr', 'warning', path, `${optimizer.type} estimates its own step size and expects a learning rate around 1.0; ${rate} slows it down (sd-scripts warns too).`, `Set ${path} to 1.0.`),
      );
    }
  }
  if (isScheduleFree(optimizer.type) && (scheduler.type !== 'constant' || warmup)) {
    issues.push(
      issue(
        'schedule-free-with-scheduler',
        'warning',
        'scheduler.type',
        `${optimizer.type} runs without a learning-rate schedule; sd-scripts replaces the scheduler with a dummy, so these scheduler settings are ignored.`,
        'Set scheduler.type to "constant" with no warm-up (use the optimizer’s own warmupSteps where it has one).',
      ),
    );
  }
  if (config.memory.fusedBackwardPass && (optimizer.type !== 'AdaFactor' || config.gradientAccumulationSteps !== 1)) {
    issues.push(
      issue(
        'fused-backward-pass',
        'error',
        'memory.fusedBackwardPass',
        'The fused backward pass works only with the AdaFactor optimizer and gradient accumulation 1.',
        'Turn memory.fusedBackwardPass off, or use AdaFactor with gradientAccumulationSteps 1.',
      ),
    );
  }
  return issues;
}

function precision(config: KohyaRunConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { mixed, fullHalf, fp8Base } = config.precision;
  if (mixed !== 'no') return issues;
  issues.push(
    issue('mixed-precision-off', 'warning', 'precision.mixed', 'Training in full 32-bit precision needs about twice the memory; the kohya docs call mixed precision essential.', 'Set precision.mixed to "bf16" (or "fp16" on GPUs without bf16).'),
  );
  if (fullHalf) {
    issues.push(
      issue('full-half-needs-mixed-precision', 'error', 'precision.fullHalf', 'Full fp16/bf16 training requires the matching mixed precision; with none sd-scripts stops.', 'Set precision.mixed to "fp16" or "bf16", or turn fullHalf off.'),
    );
  }
  if (fp8Base) {
    issues.push(issue('fp8-needs-mixed-precision', 'error', 'precision.fp8Base', 'An fp8 base model needs mixed precision.', 'Set precision.mixed to "bf16" or "fp16", or turn fp8Base off.'));
  }
  return issues;
}

function memory(config: KohyaRunConfig): ValidationIssue[] {
  if (!(config.memory.cpuOffloadCheckpointing && config.memory.blocksToSwap !== undefined)) return [];
  return [
    issue(
      'cpu-offload-with-blocks-to-swap',
      'error',
      'memory.cpuOffloadCheckpointing',
      'CPU offload checkpointing cannot be combined with block swapping.',
      'Use one of them: memory.blocksToSwap saves more memory, cpuOffloadCheckpointing up to 1 GB.',
    ),
  ];
}

function noise(config: KohyaRunConfig): ValidationIssue[] {
  const { offset, adaptiveScale, offsetRandomStrength } = config.noise;
  const issues: ValidationIssue[] = [];
  if (adaptiveScale !== undefined && offset === undefined) {
    issues.push(issue('adaptive-noise-without-offset', 'error', 'noise.adaptiveScale', 'The adaptive noise scale adds to the noise offset, and no offset is set.', 'Set noise.offset (for example 0.1), or remove noise.adaptiveScale.'));
  }
  if (offsetRandomStrength && offset === undefined) {
    issues.push(issue('noise-option-unused', 'warning', 'noise.offsetRandomStrength', 'Random offset strength has no effect without a noise offset.', 'Set noise.offset, or turn offsetRandomStrength off.'));
  }
  return issues;
}

function sampling(config: KohyaRunConfig): ValidationIssue[] {
  const { prompts, everyNEpochs, everyNSteps, atFirst } = config.sampling;
  const scheduled = everyNEpochs !== undefined || everyNSteps !== undefined || atFirst;
  const issues: ValidationIssue[] = [];
  if (prompts.length > 0 && !scheduled) {
    issues.push(issue('sampling-never', 'warning', 'sampling', 'Sample prompts are set but no sampling cadence, so no samples are rendered.', 'Set sampling.everyNEpochs (for example 1) or sampling.everyNSteps.'));
  }
  if (prompts.length === 0 && scheduled) {
    issues.push(issue('sampling-without-prompts', 'warning', 'sampling.prompts', 'A sampling cadence is set but there are no prompts, so nothing is rendered.', 'Add at least one prompt to sampling.prompts.'));
  }
  if (everyNEpochs !== undefined && everyNSteps !== undefined) {
    issues.push(issue('sampling-epochs-and-steps', 'info', 'sampling.everyNSteps', 'sd-scripts samples by epoch when both cadences are set; everyNSteps is ignored.', 'Keep only one of sampling.everyNEpochs and sampling.everyNSteps.'));
  }
  return issues;
}

function saving(config: KohyaRunConfig): ValidationIssue[] {
  const { saveState, saveStateOnTrainEnd, keepLastNEpochsState } = config.saving;
  const issues: ValidationIssue[] = [];
  if (!saveState && !saveStateOnTrainEnd) {
    issues.push(issue('save-state-off', 'info', 'saving.saveState', 'No training state is saved, so a stopped or failed run cannot resume; it can only start over.', 'Turn saving.saveState on (it costs disk space per save).'));
  }
  if (keepLastNEpochsState !== undefined && !saveState) {
    issues.push(issue('state-retention-without-state', 'warning', 'saving.keepLastNEpochsState', 'State folders are only kept per epoch when saveState is on.', 'Turn saving.saveState on, or remove keepLastNEpochsState.'));
  }
  return issues;
}

function datasets(config: KohyaRunConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  config.datasets.forEach((dataset, d) => {
    if (seen.has(dataset.dataset)) {
      issues.push(
        issue(
          'dataset-duplicate',
          'warning',
          `datasets[${d}].dataset`,
          `Dataset ${dataset.dataset} is listed twice; every image is trained twice per epoch.`,
          'Remove the second entry, or raise the subsets’ repeats instead.',
        ),
      );
    }
    seen.add(dataset.dataset);
    const groups: Array<[string, ReadonlyArray<{ name: string }>]> = [
      [`datasets[${d}].subsets`, dataset.subsets],
      ...dataset.regularisation.map((reg, r): [string, ReadonlyArray<{ name: string }>] => [`datasets[${d}].regularisation[${r}].subsets`, reg.subsets]),
    ];
    for (const [path, subsets] of groups) {
      const names = new Set<string>();
      subsets.forEach((subset, s) => {
        if (names.has(subset.name)) {
          issues.push(
            issue('subset-override-duplicate', 'error', `${path}[${s}].name`, `Subset ${subset.name} has two override entries; it is unclear which applies.`, 'Merge the two entries into one.'),
          );
        }
        names.add(subset.name);
      });
    }
  });
  return issues;
}

export function checkKohyaTraining(config: KohyaRunConfig): ValidationIssue[] {
  return [
    ...textEncoders(config),
    ...augmentation(config),
    ...optimizerAndScheduler(config),
    ...precision(config),
    ...memory(config),
    ...noise(config),
    ...sampling(config),
    ...saving(config),
    ...datasets(config),
  ];
}
