import { describe, expect, it } from 'vitest';
import { parseKohyaRunConfig } from '../schema/index.ts';
import { importKtiseosPreset, splitKtiseosOptimizerArgs } from './ktiseos.ts';
import { KTISEOS_FIXTURE, withFakeIds } from './spec-fixtures.ts';
import type { ImportSuccess } from './types.ts';

function imported(text: string): ImportSuccess {
  const result = importKtiseosPreset(text);
  if (!result.ok) throw new Error(result.error.message);
  return result;
}

describe('importKtiseosPreset on the B3 fixture', () => {
  const result = imported(KTISEOS_FIXTURE);
  const config = parseKohyaRunConfig(withFakeIds(result));

  it('names no paths, so the model and dataset are missing inputs', () => {
    expect(result.operatorPaths).toEqual([]);
    expect(result.missing.map((entry) => entry.field)).toEqual(['model.base', 'datasets[0].dataset']);
  });

  it('maps the preset as KohyaTOMLGenerator does, with conv_dim moved into the network', () => {
    expect(config.family).toBe('sdxl');
    expect(config.network).toMatchObject({ type: 'dora', module: 'lycoris.kohya', dim: 16, alpha: 8, convDim: 4 });
    expect(config.scheduler).toMatchObject({ cycles: 3, warmupRatio: 0.05 });
    expect(config.memory.attention).toBe('sdpa');
    expect(config.noise.minSnrGamma).toBeUndefined();
    expect(config.duration).toEqual({ unit: 'epochs', epochs: 10 });
    expect(config.resolution).toEqual({ width: 1024, height: 1024 });
    expect(config.batchSize).toBe(2);
    expect(config.learningRate.unet).toBe(0.0001);
  });

  it('reports CAME, rex, the gated min_snr_gamma, the duplicate weight_decay and the repeats', () => {
    expect(result.unmapped).toEqual([
      { key: 'min_snr_gamma', value: 5, reason: 'not written: min_snr_gamma_enabled is off' },
      { key: 'weight_decay', value: 0.04, reason: 'already in optimizer_args' },
      { key: 'num_repeats', value: 5, reason: expect.stringContaining('no dataset subset') },
      { key: 'optimizer_type', value: 'LoraEasyCustomOptimizer.came.CAME', reason: expect.any(String) },
      { key: 'optimizer_args', value: ['betas=(0.9,0.999)', 'weight_decay=0.01'], reason: expect.any(String) },
      { key: 'lr_scheduler_type', value: 'LoraEasyCustomOptimizer.RexAnnealingWarmRestarts.RexAnnealingWarmRestarts', reason: expect.any(String) },
      { key: 'lr_scheduler_args', value: ['gamma=0.9', 'first_cycle_max_steps=S//3'], reason: expect.any(String) },
    ]);
  });
});

describe('importKtiseosPreset', () => {
  it('reads flat built-in presets and their paths', () => {
    const result = imported(
      JSON.stringify({ name: 'b', description: '', model_type: 'Flux', is_builtin: true, lora_type: 'LoRA', vae_path: '/m/ae.safetensors', t5xxl_path: '/m/t5.safetensors', continue_from_lora: '/l/x.safetensors', optimizer_type: 'AdamW8bit', optimizer_args: 'weight_decay=0.1', weight_decay: 0.1 }),
    );
    expect(result.config.family).toBe('flux1');
    expect(result.config.optimizer).toEqual({ type: 'AdamW8bit', args: { weightDecay: 0.1 } });
    // FLUX.1 takes its autoencoder as ae_path; vae_path names a file the Flux trainer does not read.
    expect(result.unmapped.map((entry) => entry.key)).toContain('vae');
    expect(result.operatorPaths.map((entry) => [entry.field, entry.role])).toEqual([
      ['model.t5xxl', 'text-encoder'],
      ['network.initialWeights', 'network-weights'],
    ]);
    expect(result.unmapped.map((entry) => entry.key)).toContain('weight_decay');
  });

  it('refuses resume_from_state', () => {
    const result = importKtiseosPreset(JSON.stringify({ model_type: 'SDXL', config: { resume_from_state: '/s' } }));
    expect(result.ok === false && result.error.code).toBe('resume-refused');
  });

  it('turns on multires noise with its default iterations', () => {
    expect(imported(JSON.stringify({ model_type: 'SD1.5', multinoise: true, multires_noise_discount: 0.3 })).config.noise).toMatchObject({ multiresIterations: 6, multiresDiscount: 0.3 });
  });
});

describe('splitKtiseosOptimizerArgs', () => {
  it.each([
    ['"betas=(0.9, 0.999)",weight_decay=0.01', ['betas=(0.9,0.999)', 'weight_decay=0.01']],
    ['weight_decay=0.1 betas=0.9,0.99', ['weight_decay=0.1', 'betas=0.9,0.99']],
    ["decouple=True, d_coef=2 'use_bias_correction=True'", ['decouple=True', 'd_coef=2', 'use_bias_correction=True']],
    ['', []],
  ])('%s', (text, expected) => {
    expect(splitKtiseosOptimizerArgs(text)).toEqual(expected);
  });
});
