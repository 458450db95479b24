/**
 * A LoRA run trained by kohya-ss sd-scripts. Fields are lorasmith's (camelCase, grouped the way the form shows
 * them); each description names the sd-scripts option it becomes, so the generated reference page doubles as
 * the mapping. Defaults are sd-scripts' argparse defaults unless a description says otherwise: where kohya's
 * default only suits full fine-tuning (learning rate 2e-6) or silently wastes memory (no mixed precision),
 * lorasmith starts from the kohya docs' LoRA example instead (kohya-sd-scripts.md §1.2, §3).
 *
 * Cross-field rules (family vs network type, caching vs caption shuffling, …) live in ../validate/, so one
 * parse reports every shape error at once and the validator reports every rule with a severity and a hint.
 */
import { z } from 'zod';
import { KOHYA_BUCKET_DEFAULTS } from '../../datasets/buckets/index.ts';
import { NETWORK_MODULES, NETWORK_TYPES, RUN_FAMILIES } from './families.ts';
import { RUN_SCHEMA_ID, datasetName, libraryId, outputName, seed, singleLine, subsetName } from './fields.ts';
import { optimizerSchema } from './optimizer.ts';

const learningRate = z.number().min(0).max(10);

const modelSchema = z
  .object({
    base: libraryId.describe('Library id of the base checkpoint to train on (kohya `--pretrained_model_name_or_path`).'),
    vae: libraryId
      .optional()
      .describe(
        'Library id of the VAE. For SD 1.x/2.x/SDXL/SD3 a replacement VAE (`--vae`), optional; for FLUX.1, Chroma and Lumina the autoencoder (`--ae`), required.',
      ),
    clipL: libraryId.optional().describe('Library id of the CLIP-L text encoder (`--clip_l`): required for FLUX.1, optional for SD3 when inside the checkpoint.'),
    clipG: libraryId.optional().describe('Library id of the CLIP-G text encoder (`--clip_g`), SD3 only; optional when inside the checkpoint.'),
    t5xxl: libraryId
      .optional()
      .describe('Library id of the T5-XXL text encoder (`--t5xxl`): required for FLUX.1 and Chroma, optional for SD3. An fp8 T5-XXL saves memory on small GPUs.'),
    gemma2: libraryId.optional().describe('Library id of the Gemma 2 text encoder (`--gemma2`), required for Lumina Image 2.0.'),
    vPrediction: z
      .boolean()
      .default(false)
      .describe('The base model predicts v instead of noise (`--v_parameterization`), as SD 2.x 768 models and v-prediction SDXL fine-tunes do.'),
    clipSkip: z
      .number()
      .int()
      .min(1)
      .max(12)
      .optional()
      .describe('Use the output of an earlier CLIP layer (`--clip_skip`); 2 is common for anime SD 1.x models. Only SD 1.x/2.x use it.'),
    noHalfVae: z.boolean().default(false).describe('Keep the VAE in 32-bit floats (`--no_half_vae`); avoids black images with some SDXL VAEs in fp16.'),
  })
  .strict()
  .describe('The base model and the extra model files the family needs, all from the model library.');

const subsetOverrideSchema = z
  .object({
    name: subsetName.describe('Name of the subset (a sub-folder of the dataset) this entry changes.'),
    include: z.boolean().default(true).describe('Train on this subset. Turn off to leave it out of this run.'),
    repeats: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe("How many times each image is shown per epoch (kohya `num_repeats`); unset keeps the dataset's own value."),
    classTokens: singleLine(1000)
      .optional()
      .describe("Caption used for images without a caption file (kohya `class_tokens`), e.g. \"sks dog\"; unset keeps the dataset's own value."),
    isReg: z.boolean().optional().describe("Treat the subset as regularisation images (kohya `is_reg`); unset keeps the dataset's own value."),
    shuffleCaption: z.boolean().optional().describe('Shuffle the comma-separated tags of this subset (`shuffle_caption`), overriding the run-wide caption setting.'),
    keepTokens: z
      .number()
      .int()
      .min(0)
      .max(255)
      .optional()
      .describe('Number of leading tags kept in place when shuffling (`keep_tokens`), overriding the run-wide caption setting.'),
  })
  .strict()
  .describe('Per-subset changes for this run only; the dataset itself is not modified.');

const regularisationSchema = z
  .object({
    dataset: datasetName.describe('Name of a lorasmith dataset holding regularisation images; all its subsets are used as regularisation (`is_reg`).'),
    subsets: z
      .array(subsetOverrideSchema)
      .max(1000)
      .default([])
      .describe('Per-subset changes to the regularisation dataset, by subset name.'),
  })
  .strict()
  .describe('A regularisation dataset trained alongside: kohya balances its images to the training images × repeats, which roughly doubles the steps.');

const datasetSchema = z
  .object({
    dataset: datasetName.describe('Name of the lorasmith dataset to train on; every subset is used with its own repeats and class tokens unless changed below.'),
    subsets: z.array(subsetOverrideSchema).max(1000).default([]).describe('Per-subset changes for this run, by subset name.'),
    regularisation: z.array(regularisationSchema).max(8).default([]).describe('Regularisation datasets balanced against this dataset.'),
  })
  .strict()
  .describe('One training dataset (a kohya `[[datasets]]` entry).');

const resolutionSchema = z
  .object({
    width: z.number().int().min(64).max(4096).describe('Training width in pixels (kohya `resolution`).'),
    height: z.number().int().min(64).max(4096).describe('Training height in pixels (kohya `resolution`).'),
  })
  .strict()
  .describe('The training resolution: the area every bucket is sized around. 512×512 for SD 1.x, 768×768 for SD 2.x 768 models, 1024×1024 for SDXL, SD3 and FLUX.1.');

const bucketsSchema = z
  .object({
    enabled: z.boolean().default(KOHYA_BUCKET_DEFAULTS.enableBucket).describe('Group images by aspect ratio instead of cropping all to the resolution (`enable_bucket`).'),
    minReso: z.number().int().min(64).max(4096).default(KOHYA_BUCKET_DEFAULTS.minBucketReso).describe('Smallest bucket side in pixels (`min_bucket_reso`).'),
    maxReso: z.number().int().min(64).max(8192).default(KOHYA_BUCKET_DEFAULTS.maxBucketReso).describe('Largest bucket side in pixels (`max_bucket_reso`).'),
    stepSize: z
      .number()
      .int()
      .min(8)
      .max(256)
      .default(KOHYA_BUCKET_DEFAULTS.bucketResoSteps)
      .describe('Bucket sides are multiples of this (`bucket_reso_steps`): a multiple of 64 for SD 1.x/2.x, FLUX.1 and Lumina, of 32 for SDXL and SD3. 64 fits every family.'),
    noUpscale: z
      .boolean()
      .default(KOHYA_BUCKET_DEFAULTS.bucketNoUpscale)
      .describe('Never enlarge small images; each gets its own bucket and the min/max sides are ignored (`bucket_no_upscale`).'),
  })
  .strict()
  .describe('Aspect-ratio bucketing.');

const networkSchema = z
  .object({
    type: z
      .enum(NETWORK_TYPES)
      .default('lora')
      .describe(
        'Kind of adapter: lora everywhere; locon (LoRA that also trains 3×3 convolutions, sd-scripts `conv_dim`), loha, lokr and dora (LyCORIS, through the pinned lycoris_lora) only for SD 1.x/2.x and SDXL.',
      ),
    module: z
      .enum(NETWORK_MODULES)
      .optional()
      .describe('The sd-scripts network module (`--network_module`). Leave unset: lorasmith picks the one the family and type need; an imported config may carry one, which is then checked.'),
    dim: z.number().int().min(1).max(1024).default(16).describe('Rank of the adapter (`--network_dim`): larger learns more detail and makes bigger files. Default 16, as in the kohya docs example.'),
    alpha: z
      .number()
      .min(0)
      .max(1024)
      .default(1)
      .describe('Scale of the adapter (`--network_alpha`); the effective strength is alpha ÷ dim. alpha = dim reproduces unscaled LoRA. Default 1, as in the kohya docs example.'),
    convDim: z.number().int().min(1).max(1024).optional().describe('Rank for 3×3 convolution layers (`conv_dim`) for locon, loha, lokr and dora; LyCORIS types default it to dim.'),
    convAlpha: z.number().min(0).max(1024).optional().describe('Scale for the convolution layers (`conv_alpha`; sd-scripts default 1).'),
    dropout: z.number().min(0).max(1).optional().describe('Probability of dropping adapter neurons during training (`--network_dropout`).'),
    rankDropout: z.number().min(0).max(1).optional().describe('Probability of dropping whole ranks during training (`rank_dropout`).'),
    moduleDropout: z.number().min(0).max(1).optional().describe('Probability of skipping a whole adapted layer during a step (`module_dropout`).'),
    lokrFactor: z
      .number()
      .int()
      .min(-1)
      .max(1024)
      .optional()
      .describe('LoKr factorisation factor (`factor`); -1 picks the smallest factor. LoKr only.'),
    trainTextEncoders: z
      .boolean()
      .default(false)
      .describe(
        'Train adapters on the text encoders too. Off by default (kohya trains them unless `--network_train_unet_only`); the kohya docs highly recommend off for SDXL, and it must be off to cache text-encoder outputs.',
      ),
    initialWeights: libraryId.optional().describe('Library id of an existing LoRA to continue training from (`--network_weights`).'),
    dimFromWeights: z.boolean().default(false).describe('Take dim and alpha from the LoRA named in initialWeights (`--dim_from_weights`).'),
    scaleWeightNorms: z
      .number()
      .min(0.01)
      .max(100)
      .optional()
      .describe('Cap the weight norm of each adapter module at this value (`--scale_weight_norms`), a guard against overfitting.'),
  })
  .strict()
  .describe('The adapter being trained.');

const learningRatesSchema = z
  .object({
    base: learningRate
      .default(1e-4)
      .describe('Base learning rate (`--learning_rate`). LoRA typically uses 1e-4 to 1e-3; D-Adaptation and Prodigy expect about 1.0. Default 1e-4 (kohya docs LoRA example).'),
    unet: learningRate.optional().describe('Learning rate for the U-Net / transformer adapters (`--unet_lr`); unset uses the base rate.'),
    textEncoder: learningRate.optional().describe('Learning rate for the text-encoder adapters (`--text_encoder_lr`); unset uses the base rate. Only used when trainTextEncoders is on.'),
  })
  .strict()
  .describe('Learning rates.');

/**
 * transformers' scheduler names that sd-scripts accepts (kohya-sd-scripts.md §3.3), minus three it cannot run
 * from a plain config: `reduce_lr_on_plateau` (needs a metric sd-scripts never passes), `piecewise_constant`
 * (rules only in free-text `lr_scheduler_args`) and `adafactor` (kohya sets it itself for Adafactor).
 */
export const SCHEDULERS = [
  'constant',
  'constant_with_warmup',
  'linear',
  'cosine',
  'cosine_with_restarts',
  'polynomial',
  'inverse_sqrt',
  'cosine_with_min_lr',
  'cosine_warmup_with_min_lr',
  'warmup_stable_decay',
] as const;

const schedulerSchema = z
  .object({
    type: z.enum(SCHEDULERS).default('constant').describe('How the learning rate changes over the run (`--lr_scheduler`).'),
    warmupSteps: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .default(0)
      .describe('Steps over which the learning rate rises from 0 (`--lr_warmup_steps`). Not allowed with "constant"; use "constant_with_warmup".'),
    warmupRatio: z
      .number()
      .min(0)
      .max(0.5)
      .optional()
      .describe('Warm-up as a fraction of all steps instead of a step count (`--lr_warmup_steps` below 1). Set this or warmupSteps, not both.'),
    decaySteps: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .optional()
      .describe('Steps of the final decay of "warmup_stable_decay" (`--lr_decay_steps`).'),
    cycles: z.number().int().min(1).max(1000).default(1).describe('Number of restarts for "cosine_with_restarts" (`--lr_scheduler_num_cycles`).'),
    power: z.number().min(0.01).max(10).default(1).describe('Exponent of the "polynomial" decay (`--lr_scheduler_power`).'),
    minLrRatio: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('Lowest learning rate as a fraction of the base for "cosine_with_min_lr", "cosine_warmup_with_min_lr" and "warmup_stable_decay" (`--lr_scheduler_min_lr_ratio`).'),
  })
  .strict()
  .describe('The learning-rate schedule.');

const durationSchema = z
  .discriminatedUnion('unit', [
    z
      .object({
        unit: z.literal('epochs').describe('Count the run length in epochs (one pass over every image × its repeats).'),
        epochs: z.number().int().min(1).max(10_000).describe('Number of epochs (`--max_train_epochs`).'),
      })
      .strict(),
    z
      .object({
        unit: z.literal('steps').describe('Count the run length in optimizer steps.'),
        steps: z.number().int().min(1).max(10_000_000).describe('Number of optimizer steps (`--max_train_steps`).'),
      })
      .strict(),
  ])
  .describe('How long to train: a number of epochs or of steps.');

const precisionSchema = z
  .object({
    mixed: z
      .enum(['no', 'fp16', 'bf16'])
      .default('bf16')
      .describe('Mixed-precision training (`--mixed_precision`). bf16 by default (kohya: "no", which the docs call essential to change); fp16 for GPUs without bf16.'),
    fullHalf: z
      .boolean()
      .default(false)
      .describe('Keep the adapter weights and gradients in 16-bit too (`--full_fp16` or `--full_bf16`, matching mixed): less memory, less stable.'),
    fp8Base: z.boolean().default(false).describe('Load the base model in fp8 (`--fp8_base`); needs mixed precision. Recommended for FLUX.1 on 24 GB or less.'),
    save: z
      .enum(['float', 'fp16', 'bf16'])
      .optional()
      .describe('Precision of the saved LoRA file (`--save_precision`); unset saves in the training precision.'),
  })
  .strict()
  .describe('Number formats.');

const memorySchema = z
  .object({
    gradientCheckpointing: z
      .boolean()
      .default(true)
      .describe('Recompute activations instead of storing them (`--gradient_checkpointing`): much less memory, somewhat slower. On by default (kohya docs: "strongly recommended").'),
    cacheLatents: z
      .enum(['off', 'memory', 'disk'])
      .default('off')
      .describe('Encode every image with the VAE once before training (`--cache_latents`, `--cache_latents_to_disk`); incompatible with colour augmentation and random crop.'),
    cacheTextEncoderOutputs: z
      .enum(['off', 'memory', 'disk'])
      .default('off')
      .describe(
        'Encode every caption once and unload the text encoders (`--cache_text_encoder_outputs`, `..._to_disk`). Not for SD 1.x/2.x; needs text-encoder training off and fixed captions (no shuffling, dropout).',
      ),
    attention: z
      .enum(['sdpa', 'xformers', 'mem_eff_attn', 'default'])
      .default('sdpa')
      .describe('Attention implementation (`--sdpa`, `--xformers`, `--mem_eff_attn`); sdpa, the kohya docs choice, needs no extra package.'),
    blocksToSwap: z
      .number()
      .int()
      .min(1)
      .max(60)
      .optional()
      .describe('Number of transformer blocks kept in CPU memory and swapped in as needed (`--blocks_to_swap`); SD3, FLUX.1 and Lumina only. FLUX.1 swaps at most 35.'),
    cpuOffloadCheckpointing: z
      .boolean()
      .default(false)
      .describe('Offload checkpointed activations to the CPU (`--cpu_offload_checkpointing`): up to 1 GB less, about 15% slower. Not with blocksToSwap, not for Chroma.'),
    fusedBackwardPass: z
      .boolean()
      .default(false)
      .describe('Apply the optimizer during the backward pass to save memory (`--fused_backward_pass`); AdaFactor only, with gradient accumulation 1.'),
    vaeBatchSize: z.number().int().min(1).max(64).default(1).describe('Images encoded at once while caching latents (`--vae_batch_size`).'),
    dataLoaderWorkers: z.number().int().min(0).max(64).default(8).describe('Processes loading images (`--max_data_loader_n_workers`).'),
    persistentWorkers: z.boolean().default(false).describe('Keep the loading processes alive between epochs (`--persistent_data_loader_workers`): faster epochs, more RAM.'),
  })
  .strict()
  .describe('Options that trade speed for GPU memory.');

const noiseSchema = z
  .object({
    offset: z.number().min(0).max(1).optional().describe('Noise offset (`--noise_offset`), helps very dark and very bright images; the kohya docs suggest about 0.1.'),
    offsetRandomStrength: z.boolean().default(false).describe('Vary the noise offset randomly between 0 and its value (`--noise_offset_random_strength`).'),
    adaptiveScale: z
      .number()
      .min(-1)
      .max(1)
      .optional()
      .describe('Add to the noise offset in proportion to each latent’s mean (`--adaptive_noise_scale`); needs offset.'),
    multiresIterations: z.number().int().min(1).max(16).optional().describe('Multi-resolution (pyramid) noise iterations (`--multires_noise_iterations`).'),
    multiresDiscount: z.number().min(0).max(1).default(0.3).describe('Weight of each coarser level of multi-resolution noise (`--multires_noise_discount`).'),
    ipNoiseGamma: z.number().min(0).max(1).optional().describe('Input perturbation noise strength (`--ip_noise_gamma`).'),
    minSnrGamma: z.number().min(0.1).max(20).optional().describe('Min-SNR loss weighting (`--min_snr_gamma`); the paper recommends 5.'),
    debiasedEstimation: z.boolean().default(false).describe('Debiased estimation loss weighting (`--debiased_estimation_loss`).'),
    zeroTerminalSnr: z.boolean().default(false).describe('Rescale the noise schedule to zero terminal SNR (`--zero_terminal_snr`), for v-prediction models.'),
  })
  .strict()
  .describe('Noise and loss-weighting options.');

const captionsSchema = z
  .object({
    extension: z
      .string()
      .max(17)
      .regex(/^\.[a-z0-9]{1,16}$/)
      .default('.txt')
      .describe('File extension of the caption files (`caption_extension`); lorasmith datasets use .txt (kohya’s default is .caption).'),
    shuffle: z.boolean().default(false).describe('Shuffle the comma-separated tags of each caption every time it is used (`shuffle_caption`).'),
    keepTokens: z.number().int().min(0).max(255).default(0).describe('Number of leading tags kept in place when shuffling or dropping tags (`keep_tokens`), e.g. 1 to keep a trigger word first.'),
    keepTokensSeparator: singleLine(16)
      .min(1)
      .optional()
      .describe('Marker that ends the fixed part of a caption instead of counting tags (`keep_tokens_separator`), e.g. "|||".'),
    separator: singleLine(8).min(1).default(',').describe('Separator between tags (`caption_separator`).'),
    dropoutRate: z.number().min(0).max(1).default(0).describe('Probability of training an image with an empty caption (`caption_dropout_rate`).'),
    dropoutEveryNEpochs: z.number().int().min(0).max(10_000).default(0).describe('Drop all captions every N-th epoch (`caption_dropout_every_n_epochs`); 0 never.'),
    tagDropoutRate: z.number().min(0).max(1).default(0).describe('Probability of dropping each tag (`caption_tag_dropout_rate`).'),
    prefix: singleLine(500).optional().describe('Text put before every caption (`caption_prefix`).'),
    suffix: singleLine(500).optional().describe('Text put after every caption (`caption_suffix`).'),
    maxTokenLength: z
      .union([z.literal(75), z.literal(150), z.literal(225)])
      .default(75)
      .describe('Longest caption in CLIP tokens (`--max_token_length`); longer captions are cut. 75 is CLIP’s own limit.'),
  })
  .strict()
  .describe('How captions are read and varied.');

const augmentationSchema = z
  .object({
    flip: z.boolean().default(false).describe('Randomly mirror images left–right (`flip_aug`); avoid for asymmetric subjects or text.'),
    color: z.boolean().default(false).describe('Randomly shift hue (`color_aug`); disables latent caching.'),
    randomCrop: z.boolean().default(false).describe('Crop at random positions instead of the centre (`random_crop`); disables latent caching.'),
  })
  .strict()
  .describe('Image augmentation.');

/**
 * Flow-matching options of the DiT trainers; each exists only in some scripts (kohya-args.json), which the
 * validator checks. Unset keeps the script's default.
 */
const flowSchema = z
  .object({
    timestepSampling: z
      .enum(['sigma', 'uniform', 'sigmoid', 'shift', 'flux_shift', 'nextdit_shift'])
      .optional()
      .describe('How training timesteps are drawn (`--timestep_sampling`); FLUX.1, Chroma and Lumina. nextdit_shift is Lumina only.'),
    sigmoidScale: z.number().min(0.01).max(100).optional().describe('Scale of the sigmoid timestep sampling (`--sigmoid_scale`); FLUX.1, Chroma and Lumina.'),
    discreteFlowShift: z.number().min(0.01).max(100).optional().describe('Shift of the flow-matching schedule (`--discrete_flow_shift`); FLUX.1, Chroma and Lumina.'),
    modelPredictionType: z
      .enum(['raw', 'additive', 'sigma_scaled'])
      .optional()
      .describe('How the model output is turned into a prediction (`--model_prediction_type`); FLUX.1, Chroma and Lumina.'),
    guidanceScale: z.number().min(0).max(30).optional().describe('Embedded guidance used during training (`--guidance_scale`, kohya default 3.5); FLUX.1 and Chroma.'),
    weightingScheme: z
      .enum(['sigma_sqrt', 'logit_normal', 'mode', 'cosmap', 'none', 'uniform'])
      .optional()
      .describe('Timestep weighting scheme (`--weighting_scheme`); SD3, FLUX.1, Chroma and Lumina.'),
    trainingShift: z.number().min(0.01).max(100).optional().describe('Timestep shift for training (`--training_shift`); SD3 only.'),
    applyT5AttnMask: z
      .boolean()
      .optional()
      .describe('Mask the T5-XXL padding tokens (`--apply_t5_attn_mask`); SD3, FLUX.1 and Chroma. Chroma requires it, so unset means on for Chroma.'),
  })
  .strict()
  .describe('Flow-matching options of the transformer families (SD3, FLUX.1, Chroma, Lumina).');

const samplePromptSchema = z
  .object({
    prompt: singleLine(2000).min(1).describe('The prompt.'),
    negative: singleLine(2000).optional().describe('Negative prompt (`--n`); ignored by guidance-distilled models.'),
    width: z.number().int().min(64).max(4096).multipleOf(8).optional().describe('Image width in pixels, a multiple of 8 (`--w`, default 512).'),
    height: z.number().int().min(64).max(4096).multipleOf(8).optional().describe('Image height in pixels, a multiple of 8 (`--h`, default 512).'),
    seed: seed.optional().describe('Seed for this prompt (`--d`); unset draws a random one each time, so fix it to compare epochs.'),
    steps: z.number().int().min(1).max(1000).optional().describe('Sampling steps (`--s`; default 30 for SD/SDXL, 20 for FLUX.1).'),
    cfgScale: z.number().min(0).max(30).optional().describe('Classifier-free guidance scale (`--l`; default 7.5 for SD, 1.0 for FLUX.1).'),
    guidance: z.number().min(0).max(30).optional().describe('Embedded guidance for FLUX.1 (`--g`, default 3.5; 0 for Chroma).'),
  })
  .strict()
  .describe('One sample prompt.');

export const SAMPLE_SAMPLERS = [
  'ddim',
  'pndm',
  'lms',
  'euler',
  'euler_a',
  'heun',
  'dpm_2',
  'dpm_2_a',
  'dpmsolver',
  'dpmsolver++',
  'dpmsingle',
  'k_lms',
  'k_euler',
  'k_euler_a',
  'k_dpm_2',
  'k_dpm_2_a',
] as const;

const samplingSchema = z
  .object({
    prompts: z.array(samplePromptSchema).max(32).default([]).describe('Prompts to render during training (written to the run’s prompt file, `--sample_prompts`).'),
    everyNEpochs: z.number().int().min(1).max(10_000).optional().describe('Render the prompts every N epochs (`--sample_every_n_epochs`); wins over everyNSteps.'),
    everyNSteps: z.number().int().min(1).max(10_000_000).optional().describe('Render the prompts every N steps (`--sample_every_n_steps`).'),
    atFirst: z.boolean().default(false).describe('Also render before training starts, as a baseline (`--sample_at_first`).'),
    sampler: z.enum(SAMPLE_SAMPLERS).default('ddim').describe('Sampler for SD/SDXL samples (`--sample_sampler`).'),
  })
  .strict()
  .describe('Sample images rendered during training.');

const savingSchema = z
  .object({
    format: z
      .literal('safetensors')
      .default('safetensors')
      .describe('File format of saved LoRAs (`--save_model_as`). Only safetensors: the pickle formats ckpt and pt are not offered, as the library refuses to import unscanned pickles.'),
    everyNEpochs: z.number().int().min(1).max(10_000).optional().describe('Save a LoRA every N epochs (`--save_every_n_epochs`).'),
    everyNSteps: z.number().int().min(1).max(10_000_000).optional().describe('Save a LoRA every N steps (`--save_every_n_steps`).'),
    keepLastNEpochs: z.number().int().min(1).max(10_000).optional().describe('Keep only the newest N per-epoch files (`--save_last_n_epochs`).'),
    keepLastNSteps: z.number().int().min(1).max(10_000_000).optional().describe('Keep only per-step files of the last N steps (`--save_last_n_steps`).'),
    saveState: z
      .boolean()
      .default(false)
      .describe('Save the full training state (optimizer, scheduler, step) with every saved LoRA (`--save_state`), so a stopped run can resume.'),
    saveStateOnTrainEnd: z.boolean().default(false).describe('Save the training state only once, at the end (`--save_state_on_train_end`).'),
    keepLastNEpochsState: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe('Keep only the newest N per-epoch state folders (`--save_last_n_epochs_state`); state folders are large.'),
  })
  .strict()
  .describe('When and how the LoRA and the training state are saved.');

export const kohyaRunSchema = z
  .object({
    schema: z.literal(RUN_SCHEMA_ID).describe('Version of this config format.'),
    kind: z.literal('kohya').describe('A LoRA run trained with kohya-ss sd-scripts.'),
    name: outputName.optional().describe('Name of the trained LoRA file (`--output_name`): letters, digits, ".", "_" and "-". Unset uses the job id.'),
    family: z
      .enum(RUN_FAMILIES)
      .describe('Model family of the base model; it picks the sd-scripts trainer. hunyuan-image-2.1 and anima are recognised but cannot be trained in this version.'),
    model: modelSchema,
    datasets: z.array(datasetSchema).min(1).max(8).describe('The datasets to train on.'),
    resolution: resolutionSchema,
    buckets: bucketsSchema.prefault({}),
    batchSize: z.number().int().min(1).max(64).default(1).describe('Images per batch (`--train_batch_size`); more uses more memory.'),
    gradientAccumulationSteps: z
      .number()
      .int()
      .min(1)
      .max(256)
      .default(1)
      .describe('Batches added up before each optimizer step (`--gradient_accumulation_steps`): a larger effective batch without the memory.'),
    maxGradNorm: z.number().min(0).max(100).default(1).describe('Clip gradients to this norm (`--max_grad_norm`); 0 turns clipping off.'),
    duration: durationSchema.prefault({ unit: 'epochs', epochs: 10 }),
    network: networkSchema.prefault({}),
    optimizer: optimizerSchema.prefault({ type: 'AdamW8bit' }),
    learningRate: learningRatesSchema.prefault({}),
    scheduler: schedulerSchema.prefault({}),
    precision: precisionSchema.prefault({}),
    memory: memorySchema.prefault({}),
    noise: noiseSchema.prefault({}),
    captions: captionsSchema.prefault({}),
    augmentation: augmentationSchema.prefault({}),
    flow: flowSchema.prefault({}),
    sampling: samplingSchema.prefault({}),
    saving: savingSchema.prefault({}),
    seed: seed.optional().describe('Random seed (`--seed`); unset picks one at start and records it in the run manifest.'),
  })
  .strict()
  .describe('A LoRA run trained by kohya-ss sd-scripts.');

export type KohyaRunConfig = z.output<typeof kohyaRunSchema>;
export type KohyaRunInput = z.input<typeof kohyaRunSchema>;
export type KohyaSubsetOverride = z.output<typeof subsetOverrideSchema>;
export type KohyaDatasetRef = z.output<typeof datasetSchema>;
