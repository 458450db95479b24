import { describe, expect, it } from 'vitest';
import { parseKohyaRunConfig } from '../schema/index.ts';
import { importKohyaGuiJson } from './kohya-gui-json.ts';
import { GUI_FIXTURE, withFakeIds } from './spec-fixtures.ts';
import type { ImportSuccess } from './types.ts';

function imported(text: string): ImportSuccess {
  const result = importKohyaGuiJson(text);
  if (!result.ok) throw new Error(result.error.message);
  return result;
}

describe('importKohyaGuiJson on the B1 fixture', () => {
  const result = imported(GUI_FIXTURE);
  const config = parseKohyaRunConfig(withFakeIds(result));

  it('parses once the missing model and dataset are named', () => {
    expect(result.missing).toEqual([
      { field: 'model.base', role: 'model' },
      { field: 'datasets[0].dataset', role: 'train-data-dir' },
    ]);
    expect(result.operatorPaths).toEqual([]);
    expect(config.model.base).toBe('model-modelbase');
  });

  it('picks the SDXL trainer and maps the GUI keys (HEAD semantics)', () => {
    expect(config.family).toBe('sdxl');
    expect(config.resolution).toEqual({ width: 1024, height: 768 });
    expect(config.optimizer).toEqual({ type: 'AdamW8bit', args: { weightDecay: 0.01, betas: [0.9, 0.99] } });
    expect(config.network).toMatchObject({ type: 'locon', module: 'networks.lora', convDim: 8, convAlpha: 4, trainTextEncoders: false });
    expect(config.learningRate).toEqual({ base: 0.0001, unet: 0.0001 });
    expect(config.scheduler).toMatchObject({ type: 'cosine_with_restarts', cycles: 1, warmupRatio: 0.05, warmupSteps: 0 });
    expect(config.memory.attention).toBe('sdpa');
    expect(config.model.noHalfVae).toBe(true);
    expect(config.model.clipSkip).toBe(2);
    expect(config.seed).toBeUndefined();
    expect(config.duration).toEqual({ unit: 'epochs', epochs: 10 });
  });

  it('gates noise by noise_offset_type and applies the CLI tail', () => {
    expect(config.noise.offset).toBeUndefined();
    expect(config.noise.multiresDiscount).toBe(0.3);
    expect(config.maxGradNorm).toBe(0.5);
    expect(config.noise.debiasedEstimation).toBe(true);
  });

  it('reports the gated-out noise offset as the only unmapped key', () => {
    expect(result.unmapped).toEqual([{ key: 'noise_offset', value: 0.05, reason: 'not written by the GUI: noise_offset_type is Multires' }]);
    expect(result.notes.join('\n')).toMatch(/v23 used epoch = 10/);
    expect(result.notes.join('\n')).toMatch(/v24 wrote round\(5% of max_train_steps\) steps/);
  });
});

describe('importKohyaGuiJson', () => {
  it('keeps an absolute lr_warmup_steps over the percentage (v25+)', () => {
    const result = imported(JSON.stringify({ lr_warmup: 10, lr_warmup_steps: 50, lr_scheduler: 'cosine', max_train_steps: 1000 }));
    expect(result.config.scheduler).toMatchObject({ warmupSteps: 50 });
  });

  it('maps LyCORIS types, legacy LoCon and Original noise', () => {
    const result = imported(
      JSON.stringify({ LoRA_type: 'LyCORIS/LoKr', factor: 8, network_dim: 8, noise_offset_type: 'Original', noise_offset: 0.1, multires_noise_iterations: 6, pretrained_model_name_or_path: '/m/a.safetensors', train_data_dir: '/d', output_dir: '/out' }),
    );
    expect(result.config.network).toMatchObject({ type: 'lokr', lokrFactor: 8, module: 'lycoris.kohya' });
    expect(result.config.noise).toMatchObject({ offset: 0.1 });
    expect(result.unmapped.map((entry) => entry.key)).toContain('multires_noise_iterations');
    expect(result.operatorPaths.map((entry) => entry.role)).toEqual(['model', 'train-data-dir']);
    expect(result.notes.join('\n')).toContain('output_dir "/out" is not kept');
    expect(imported(JSON.stringify({ LoRA_type: 'LoCon' })).config.network).toMatchObject({ type: 'locon' });
  });

  it('turns TE-only learning rates into an unmapped network_train_text_encoder_only', () => {
    const result = imported(JSON.stringify({ text_encoder_lr: 0.0001, unet_lr: 0 }));
    expect(result.unmapped.map((entry) => entry.key)).toContain('network_train_text_encoder_only');
  });

  it('coerces legacy strings and the use_wandb flag', () => {
    const result = imported(JSON.stringify({ max_train_epochs: '50', seed: '7', clip_skip: '1', use_wandb: 'True', wandb_api_key: 'secret', xformers: true }));
    expect(result.config.duration).toEqual({ unit: 'epochs', epochs: 50 });
    expect(result.config.seed).toBe(7);
    expect(result.config.memory).toMatchObject({ attention: 'xformers' });
    expect(result.unmapped).toContainEqual({ key: 'log_with', value: 'wandb', reason: 'logging is configured by the studio' });
    expect(JSON.stringify(result.unmapped)).not.toContain('secret');
  });

  it('parses sample prompts the GUI keeps as text', () => {
    const result = imported(JSON.stringify({ sample_prompts: 'a dog --n blurry --w 512 --h 768 --d 1 --s 30 --l 7\nsecond prompt' }));
    expect(result.config.sampling?.prompts).toEqual([{ prompt: 'a dog', negative: 'blurry', width: 512, height: 768, seed: 1, steps: 30, cfgScale: 7 }, { prompt: 'second prompt' }]);
  });

  it('refuses a resume folder', () => {
    const result = importKohyaGuiJson(JSON.stringify({ resume: '/runs/old/state' }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('resume-refused');
  });

  it('reports invalid JSON', () => {
    const result = importKohyaGuiJson('{');
    expect(result.ok === false && result.error.code).toBe('parse-failed');
  });
});
