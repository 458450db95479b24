import { describe, expect, it } from 'vitest';
import { parseKohyaRunConfig } from '../schema/index.ts';
import { importKohyaToml } from './kohya-toml.ts';
import { KOHYA_FIXTURE, withFakeIds } from './spec-fixtures.ts';
import type { ImportSuccess } from './types.ts';

function imported(text: string, family?: 'sd1' | 'sdxl'): ImportSuccess {
  const result = importKohyaToml(text, { family });
  if (!result.ok) throw new Error(result.error.message);
  return result;
}

describe('importKohyaToml', () => {
  const result = imported(KOHYA_FIXTURE);
  const config = parseKohyaRunConfig(withFakeIds(result));

  it('flattens the sections and lists every path for the operator', () => {
    expect(result.operatorPaths.map((entry) => [entry.field, entry.path, entry.role])).toEqual([
      ['model.base', '/models/sdxl/base.safetensors', 'model'],
      ['model.vae', '/models/sdxl/vae.safetensors', 'vae'],
      ['datasets[0].dataset', '/data/train', 'train-data-dir'],
      ['datasets[0].regularisation[0].dataset', '/data/reg', 'reg-data-dir'],
    ]);
    expect(config.datasets).toEqual([{ dataset: 'dataset-fake', subsets: [], regularisation: [{ dataset: 'reg-fake', subsets: [] }] }]);
  });

  it('maps sd-scripts options onto the run config, coercing "1.0"', () => {
    expect(config.family).toBe('sdxl');
    expect(config.maxGradNorm).toBe(1);
    expect(config.network).toMatchObject({ type: 'locon', convDim: 8, convAlpha: 4, dim: 32, alpha: 16, trainTextEncoders: false });
    expect(config.optimizer).toEqual({ type: 'Prodigy', args: { decouple: true, weightDecay: 0.01, betas: [0.9, 0.99], useBiasCorrection: true } });
    expect(config.scheduler).toMatchObject({ type: 'cosine', warmupSteps: 100 });
    expect(config.memory).toMatchObject({ gradientCheckpointing: true, cacheLatents: 'memory', attention: 'sdpa' });
    expect(config.captions).toMatchObject({ extension: '.txt', shuffle: true, keepTokens: 1 });
    expect(config.saving.everyNEpochs).toBe(2);
    expect(config).toMatchObject({ name: 'mychar', seed: 42, batchSize: 2, duration: { unit: 'epochs', epochs: 8 } });
  });

  it('reports what has no field, and rewrites output and logging folders', () => {
    expect(result.unmapped.map((entry) => entry.key)).toEqual(['network_args.loraplus_lr_ratio', 'optimizer_args.foo', 'log_with']);
    expect(result.notes.filter((note) => note.includes('is not kept'))).toHaveLength(2);
    expect(result.notes.join('\n')).toContain('guessed as sdxl');
  });

  it('takes the family from the operator or from the model files', () => {
    expect(imported('pretrained_model_name_or_path = "/m"\nresolution = "1024"\n', 'sd1').config.family).toBe('sd1');
    expect(imported('ae = "/a"\nclip_l = "/c"\nt5xxl = "/t"\n').config.family).toBe('flux1');
    expect(imported('ae = "/a"\nt5xxl = "/t"\nmodel_type = "chroma"\n').config.family).toBe('chroma');
    expect(imported('clip_g = "/g"\n').config.family).toBe('sd3');
    expect(imported('gemma2 = "/g"\n').config.family).toBe('lumina2');
    expect(imported('v2 = true\n').config.family).toBe('sd2');
  });

  it('maps LyCORIS modules and reports the ones lorasmith does not offer', () => {
    expect(imported('network_module = "lycoris.kohya"\nnetwork_args = ["algo=loha", "conv_dim=4"]\n').config.network).toMatchObject({ type: 'loha', convDim: 4 });
    expect(imported('network_module = "lycoris.kohya"\nnetwork_args = ["algo=lora", "dora_wd=True"]\n').config.network).toMatchObject({ type: 'dora' });
    const ia3 = imported('network_module = "lycoris.kohya"\nnetwork_args = ["algo=ia3"]\n');
    expect(ia3.unmapped.map((entry) => entry.key)).toEqual(['network_args.algo']);
    expect(imported('network_module = "networks.dylora"\n').unmapped.map((entry) => entry.key)).toEqual(['network_module']);
  });

  it('keeps sd-scripts defaults where lorasmith’s differ', () => {
    const bare = imported('pretrained_model_name_or_path = "/m"\n', 'sd1');
    expect(bare.config.precision).toMatchObject({ mixed: 'no' });
    expect(bare.config.memory).toMatchObject({ gradientCheckpointing: false, attention: 'default' });
    expect(bare.config.duration).toEqual({ unit: 'steps', steps: 1600 });
    expect(bare.config.optimizer).toEqual({ type: 'AdamW', args: {} });
    expect(bare.config.network).toMatchObject({ dim: 4, alpha: 1, trainTextEncoders: true });
  });

  it('records a prompt file and a dataset config as operator paths', () => {
    const result = imported('sample_prompts = "/p.txt"\ndataset_config = "/d.toml"\ntrain_data_dir = "/ignored"\n', 'sd1');
    expect(result.operatorPaths.map((entry) => [entry.field, entry.role])).toEqual([
      ['datasets[0].dataset', 'dataset-config'],
      ['sampling.prompts', 'sample-prompts'],
    ]);
    expect(result.unmapped.map((entry) => entry.key)).toEqual(['train_data_dir']);
  });

  it('refuses a resume folder and bad TOML', () => {
    const resume = importKohyaToml('resume = "/other/state"\n');
    expect(resume.ok).toBe(false);
    if (!resume.ok) {
      expect(resume.error.code).toBe('resume-refused');
      expect(resume.operatorPaths).toEqual([{ field: 'resume', path: '/other/state', role: 'resume', source: 'resume' }]);
    }
    const bad = importKohyaToml('x = = 1');
    expect(bad.ok === false && bad.error.code).toBe('parse-failed');
  });

  it('drops __proto__ keys', () => {
    const result = imported('[x]\n__proto__ = { polluted = true }\nnetwork_dim = 8\n', 'sd1');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(result.config.network).toMatchObject({ dim: 8 });
  });
});
