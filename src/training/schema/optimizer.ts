/**
 * sd-scripts' optimizers (kohya-sd-scripts.md §3.3, `train_util.get_optimizer`) with typed arguments instead of
 * kohya's free-text `optimizer_args` (`k=v` strings evaluated as Python). Each family of optimizers gets only
 * the arguments its class takes. Arbitrary dotted class names are not offered: a config naming one would make
 * sd-scripts import and run any module the environment can reach.
 */
import { z } from 'zod';

const weightDecay = z.number().min(0).max(1).describe('Weight decay (kohya optimizer argument `weight_decay`).');
const beta = z.number().min(0).max(0.99999);
const betas = z
  .tuple([beta, beta])
  .describe('The two Adam-style moving-average coefficients β1 and β2, for example [0.9, 0.999] (`betas`).');
const eps = z.number().min(1e-12).max(1e-2).describe('Small constant added for numerical stability (`eps`).');
const momentum = z.number().min(0).max(0.9999).describe('Momentum factor (`momentum`).');
const warmupSteps = z
  .number()
  .int()
  .min(0)
  .max(1_000_000)
  .describe("Steps over which the schedule-free optimizer warms its learning rate up (`warmup_steps`); it replaces the scheduler's warm-up.");

const ADAM_OPTIMIZERS = ['AdamW', 'AdamW8bit', 'PagedAdamW', 'PagedAdamW8bit', 'PagedAdamW32bit'] as const;
const LION_OPTIMIZERS = ['Lion', 'Lion8bit', 'PagedLion8bit'] as const;
const SGD_OPTIMIZERS = ['SGDNesterov', 'SGDNesterov8bit'] as const;
const DADAPT_OPTIMIZERS = ['DAdaptation', 'DAdaptAdaGrad', 'DAdaptAdam', 'DAdaptAdan', 'DAdaptAdanIP', 'DAdaptLion', 'DAdaptSGD'] as const;

const KEEP_OWN_DEFAULTS = 'Arguments passed to the optimizer; unset ones keep the optimizer’s own default.';

/** One optimizer family: its `type` and only the arguments its class takes (unknown ones refused). */
function optimizerVariant<Type extends z.ZodType, Args extends z.ZodRawShape>(type: Type, args: Args, argsDescription: string = KEEP_OWN_DEFAULTS) {
  return z.object({ type, args: z.object(args).strict().prefault({} as z.input<z.ZodObject<Args>>).describe(argsDescription) }).strict();
}

const adamLike = optimizerVariant(
  z.enum(ADAM_OPTIMIZERS).describe('AdamW and its 8-bit and paged variants (bitsandbytes). AdamW8bit saves memory at little cost.'),
  { weightDecay: weightDecay.optional(), betas: betas.optional(), eps: eps.optional() },
);

const lion = optimizerVariant(
  z.enum(LION_OPTIMIZERS).describe('Lion and its 8-bit and paged variants.'),
  { weightDecay: weightDecay.optional(), betas: betas.optional() },
);

const sgd = optimizerVariant(
  z.enum(SGD_OPTIMIZERS).describe('SGD with Nesterov momentum, plain or 8-bit.'),
  { momentum: momentum.optional(), weightDecay: weightDecay.optional() },
);

const dadapt = optimizerVariant(
  z.enum(DADAPT_OPTIMIZERS).describe('D-Adaptation optimizers, which find the step size themselves; set the learning rate near 1.0 (`DAdaptation` is DAdaptAdamPreprint).'),
  { weightDecay: weightDecay.optional() },
);

const prodigy = optimizerVariant(
  z.literal('Prodigy').describe('Prodigy, an adaptive optimizer that estimates the step size; set the learning rate near 1.0.'),
  {
    weightDecay: weightDecay.optional(),
    betas: betas.optional(),
    decouple: z.boolean().optional().describe('Apply weight decay AdamW-style, separate from the gradient (`decouple`).'),
    useBiasCorrection: z.boolean().optional().describe('Use Adam bias correction (`use_bias_correction`).'),
    safeguardWarmup: z
      .boolean()
      .optional()
      .describe('Keep the step-size estimate from growing too fast during scheduler warm-up (`safeguard_warmup`).'),
    d0: z.number().min(1e-10).max(1e-2).optional().describe('Initial step-size estimate (`d0`).'),
    dCoef: z.number().min(0.01).max(10).optional().describe('Multiplier on the estimated step size (`d_coef`).'),
  },
);

const adafactor = optimizerVariant(
  z.literal('AdaFactor').describe('Adafactor: low memory, the only optimizer that supports the fused backward pass.'),
  {
    relativeStep: z
      .boolean()
      .default(false)
      .describe(
        'Let Adafactor pick its own time-dependent learning rate (`relative_step`). Left on, kohya forces the "adafactor" scheduler and ignores the U-Net and text-encoder rates.',
      ),
    scaleParameter: z.boolean().default(false).describe('Scale the learning rate by the size of each weight (`scale_parameter`).'),
    warmupInit: z.boolean().default(false).describe('Start from a tiny learning rate and grow it (`warmup_init`; needs relativeStep).'),
  },
  'Arguments passed to the optimizer; the defaults are the kohya docs recipe (all three off).',
);

const adamWScheduleFree = optimizerVariant(
  z.literal('AdamWScheduleFree').describe('Schedule-free AdamW: no learning-rate schedule needed; kohya gives it a dummy scheduler.'),
  { weightDecay: weightDecay.optional(), betas: betas.optional(), warmupSteps: warmupSteps.optional() },
);

const radamScheduleFree = optimizerVariant(
  z.literal('RAdamScheduleFree').describe('Schedule-free RAdam: no learning-rate schedule and no warm-up needed.'),
  { weightDecay: weightDecay.optional(), betas: betas.optional() },
);

const sgdScheduleFree = optimizerVariant(
  z.literal('SGDScheduleFree').describe('Schedule-free SGD with momentum.'),
  { momentum: momentum.optional(), weightDecay: weightDecay.optional(), warmupSteps: warmupSteps.optional() },
);

export const optimizerSchema = z
  .discriminatedUnion('type', [adamLike, lion, sgd, dadapt, prodigy, adafactor, adamWScheduleFree, radamScheduleFree, sgdScheduleFree])
  .describe('The optimizer (kohya `--optimizer_type`) and its arguments (`--optimizer_args`).');

export type OptimizerConfig = z.output<typeof optimizerSchema>;
export type OptimizerType = OptimizerConfig['type'];

const SCHEDULE_FREE: ReadonlySet<OptimizerType> = new Set(['AdamWScheduleFree', 'RAdamScheduleFree', 'SGDScheduleFree']);
const ADAPTIVE: ReadonlySet<OptimizerType> = new Set<OptimizerType>([...DADAPT_OPTIMIZERS, 'Prodigy']);

/** Schedule-free optimizers get a dummy scheduler from kohya (kohya-sd-scripts.md §3.3). */
export function isScheduleFree(type: OptimizerType): boolean {
  return SCHEDULE_FREE.has(type);
}

/** Optimizers that estimate their own step size and expect a learning rate around 1.0. */
export function isAdaptive(type: OptimizerType): boolean {
  return ADAPTIVE.has(type);
}
