/**
 * A FluxFlow run: training FluxFlow's own small text-to-image model from scratch, always in pipeline mode
 * (legacy mode crashes at the first epoch end, fluxflow.md §5.8). Only what pipeline mode reads is offered;
 * what it parses and ignores, what needs the network the sandbox never has, and what validates but fails at
 * runtime is listed in `FLUXFLOW_DEAD_FIELDS`, so the form can show it disabled with the reason
 * (fluxflow.md §1.2, §5; DESIGN.md §4). Defaults are `fluxflow-train`'s CLI defaults (§1.1), not FluxFlow UI's,
 * which differ (§5.5); the adapter writes every value explicitly.
 */
import { z } from 'zod';
import { RUN_SCHEMA_ID, datasetName, libraryId, outputName, singleLine, subsetName } from './fields.ts';

/** Model parts a step may freeze; `flow` and `discriminator` pass FluxFlow's validator but are no model keys at runtime. */
export const FLUXFLOW_COMPONENTS = ['compressor', 'expander', 'flow_processor', 'text_encoder', 'D_img'] as const;

/** The optimisers and schedulers FluxFlow's factories can build (§5.10); others validate, then fail mid-run. */
export const FLUXFLOW_OPTIMIZERS = ['Lion', 'AdamW', 'Adam', 'SGD', 'RMSprop'] as const;
export const FLUXFLOW_SCHEDULERS = ['CosineAnnealingLR', 'LinearLR', 'ExponentialLR', 'ConstantLR', 'StepLR', 'ReduceLROnPlateau'] as const;

/**
 * A strict object whose refusal of an unknown key names the reason when the key is a FluxFlow setting lorasmith
 * does not offer (`useLpips`, `webdatasetUrl`, …): PROC-R03 wants a run that would need the network refused
 * with the reason, not with "unrecognized key". `prefix` is where this object sits in FluxFlow's YAML.
 */
function refusingDeadKeys(prefix: string): { error: (issue: z.core.$ZodRawIssue) => string | undefined } {
  return {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      return issue.keys
        .map((key) => {
          const reason = deadFieldReason(prefix, key);
          return reason === undefined ? `Unrecognized key: ${JSON.stringify(key)}` : `${JSON.stringify(key)} is not offered: ${reason}`;
        })
        .join('; ');
    },
  };
}

/** The reason a key (ours in camelCase, or FluxFlow's own) at `prefix` is not offered; undefined for a plain typo. */
export function deadFieldReason(prefix: string, key: string): string | undefined {
  const snake = key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
  for (const dead of FLUXFLOW_DEAD_FIELDS) {
    for (const field of dead.field.split(', ')) {
      // `…type: webdataset` and `…metric (other than …)` refuse values, not keys.
      if (/[:(]/.test(field) || !field.startsWith(prefix)) continue;
      const rest = field.slice(prefix.length);
      const [head, ...tail] = rest.split('.');
      // A whole dead section (`optimization`) counts only as the direct parent of a dead key.
      const matches = head === snake ? tail.length <= 1 : tail.length === 0 && head?.endsWith('*') === true && snake.startsWith(head.slice(0, -1));
      if (matches) return dead.reason;
    }
  }
  return undefined;
}

const lr = z.number().min(0).max(1);
const beta = z.number().min(0).max(0.99999);

const optimizerSchema = z
  .strictObject({
    type: z.enum(FLUXFLOW_OPTIMIZERS).describe('Optimiser class.'),
    lr: lr.describe('Learning rate of this component.'),
    betas: z.tuple([beta, beta]).optional().describe('β1 and β2 for Lion, Adam and AdamW.'),
    weightDecay: z.number().min(0).max(1).optional().describe('Weight decay.'),
    eps: z.number().min(1e-12).max(1e-2).optional().describe('Numerical-stability constant (Adam, AdamW, RMSprop).'),
    momentum: z.number().min(0).max(0.9999).optional().describe('Momentum (SGD, RMSprop).'),
    alpha: z.number().min(0).max(1).optional().describe('Smoothing constant (RMSprop).'),
    centered: z.boolean().optional().describe('Centred RMSprop.'),
    amsgrad: z.boolean().optional().describe('AMSGrad variant (Adam, AdamW).'),
    decoupledWeightDecay: z.boolean().optional().describe('Decoupled weight decay (Lion).'),
  }, refusingDeadKeys('training.pipeline.steps[].optimization.optimizers.*.'))
  .describe('The optimiser of one model component.');

const schedulerSchema = z
  .strictObject({
    type: z.enum(FLUXFLOW_SCHEDULERS).describe('Scheduler class.'),
    etaMinFactor: z.number().min(0).max(1).optional().describe('Lowest learning rate as a fraction of the start (CosineAnnealingLR).'),
    startFactor: z.number().min(0).max(10).optional().describe('Starting multiplier (LinearLR, ConstantLR).'),
    endFactor: z.number().min(0).max(10).optional().describe('Final multiplier (LinearLR).'),
    totalIters: z.number().int().min(1).max(100_000_000).optional().describe('Iterations the change takes (LinearLR, ConstantLR).'),
    stepSize: z.number().int().min(1).max(100_000_000).optional().describe('Iterations between decays (StepLR).'),
    gamma: z.number().min(0).max(1).optional().describe('Decay multiplier (StepLR, ExponentialLR).'),
    mode: z.enum(['min', 'max']).optional().describe('Whether the watched loss should fall or rise (ReduceLROnPlateau).'),
    factor: z.number().min(0).max(1).optional().describe('Multiplier applied on a plateau (ReduceLROnPlateau).'),
    patience: z.number().int().min(0).max(1_000_000).optional().describe('Checks without improvement before reducing (ReduceLROnPlateau).'),
  }, refusingDeadKeys('training.pipeline.steps[].optimization.schedulers.*.'))
  .describe('The learning-rate scheduler of one model component.');

function perComponent<T extends z.ZodType>(schema: T, what: string) {
  return z
    .object({
      flow: schema.optional().describe(`${what} of the flow model (every trainDiff step needs an optimiser here).`),
      vae: schema.optional().describe(`${what} of the VAE (every trainVae, ganTraining or trainSpade step needs an optimiser here).`),
      textEncoder: schema.optional().describe(`${what} of the text encoder; it is trained only when it has an optimiser.`),
      discriminator: schema.optional().describe(`${what} of the GAN discriminator.`),
    })
    .strict();
}

const transitionSchema = z
  .discriminatedUnion('mode', [
    z.object({ mode: z.literal('epoch').describe('Move on after nEpochs.') }).strict(),
    z
      .object({
        mode: z.literal('loss_threshold').describe('Move on early once a loss falls below a threshold.'),
        metric: z
          .enum(['vae_loss', 'flow_loss'])
          .describe('The loss watched (a 20-sample moving average, checked at epoch end); FluxFlow records only these two.'),
        threshold: z.number().min(0).max(1_000_000).describe('Move on once the loss is below this.'),
        maxEpochs: z.number().int().min(1).max(100_000).describe('Move on after this many epochs anyway (capped by nEpochs).'),
      })
      .strict(),
  ])
  .describe('When the step ends and the next begins.');

const stepNamePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;

const stepSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(40)
      .regex(stepNamePattern)
      .describe('Name of the step, unique in the run: letters, digits, "_" and "-". FluxFlow uses it in metric and sample file names.'),
    description: singleLine(500).optional().describe('A note about the step, for people.'),
    nEpochs: z.number().int().min(1).max(100_000).describe('Epochs of this step.'),
    maxSteps: z.number().int().min(1).max(100_000_000).optional().describe('Cap on batches per epoch.'),
    dataset: datasetName.optional().describe('A lorasmith dataset for this step only; unset uses the run’s dataset.'),
    trainVae: z.boolean().default(false).describe('Train the VAE (compressor and expander).'),
    ganTraining: z.boolean().default(false).describe('Train the VAE adversarially against a discriminator.'),
    trainSpade: z.boolean().default(false).describe('Train SPADE conditioning in the VAE decoder.'),
    trainDiff: z.boolean().default(false).describe('Train the flow (diffusion) model.'),
    trainDiffFull: z.boolean().default(false).describe('Train the full flow model (behaves like trainDiff in this FluxFlow version).'),
    useEma: z.boolean().default(true).describe('Keep an exponential moving average of the VAE weights (about twice the VAE weights in GPU memory).'),
    klBeta: z.number().min(0).max(10).default(1e-4).describe('Weight of the VAE’s KL loss.'),
    klWarmupSteps: z.number().int().min(0).max(100_000_000).default(5000).describe('Steps over which the KL weight rises to klBeta.'),
    klFreeBits: z.number().min(0).max(100).default(0).describe('KL free bits: KL below this per dimension is not penalised.'),
    lambdaAdv: z.number().min(0).max(10).default(0.5).describe('Weight of the adversarial (GAN) loss.'),
    mseWeight: z.number().min(0).max(10).default(0.1).describe('Weight of the pixel MSE loss of the VAE.'),
    r1Interval: z.number().int().min(1).max(100_000).default(16).describe('Steps between R1 gradient penalties on the discriminator.'),
    r1Gamma: z.number().min(0).max(1000).default(5).describe('Strength of the R1 penalty.'),
    instanceNoiseStd: z.number().min(0).max(1).default(0.01).describe('Standard deviation of the noise added to discriminator inputs.'),
    instanceNoiseDecay: z.number().min(0).max(1).default(0.9999).describe('Per-step decay of that noise.'),
    adaptiveWeights: z.boolean().default(true).describe('Balance the VAE losses adaptively.'),
    freeze: z.array(z.enum(FLUXFLOW_COMPONENTS)).max(5).default([]).describe('Components whose weights stay fixed from this step on, until a later step unfreezes them.'),
    unfreeze: z.array(z.enum(FLUXFLOW_COMPONENTS)).max(5).default([]).describe('Components frozen by an earlier step to train again.'),
    lr: lr.optional().describe('Learning rate of the step when it lists no optimisers; unset uses training.lr.'),
    optimizers: perComponent(optimizerSchema, 'Optimiser').prefault({}).describe('Optimisers per component; a trained component without one is silently skipped by FluxFlow.'),
    schedulers: perComponent(schedulerSchema, 'Scheduler').prefault({}).describe('Learning-rate schedulers per component; none keeps the learning rate constant.'),
    transition: transitionSchema.prefault({ mode: 'epoch' }),
  }, refusingDeadKeys('training.pipeline.steps[].'))
  .describe('One step of the training pipeline.');

const testImageSchema = z
  .object({
    subset: subsetName.describe('Subset (folder) of the run’s dataset.'),
    file: z
      .string()
      .min(5)
      .max(255)
      .regex(/^(?!\.)[^/\\\u0000-\u001f\u007f]+\.(?:png|jpg|jpeg|webp)$/u)
      .describe('Image file name in that subset.'),
  })
  .strict()
  .describe('One image the VAE reconstructs at each save.');

const sampleSizeSchema = z
  .object({
    width: z.number().int().min(16).max(2048).multipleOf(16).describe('Sample width in pixels, a multiple of 16.'),
    height: z.number().int().min(16).max(2048).multipleOf(16).describe('Sample height in pixels, a multiple of 16.'),
  })
  .strict()
  .describe('One sample image size.');

export const fluxflowRunSchema = z
  .strictObject({
    schema: z.literal(RUN_SCHEMA_ID).describe('Version of this config format.'),
    kind: z.literal('fluxflow').describe('A FluxFlow run: trains FluxFlow’s own text-to-image model from scratch (not a LoRA).'),
    name: outputName.optional().describe('Name of the trained model in the library. Unset uses the job id.'),
    fineTuneFrom: libraryId
      .optional()
      .describe('Library id of a FluxFlow checkpoint to start from (`model_checkpoint`) instead of random weights; its text encoder is copied along.'),
    data: z
      .strictObject({
        dataset: datasetName.describe('Name of the lorasmith dataset to train on; lorasmith writes FluxFlow’s captions file from its captions.'),
        imgSize: z.number().int().min(64).max(2048).default(1024).describe('Largest training image side in pixels (`img_size`).'),
        channels: z.number().int().min(1).max(4).default(3).describe('Image channels (`channels`); 3 for RGB.'),
        fixedPromptPrefix: singleLine(500).optional().describe('Text put before every caption (`fixed_prompt_prefix`).'),
        reducedMinSizes: z
          .array(z.number().int().min(64).max(2048))
          .max(8)
          .default([])
          .describe('Smaller training sizes for multi-resolution training (`reduced_min_sizes`), e.g. 256, 512.'),
      }, refusingDeadKeys('data.'))
      .describe('The run’s dataset (FluxFlow’s top-level `data:` section, which every run must have).'),
    model: z
      .strictObject({
        vaeDim: z.number().int().min(8).max(1024).default(128).describe('Latent channels of the VAE (`vae_dim`).'),
        featureMapsDim: z.number().int().min(8).max(4096).default(128).describe('Width of the flow model (`feature_maps_dim`).'),
        featureMapsDimDisc: z.number().int().min(1).max(1024).default(8).describe('Width of the discriminator (`feature_maps_dim_disc`).'),
        textEmbeddingDim: z.number().int().min(64).max(4096).default(1024).describe('Size of the text embedding (`text_embedding_dim`).'),
        useGradientCheckpointing: z.boolean().default(true).describe('Recompute activations to save memory (`use_gradient_checkpointing`).'),
        pretrainedTextEncoder: z
          .boolean()
          .default(true)
          .describe('Start the text encoder from pretrained DistilBERT (`pretrained_bert_model: distilbert-base-uncased`, read from the engine cache). Off leaves it random.'),
      }, refusingDeadKeys('model.'))
      .prefault({})
      .describe('Model dimensions; a fine-tune must match the checkpoint’s.'),
    training: z
      .strictObject({
        batchSize: z.number().int().min(1).max(64).default(2).describe('Images per batch (`training.batch_size`).'),
        workers: z.number().int().min(1).max(32).default(1).describe('Image-loading processes (`training.workers`).'),
        useFp16: z.boolean().default(false).describe('Train in 16-bit floats (`training.use_fp16`).'),
        initialClippingNorm: z.number().min(0.01).max(100).default(1).describe('Gradient clipping norm (`training.initial_clipping_norm`).'),
        lr: lr.default(5e-7).describe('Learning rate of steps that list no optimisers (`training.lr`).'),
      }, refusingDeadKeys('training.'))
      .prefault({})
      .describe('Run-wide training settings (pipeline mode reads these here, not per step).'),
    output: z
      .strictObject({
        logInterval: z.number().int().min(1).max(100_000).default(10).describe('Batches between metric records (`log_interval`).'),
        checkpointSaveInterval: z.number().int().min(1).max(1_000_000).default(50).describe('Batches between checkpoint saves (`checkpoint_save_interval`); a stop loses what came after the last save.'),
        samples: z.boolean().default(true).describe('Render sample images at each save (`no_samples` off, `samples_per_checkpoint` on).'),
        sampleCaptions: z
          .array(singleLine(1000).min(1))
          .max(16)
          .default(['A sample caption'])
          .describe('Captions rendered as samples (`sample_captions`).'),
        sampleSizes: z.array(sampleSizeSchema).min(1).max(8).default([{ width: 512, height: 512 }]).describe('Sizes the samples are rendered at (`sample_sizes`).'),
        testImages: z
          .array(testImageSchema)
          .max(8)
          .default([])
          .describe('Images of the run’s dataset the VAE reconstructs at each save (`test_image_address`), to watch VAE quality.'),
      }, refusingDeadKeys('output.'))
      .prefault({})
      .describe('Logging, checkpoints and samples.'),
    pipeline: z
      .strictObject({ steps: z.array(stepSchema).min(1).max(32).describe('The steps, run in order.') }, refusingDeadKeys('training.pipeline.'))
      .describe('The training pipeline (`training.pipeline`).'),
  }, refusingDeadKeys(''))
  .describe('A FluxFlow run in pipeline mode.');

export type FluxflowRunConfig = z.output<typeof fluxflowRunSchema>;
export type FluxflowRunInput = z.input<typeof fluxflowRunSchema>;
export type FluxflowStep = FluxflowRunConfig['pipeline']['steps'][number];

export interface DeadField {
  /** FluxFlow's own key, as a path in its YAML config. */
  field: string;
  reason: string;
}

const PARSED_NOT_READ = 'Parsed but never read in pipeline mode, the only mode lorasmith runs.';
const NEEDS_NETWORK = 'Needs network access, which training runs never have.';

/** FluxFlow settings lorasmith does not offer, for the form to show disabled (fluxflow.md §1.2, §5). */
export const FLUXFLOW_DEAD_FIELDS: readonly DeadField[] = [
  { field: 'training.pipeline.steps[].batch_size', reason: `${PARSED_NOT_READ} Set training.batchSize instead.` },
  { field: 'training.pipeline.steps[].workers', reason: `${PARSED_NOT_READ} Set training.workers instead.` },
  { field: 'training.pipeline.steps[].lr_min', reason: PARSED_NOT_READ },
  { field: 'training.pipeline.steps[].use_fp16', reason: `${PARSED_NOT_READ} Set training.useFp16 instead.` },
  { field: 'training.pipeline.steps[].initial_clipping_norm', reason: `${PARSED_NOT_READ} Set training.initialClippingNorm instead.` },
  { field: 'training.pipeline.steps[].cfg_dropout_prob', reason: 'No FluxFlow code path uses it: classifier-free-guidance dropout is never trained (fluxflow.md §5.9).' },
  { field: 'training.pipeline.steps[].use_lpips', reason: `${NEEDS_NETWORK} LPIPS downloads VGG weights on first use.` },
  { field: 'training.pipeline.steps[].lambda_lpips', reason: 'Only weights the LPIPS loss, which is not offered.' },
  { field: 'training.pipeline.steps[].freeze: flow | discriminator', reason: 'Pass validation but are no model keys at runtime; use flow_processor and D_img.' },
  { field: 'training.pipeline.steps[].optimization.optimizers.*.type: Adagrad | Adadelta', reason: 'Pass validation, then fail when the step starts, possibly hours in.' },
  { field: 'training.pipeline.steps[].optimization.schedulers.*.type: MultiStepLR', reason: 'Passes validation, then fails when the step starts.' },
  { field: 'training.pipeline.steps[].transition_on.metric (other than vae_loss, flow_loss)', reason: 'Never recorded, so the transition never fires.' },
  { field: 'training.pipeline.datasets.*.type: webdataset', reason: `${NEEDS_NETWORK} It also needs a token that FluxFlow passes to a shell.` },
  { field: 'data.use_webdataset', reason: `${NEEDS_NETWORK} It also needs a token that FluxFlow passes to a shell.` },
  { field: 'data.webdataset_*', reason: NEEDS_NETWORK },
  { field: 'data.use_tt2m, data.tt2m_token', reason: `Deprecated aliases of the WebDataset source. ${NEEDS_NETWORK}` },
  { field: 'data.dataloader_max_retries, data.dataloader_retry_delay', reason: PARSED_NOT_READ },
  { field: 'data.tokenizer_name', reason: 'Fixed to distilbert-base-uncased: the only tokenizer the offline engine cache holds.' },
  { field: 'optimization.optim_sched_config', reason: `${PARSED_NOT_READ} Set optimisers per step.` },
  { field: 'training.lr_min', reason: `${PARSED_NOT_READ} No scheduler exists without per-step schedulers.` },
  { field: 'training.preserve_lr', reason: PARSED_NOT_READ },
  { field: 'training.training_steps', reason: PARSED_NOT_READ },
  { field: 'training.kl_beta, training.kl_warmup_steps, training.kl_free_bits', reason: `${PARSED_NOT_READ} Set them per step.` },
  {
    field: 'training.train_vae, training.gan_training, training.use_lpips, training.train_spade, training.train_diff, training.train_diff_full',
    reason: `${PARSED_NOT_READ} Set the modes per step.`,
  },
  { field: 'output.generate_diagrams, output.log_level, output.log_file', reason: 'Appear in FluxFlow’s examples but are not mapped from the YAML.' },
];
