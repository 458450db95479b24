import { describe, expect, it } from 'vitest';
import { parseKohyaRunConfig } from '../schema/index.ts';
import { importLetToml } from './let-toml.ts';
import { LETS_FIXTURE, withFakeIds } from './spec-fixtures.ts';
import type { ImportSuccess } from './types.ts';

function imported(text: string): ImportSuccess {
  const result = importLetToml(text);
  if (!result.ok) throw new Error(result.error.message);
  return result;
}

describe('importLetToml on the B2 fixture', () => {
  const result = imported(LETS_FIXTURE);
  const config = parseKohyaRunConfig(withFakeIds(result));

  it('lists the model and the subset folder as operator paths and parses once they are substituted', () => {
    expect(result.operatorPaths).toEqual([
      { field: 'model.base', path: '/models/base.safetensors', role: 'model', source: 'pretrained_model_name_or_path' },
      { field: 'datasets[0].dataset', path: '/data/main', role: 'train-data-dir', source: 'subsets[0].image_dir' },
    ]);
    expect(result.missing).toEqual([]);
    expect(config.datasets).toEqual([{ dataset: 'dataset-fake', subsets: [{ name: 'main', include: true, repeats: 3 }], regularisation: [] }]);
  });

  it('maps the sections as the Backend does', () => {
    expect(config.family).toBe('sdxl');
    expect(config.memory.attention).toBe('sdpa');
    expect(config.seed).toBeUndefined();
    expect(config.duration).toEqual({ unit: 'epochs', epochs: 10 });
    expect(config.resolution).toEqual({ width: 1024, height: 768 });
    expect(config.batchSize).toBe(2);
    expect(config.network).toMatchObject({ type: 'locon', convDim: 8, dim: 16, alpha: 8 });
    expect(config.name).toBe('mychar_v1');
    expect(config.captions.extension).toBe('.txt');
    expect(config.scheduler.type).toBe('cosine');
    expect(config.scheduler.cycles).toBe(1);
    expect(config.scheduler.warmupRatio).toBeUndefined();
  });

  it('applies the UI defaults for keys the file lacks', () => {
    expect(config.precision.mixed).toBe('fp16');
    expect(config.model.clipSkip).toBe(2);
    expect(config.captions.maxTokenLength).toBe(225);
  });

  it('reports the custom optimizer and scheduler with the arguments the Backend would pass', () => {
    expect(result.unmapped).toEqual([
      { key: 'network_args.up_lr_weight', value: '1.0,0.5', reason: expect.any(String) },
      { key: 'optimizer_type', value: 'LoraEasyCustomOptimizer.came.CAME', reason: expect.any(String) },
      { key: 'optimizer_args', value: ['weight_decay=0.04', 'use_bias_correction=True'], reason: expect.any(String) },
      { key: 'lr_scheduler_type', value: 'LoraEasyCustomOptimizer.RexAnnealingWarmRestarts.RexAnnealingWarmRestarts', reason: expect.any(String) },
      { key: 'lr_scheduler_args', value: ['min_lr=1e-06', 'gamma=0.9', 'warmup_steps=round(S*0.1)//2', 'first_cycle_max_steps=S//2'], reason: expect.any(String) },
    ]);
    expect(result.notes.join('\n')).toContain('min_timestep, seed');
    expect(result.notes.join('\n')).toContain('output_dir "/out" is not kept');
  });
});

describe('importLetToml', () => {
  it('turns warmup_ratio into a warm-up ratio without a custom scheduler', () => {
    const result = imported('[optimizer_args.args]\nlr_scheduler = "cosine"\nwarmup_ratio = 0.1\nlr_scheduler_num_cycles = 2\n');
    expect(result.config.scheduler).toMatchObject({ type: 'cosine', warmupRatio: 0.1, cycles: 2 });
  });

  it('maps a built-in optimizer with string arguments', () => {
    const result = imported('[optimizer_args.args]\noptimizer_type = "Prodigy"\n[optimizer_args.args.optimizer_args]\ndecouple = "true"\nweight_decay = "0.1"\nbetas = "(0.9,0.99)"\n');
    expect(result.config.optimizer).toEqual({ type: 'Prodigy', args: { decouple: true, weightDecay: 0.1, betas: [0.9, 0.99] } });
  });

  it('refuses textual inversion and a resume folder', () => {
    const ti = importLetToml('[train_mode]\ntrain_mode = "textual_inversion"\n');
    expect(ti.ok === false && ti.error.code).toBe('not-a-lora-run');
    const resume = importLetToml('[saving_args.args]\nresume = "/states/${replace}"\neasy_name = "x"\n');
    expect(resume.ok).toBe(false);
    if (!resume.ok) {
      expect(resume.error.code).toBe('resume-refused');
      expect(resume.error.message).toContain('/states/x');
    }
  });

  it('makes regularisation subsets a regularisation dataset', () => {
    const result = imported('[[subsets]]\nimage_dir = "/data/a"\nnum_repeats = 2\n[[subsets]]\nimage_dir = "/data/reg"\nis_reg = true\n');
    expect(result.config.datasets).toEqual([{ dataset: '/data/a', subsets: [{ name: 'a', repeats: 2 }], regularisation: [{ dataset: '/data/reg' }] }]);
    expect(result.operatorPaths.map((entry) => [entry.field, entry.role])).toEqual([
      ['datasets[0].dataset', 'train-data-dir'],
      ['datasets[0].regularisation[0].dataset', 'reg-data-dir'],
    ]);
  });
});
