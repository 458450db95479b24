import { describe, expect, it } from 'vitest';
import { parseKohyaRunConfig, type KohyaFamily, type KohyaRunConfig } from '../../schema/index.ts';
import { applyPreset, RUN_PRESETS } from '../../presets/index.ts';
import { kohyaModels, kohyaRun } from '../../validate/spec-fixtures.ts';
import { kohyaRunLayout } from './layout.ts';
import { kohyaDryRun } from './launch.ts';
import { mapKohyaRun, mapKohyaRunDetailed, networkArgsOf, optimizerArgsOf, type ResolvedRunInputs } from './map-run-config.ts';
import { renderConfigToml } from './write-config-toml.ts';
import { renderDatasetToml } from './write-dataset-toml.ts';
import type { KohyaRunInput } from './types.ts';

const layout = kohyaRunLayout('/runs/r1');
const paths = { outputDir: layout.outputDir, loggingDir: layout.loggingDir, tokenizerCacheDir: '/engines/kohya/cache/tokenizers', samplePromptsFile: '/runs/r1/sample-prompts.txt' };

/** Absolute paths for every model id a config names, and one dataset with two subsets. */
function resolvedFor(config: KohyaRunConfig): ResolvedRunInputs {
  const file = (id: string | undefined) => (id === undefined ? undefined : `/ws/models/${id}.safetensors`);
  const models: ResolvedRunInputs['models'] = { base: `/ws/models/${config.model.base}.safetensors` };
  for (const key of ['vae', 'clipL', 'clipG', 't5xxl', 'gemma2'] as const) {
    const found = file(config.model[key]);
    if (found !== undefined) models[key] = found;
  }
  const weights = file(config.network.initialWeights);
  if (weights !== undefined) models.initialWeights = weights;
  return {
    models,
    datasets: config.datasets.map((ref) => ({
      name: ref.dataset,
      dir: `/ws/datasets/${ref.dataset}`,
      subsets: [
        { name: 'dog', dir: `/ws/datasets/${ref.dataset}/dog`, repeats: 10, classTokens: 'sks dog', isReg: false, captionExtension: '.txt', files: ['a.png', 'b.jpg'] },
        { name: 'close ups', dir: `/ws/datasets/${ref.dataset}/close ups`, repeats: 2, classTokens: '', isReg: false, captionExtension: '.txt', files: ['c.webp'] },
      ],
      regularisation: ref.regularisation.map((reg) => ({
        name: reg.dataset,
        dir: `/ws/datasets/${reg.dataset}`,
        subsets: [{ name: 'dog', dir: `/ws/datasets/${reg.dataset}/dog`, repeats: 1, classTokens: 'dog', isReg: true, captionExtension: '.txt', files: ['r.png'] }],
      })),
    })),
  };
}

function render(input: KohyaRunInput) {
  const config = renderConfigToml({ script: input.script, args: input.args }, paths);
  const dataset = renderDatasetToml({ script: input.script, ...(input.general === undefined ? {} : { general: input.general }), datasets: input.datasets, args: input.args }, layout);
  return { config, dataset };
}

describe('mapKohyaRun on every preset', () => {
  it.each(RUN_PRESETS.map((preset) => [preset.name, preset] as const))('%s maps to options its script has and renders both TOMLs', (_, preset) => {
    const config = applyPreset({ preset, model: kohyaModels(preset.family), datasets: [{ dataset: 'dogs' }], name: 'my-lora' });
    const { input, skipped } = mapKohyaRunDetailed({ config, resolved: resolvedFor(config) });
    expect(skipped).toEqual([]);
    const { config: toml, dataset } = render(input);
    expect(toml.text).toContain('output_name = "my-lora"');
    expect(toml.text).toContain('save_state = true');
    expect(toml.text).toContain('save_model_as = "safetensors"');
    expect(toml.text).toContain('pretrained_model_name_or_path = "/ws/models/');
    expect(dataset.subsets.map((subset) => subset.name)).toEqual(['dog', 'close ups']);
    expect(dataset.text).toContain('num_repeats = 10');
    expect(dataset.text).toContain('class_tokens = "sks dog"');
  });
});

describe('mapKohyaRun field by field', () => {
  it('SD 1.x: v-prediction, clip skip, LoCon conv args, dropout, AdamW args, warm-up, seed', () => {
    const config = kohyaRun('sd1', (c) => {
      c.model.vPrediction = true;
      c.model.clipSkip = 2;
      c.network = { ...c.network, type: 'locon', convDim: 8, convAlpha: 4, rankDropout: 0.1, moduleDropout: 0.05, dropout: 0.1, trainTextEncoders: true };
      c.optimizer = { type: 'AdamW', args: { weightDecay: 0.01, betas: [0.9, 0.99] } };
      c.learningRate = { base: 1e-4, unet: 2e-4, textEncoder: 5e-5 };
      c.scheduler = { ...c.scheduler, type: 'cosine_with_restarts', warmupSteps: 100, cycles: 3 };
      c.seed = 42;
    });
    const { args } = mapKohyaRun({ config, resolved: resolvedFor(config) });
    expect(args).toMatchObject({
      v_parameterization: true,
      clip_skip: 2,
      network_module: 'networks.lora',
      network_args: ['conv_dim=8', 'conv_alpha=4', 'rank_dropout=0.1', 'module_dropout=0.05'],
      network_dropout: 0.1,
      optimizer_type: 'AdamW',
      optimizer_args: ['weight_decay=0.01', 'betas=(0.9,0.99)'],
      unet_lr: 2e-4,
      text_encoder_lr: [5e-5],
      lr_scheduler: 'cosine_with_restarts',
      lr_warmup_steps: 100,
      lr_scheduler_num_cycles: 3,
      seed: 42,
    });
    expect(args.network_train_unet_only).toBeUndefined();
    expect(args.v2).toBeUndefined();
    expect(() => render(mapKohyaRun({ config, resolved: resolvedFor(config) }))).not.toThrow();
  });

  it('SD 2.x sets --v2; LyCORIS types go through lycoris.kohya with algo', () => {
    const loha = kohyaRun('sd2', (c) => {
      c.network.type = 'loha';
    });
    expect(mapKohyaRun({ config: loha, resolved: resolvedFor(loha) }).args).toMatchObject({ v2: true, network_module: 'lycoris.kohya', network_args: ['algo=loha'] });
    const lokr = kohyaRun('sdxl', (c) => {
      c.network = { ...c.network, type: 'lokr', lokrFactor: -1 };
    });
    expect(networkArgsOf(lokr, 'sdxl')).toEqual(['algo=lokr', 'factor=-1']);
    const dora = kohyaRun('sdxl', (c) => {
      c.network.type = 'dora';
    });
    expect(networkArgsOf(dora, 'sdxl')).toEqual(['algo=lora', 'dora_wd=True']);
  });

  it('a plain lora never writes conv_dim (the schema says the conv rank is ignored)', () => {
    const config = kohyaRun('sdxl', (c) => {
      c.network.convDim = 8;
    });
    expect(networkArgsOf(config, 'sdxl')).toEqual([]);
  });

  it('FLUX.1: --ae, clip_l, t5xxl, fp8, caching to disk, block swap, flow options; Chroma adds model_type and the T5 mask', () => {
    const flux = kohyaRun('flux1', (c) => {
      c.precision.fp8Base = true;
      c.memory = { ...c.memory, cacheLatents: 'disk', cacheTextEncoderOutputs: 'disk', blocksToSwap: 16 };
      c.captions.shuffle = false;
      c.flow = { timestepSampling: 'flux_shift', guidanceScale: 1, modelPredictionType: 'raw', discreteFlowShift: 3.1582 };
    });
    const args = mapKohyaRun({ config: flux, resolved: resolvedFor(flux) }).args;
    expect(args).toMatchObject({
      ae: '/ws/models/flux-ae.safetensors',
      clip_l: '/ws/models/clip-l.safetensors',
      t5xxl: '/ws/models/t5.safetensors',
      network_module: 'networks.lora_flux',
      fp8_base: true,
      cache_latents: true,
      cache_latents_to_disk: true,
      cache_text_encoder_outputs: true,
      cache_text_encoder_outputs_to_disk: true,
      blocks_to_swap: 16,
      timestep_sampling: 'flux_shift',
      guidance_scale: 1,
      network_train_unet_only: true,
    });
    expect(args.vae).toBeUndefined();
    expect(args.model_type).toBeUndefined();
    const chroma = kohyaRun('chroma');
    expect(mapKohyaRun({ config: chroma, resolved: resolvedFor(chroma) }).args).toMatchObject({ model_type: 'chroma', apply_t5_attn_mask: true });
    expect(() => render(mapKohyaRun({ config: chroma, resolved: resolvedFor(chroma) }))).not.toThrow();
  });

  it('Lumina and SD3 map their encoders; precision, noise, saving and scheduler options', () => {
    const lumina = kohyaRun('lumina2');
    expect(mapKohyaRun({ config: lumina, resolved: resolvedFor(lumina) }).args).toMatchObject({ ae: '/ws/models/lumina-ae.safetensors', gemma2: '/ws/models/gemma.safetensors', network_module: 'networks.lora_lumina' });
    const sd3 = kohyaRun('sd3', (c) => {
      c.precision = { mixed: 'bf16', fullHalf: true, fp8Base: false, save: 'fp16' };
      c.noise = { ...c.noise, offset: 0.1, adaptiveScale: 0.01, multiresIterations: 6, minSnrGamma: 5, debiasedEstimation: true };
      c.saving = { ...c.saving, everyNSteps: 500, keepLastNEpochs: 3, keepLastNEpochsState: 2 };
      c.scheduler = { ...c.scheduler, type: 'cosine_with_min_lr', warmupSteps: 0, warmupRatio: 0.05, minLrRatio: 0.1 };
      c.duration = { unit: 'steps', steps: 1500 };
      c.flow.trainingShift = 3;
    });
    const args = mapKohyaRun({ config: sd3, resolved: resolvedFor(sd3) }).args;
    expect(args).toMatchObject({
      clip_l: '/ws/models/clip-l.safetensors',
      clip_g: '/ws/models/clip-g.safetensors',
      t5xxl: '/ws/models/t5.safetensors',
      full_bf16: true,
      save_precision: 'fp16',
      noise_offset: 0.1,
      adaptive_noise_scale: 0.01,
      multires_noise_iterations: 6,
      multires_noise_discount: 0.3,
      min_snr_gamma: 5,
      debiased_estimation_loss: true,
      save_every_n_steps: 500,
      save_last_n_epochs: 3,
      save_last_n_epochs_state: 2,
      lr_warmup_steps: 0.05,
      lr_scheduler_min_lr_ratio: 0.1,
      max_train_steps: 1500,
      training_shift: 3,
    });
    expect(args.max_train_epochs).toBeUndefined();
    expect(() => render(mapKohyaRun({ config: sd3, resolved: resolvedFor(sd3) }))).not.toThrow();
  });

  it('Adafactor gets the kohya docs recipe as optimizer args; Prodigy its own', () => {
    expect(optimizerArgsOf({ type: 'AdaFactor', args: { relativeStep: false, scaleParameter: false, warmupInit: false } })).toEqual(['relative_step=False', 'scale_parameter=False', 'warmup_init=False']);
    expect(optimizerArgsOf({ type: 'Prodigy', args: { decouple: true, useBiasCorrection: true, safeguardWarmup: true, dCoef: 2 } })).toEqual(['decouple=True', 'use_bias_correction=True', 'safeguard_warmup=True', 'd_coef=2']);
  });

  it('captions, buckets and augmentation go to [general]; per-subset overrides to the subset; regularisation subsets are is_reg', () => {
    const config = parseKohyaRunConfig({
      schema: 'lorasmith/run@1',
      kind: 'kohya',
      family: 'sdxl',
      model: { base: 'sdxl-base' },
      datasets: [{ dataset: 'dogs', regularisation: [{ dataset: 'reg-dogs' }] }],
      resolution: { width: 1024, height: 768 },
      buckets: { enabled: true, maxReso: 2048 },
      captions: { shuffle: true, keepTokens: 1, keepTokensSeparator: '|||', prefix: 'photo of', dropoutRate: 0.05, maxTokenLength: 225 },
      augmentation: { flip: true },
    });
    const resolved = resolvedFor(config);
    const first = resolved.datasets[0]?.subsets[0];
    if (first !== undefined) {
      first.shuffleCaption = false;
      first.keepTokens = 0;
    }
    const input = mapKohyaRun({ config, resolved });
    expect(input.general).toMatchObject({ resolution: [1024, 768], enable_bucket: true, max_bucket_reso: 2048, shuffle_caption: true, keep_tokens: 1, keep_tokens_separator: '|||', caption_prefix: 'photo of', caption_dropout_rate: 0.05, flip_aug: true });
    expect(input.args.max_token_length).toBe(225);
    expect(input.datasets[0]?.subsets.map((subset) => [subset.name, subset.is_reg === true, subset.shuffle_caption])).toEqual([
      ['dog', false, false],
      ['close ups', false, undefined],
      ['reg-reg-dogs-dog', true, undefined],
    ]);
    const { dataset } = render(input);
    expect(dataset.text).toContain('is_reg = true');
    expect(dataset.text).toContain('resolution = [1024, 768]');
  });

  it('sample prompts become the adapter prompts, with the cadence only when there are prompts', () => {
    const config = kohyaRun('sdxl', (c) => {
      c.sampling = { prompts: [{ prompt: 'sks dog on a beach', negative: 'blurry', width: 1024, height: 1024, seed: 7, steps: 28, cfgScale: 6 }], everyNEpochs: 2, atFirst: true, sampler: 'euler_a' };
    });
    const input = mapKohyaRun({ config, resolved: resolvedFor(config) });
    expect(input.samplePrompts).toEqual([{ prompt: 'sks dog on a beach', negative_prompt: 'blurry', width: 1024, height: 1024, seed: 7, sample_steps: 28, scale: 6 }]);
    expect(input.args).toMatchObject({ sample_every_n_epochs: 2, sample_at_first: true, sample_sampler: 'euler_a' });
    const dry = kohyaDryRun(input, { engine: { python: '/e/venv/bin/python', venvDir: '/e/venv', engineRoot: '/e/sd-scripts', tokenizerCacheDir: '/e/cache/tokenizers' } });
    expect(Object.keys(dry.files)).toEqual(['<run>/run.toml', '<run>/dataset.toml', '<run>/sample-prompts.txt']);
    const none = kohyaRun('sdxl', (c) => {
      c.sampling.everyNEpochs = 2;
    });
    expect(mapKohyaRun({ config: none, resolved: resolvedFor(none) }).args.sample_every_n_epochs).toBeUndefined();
  });

  it('continues from existing weights; output name and seed from the job when the config has none', () => {
    const config = kohyaRun('sd1', (c) => {
      c.network.initialWeights = 'old-lora';
      c.network.dimFromWeights = true;
    });
    const args = mapKohyaRun({ config, resolved: { ...resolvedFor(config), outputName: 'job-123', seed: 99 } }).args;
    expect(args).toMatchObject({ network_weights: '/ws/models/old-lora.safetensors', dim_from_weights: true, output_name: 'job-123', seed: 99 });
  });

  it('leaves out what the family does not use and says so', () => {
    const config = kohyaRun('sdxl', (c) => {
      c.model.clipSkip = 2;
    });
    const { input, skipped } = mapKohyaRunDetailed({ config, resolved: resolvedFor(config) });
    expect(input.args.clip_skip).toBeUndefined();
    expect(skipped).toEqual([{ option: 'clip_skip', reason: 'sdxl does not use --clip_skip' }]);
    const chroma = kohyaRun('chroma', (c) => {
      c.model.clipL = 'clip-l';
    });
    expect(mapKohyaRunDetailed({ config: chroma, resolved: resolvedFor(chroma) }).skipped.map((s) => s.option)).toEqual(['clip_l']);
  });

  it('refuses a family without a trainer and a dataset count that does not match', () => {
    const config = kohyaRun('sdxl');
    expect(() => mapKohyaRun({ config: { ...config, family: 'anima' }, resolved: resolvedFor(config) })).toThrow(/anima/);
    expect(() => mapKohyaRun({ config, resolved: { ...resolvedFor(config), datasets: [] } })).toThrow(/resolved/);
  });

  it.each(['sd1', 'sd2', 'sdxl', 'sd3', 'flux1', 'chroma', 'lumina2'] as KohyaFamily[])('%s: the validator fixture renders', (family) => {
    const config = kohyaRun(family);
    expect(() => render(mapKohyaRun({ config, resolved: resolvedFor(config) }))).not.toThrow();
  });
});
