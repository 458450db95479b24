import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../../core/errors.ts';
import { KOHYA_TRAINER_SCRIPTS, kohyaArg, kohyaArgsFor, type KohyaArgSpec, type KohyaTrainerScript } from './kohya-args.ts';
import { parseTomlTyped } from './toml-format.ts';
import { ADAPTER_OWNED_KEYS, renderConfigToml, toKeyValueArgs, type KohyaConfigPaths } from './write-config-toml.ts';
import type { KohyaArgValue } from './types.ts';

const RUN = '/ws/runs/job-1';
const PATHS: KohyaConfigPaths = {
  outputDir: `${RUN}/work/output`,
  loggingDir: `${RUN}/work/logs`,
  tokenizerCacheDir: '/ws/engines/kohya/cache/tokenizers',
  samplePromptsFile: `${RUN}/sample-prompts.txt`,
};

/** The raw text of `key = …` in the file. */
function rawValue(text: string, key: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`${key} = `));
  if (line === undefined) throw new Error(`no ${key} in file`);
  return line.slice(key.length + 3);
}

/** Each key exists for the script and its TOML type is what sd-scripts expects from kohya-args.json. */
function expectKeysMatchCatalogue(script: KohyaTrainerScript, text: string): number {
  const parsed = parseTomlTyped(text);
  let count = 0;
  for (const [key, value] of Object.entries(parsed)) {
    const spec = kohyaArg(script, key);
    expect(spec, `${key} is an option of ${script}`).toBeDefined();
    if (spec === undefined) continue;
    expect(typeof value === 'object' && value !== null && !Array.isArray(value), `${key} is not a table`).toBe(false);
    const raw = rawValue(text, key);
    const check = (item: unknown, rawItem: string): void => {
      switch (spec.type) {
        case 'bool(store_true)':
          expect(item, `${key} is written only when true`).toBe(true);
          break;
        case 'int':
          expect(typeof item, `${key} is an int`).toBe('bigint');
          break;
        case 'float':
          expect(typeof item, `${key} is a float`).toBe('number');
          expect(rawItem, `${key} has a decimal point`).toMatch(/\./);
          break;
        case 'int_or_float':
          if (typeof item === 'number') expect(item).toBeLessThan(1);
          else expect(typeof item).toBe('bigint');
          break;
        case 'choice': {
          const plain = typeof item === 'bigint' ? Number(item) : item;
          expect(spec.choices, `${key} value is a choice`).toContain(plain);
          break;
        }
        case 'str':
          expect(typeof item, `${key} is a string`).toBe('string');
          break;
      }
    };
    if (spec.list) {
      expect(Array.isArray(value), `${key} (nargs *) is an array`).toBe(true);
      const rawItems = raw.slice(1, -1).split(', ');
      (value as unknown[]).forEach((item, i) => check(item, rawItems[i] ?? ''));
    } else {
      expect(Array.isArray(value), `${key} is a scalar`).toBe(false);
      check(value, raw);
    }
    count++;
  }
  return count;
}

/** A plausible value for any option, from its spec alone. */
function sampleValue(spec: KohyaArgSpec): KohyaArgValue | undefined {
  switch (spec.type) {
    case 'bool(store_true)':
      return true;
    case 'int':
      return spec.list ? [2, 3] : 3;
    case 'float':
      return spec.list ? [1, 0.5] : 1;
    case 'int_or_float':
      return 0.05;
    case 'choice':
      return spec.choices?.find((choice) => choice !== null) ?? undefined;
    case 'str':
      if (['network_args', 'optimizer_args', 'lr_scheduler_args'].includes(spec.name)) return ['alpha=1'];
      if (spec.name === 'resolution') return '512,512';
      if (spec.name === 'face_crop_aug_range') return '2.0,4.0';
      return spec.list ? ['/abs/a', '/abs/b'] : `/abs/${spec.name}`;
  }
}

const SKIP = new Set([
  ...ADAPTER_OWNED_KEYS,
  'config_file',
  'dataset_config',
  'console_log_simple',
  'console_log_file',
  'output_config',
  'debug_dataset',
  'train_data_dir',
  'reg_data_dir',
  'in_json',
  'dataset_class',
  'conditioning_data_dir',
  'caption_extention',
  'wandb_api_key',
  'wandb_run_name',
  'log_tracker_config',
  'huggingface_repo_id',
  'huggingface_repo_type',
  'huggingface_path_in_repo',
  'huggingface_token',
  'huggingface_repo_visibility',
  'resume_from_huggingface',
  'save_state_to_huggingface',
  'async_upload',
  'log_with',
]);

function render(script: KohyaTrainerScript, args: Record<string, KohyaArgValue>) {
  return renderConfigToml({ script, args }, PATHS);
}

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isLorasmithError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a LorasmithError');
}

describe('renderConfigToml', () => {
  it('writes a realistic SDXL LoRA config whose every key is an option of the script, typed as sd-scripts expects', () => {
    const { text, readOnlyPaths } = render('sdxl_train_network.py', {
      pretrained_model_name_or_path: '/ws/models/checkpoint/hf/stabilityai--sdxl/abc/sd_xl_base_1.0.safetensors',
      network_module: 'networks.lora',
      network_dim: 16,
      network_alpha: 8,
      network_args: ['conv_dim=4', 'conv_alpha=1'],
      network_train_unet_only: true,
      cache_text_encoder_outputs: true,
      cache_latents_to_disk: true,
      learning_rate: 1e-4,
      unet_lr: 1,
      text_encoder_lr: 0.00005,
      optimizer_type: 'AdamW8bit',
      optimizer_args: ['weight_decay=0.01', 'betas=(0.9,0.99)'],
      lr_scheduler: 'cosine',
      lr_warmup_steps: 0.05,
      max_train_epochs: 10,
      save_every_n_epochs: 1,
      mixed_precision: 'bf16',
      save_precision: 'fp16',
      gradient_checkpointing: true,
      sdpa: true,
      full_bf16: false,
      seed: 42,
      max_grad_norm: 0,
      output_name: 'my-lora',
      save_model_as: 'safetensors',
      sample_every_n_epochs: 1,
      sample_sampler: 'euler_a',
      max_token_length: 225,
      log_with: 'tensorboard',
    });
    expect(expectKeysMatchCatalogue('sdxl_train_network.py', text)).toBeGreaterThan(25);
    expect(rawValue(text, 'unet_lr')).toBe('1.0');
    expect(rawValue(text, 'max_grad_norm')).toBe('0.0');
    expect(rawValue(text, 'network_alpha')).toBe('8.0');
    expect(rawValue(text, 'network_dim')).toBe('16');
    expect(rawValue(text, 'text_encoder_lr')).toBe('[0.00005]');
    expect(rawValue(text, 'lr_warmup_steps')).toBe('0.05');
    expect(rawValue(text, 'max_token_length')).toBe('225');
    expect(rawValue(text, 'network_args')).toBe('["conv_dim=4", "conv_alpha=1"]');
    expect(text).not.toMatch(/^full_bf16/m);
    expect(rawValue(text, 'output_dir')).toBe(JSON.stringify(PATHS.outputDir));
    expect(rawValue(text, 'logging_dir')).toBe(JSON.stringify(PATHS.loggingDir));
    expect(rawValue(text, 'tokenizer_cache_dir')).toBe(JSON.stringify(PATHS.tokenizerCacheDir));
    expect(rawValue(text, 'sample_prompts')).toBe(JSON.stringify(PATHS.samplePromptsFile));
    expect(readOnlyPaths).toEqual(['/ws/models/checkpoint/hf/stabilityai--sdxl/abc/sd_xl_base_1.0.safetensors']);
    // Flat: no section headers, which sd-scripts would flatten anyway.
    expect(text).not.toMatch(/^\[/m);
  });

  it.each(KOHYA_TRAINER_SCRIPTS)('types a value for every option of %s as kohya-args.json says', (script) => {
    const args: Record<string, KohyaArgValue> = {};
    for (const [name, spec] of kohyaArgsFor(script)) {
      if (SKIP.has(name)) continue;
      const value = sampleValue(spec);
      if (value !== undefined) args[name] = value;
    }
    const { text } = render(script, args);
    const written = expectKeysMatchCatalogue(script, text);
    expect(written).toBe(Object.keys(args).length + 4);
  });

  it('prints floats with a decimal point, also in exponent form', () => {
    const { text } = render('train_network.py', { learning_rate: 1e-7, noise_offset: 0.1, min_snr_gamma: 5, network_alpha: 1e21 });
    expect(rawValue(text, 'learning_rate')).toBe('1.0e-7');
    expect(rawValue(text, 'noise_offset')).toBe('0.1');
    expect(rawValue(text, 'min_snr_gamma')).toBe('5.0');
    expect(rawValue(text, 'network_alpha')).toBe('1.0e21');
    const parsed = parseTomlTyped(text);
    expect(parsed.learning_rate).toBe(1e-7);
    expect(parsed.network_alpha).toBe(1e21);
  });

  it('writes lr_warmup_steps as an int of steps or a float ratio', () => {
    expect(rawValue(render('train_network.py', { lr_warmup_steps: 100 }).text, 'lr_warmup_steps')).toBe('100');
    expect(rawValue(render('train_network.py', { lr_warmup_steps: 0.1 }).text, 'lr_warmup_steps')).toBe('0.1');
    expect(errorOf(() => render('train_network.py', { lr_warmup_steps: 1.5 })).code).toBe('kohya-config-invalid');
  });

  it('joins number pairs for the comma-string options sd-scripts splits itself', () => {
    const { text } = render('train_network.py', { resolution: [768, 512], face_crop_aug_range: [2, 4] });
    expect(rawValue(text, 'resolution')).toBe('"768,512"');
    expect(rawValue(text, 'face_crop_aug_range')).toBe('"2,4"');
    expect(rawValue(render('train_network.py', { resolution: 1024 }).text, 'resolution')).toBe('"1024"');
  });

  it('normalises optimizer_args for ast.literal_eval and refuses values sd-scripts cannot split', () => {
    const { text } = render('train_network.py', { optimizer_type: 'AdaFactor', optimizer_args: ['relative_step=false', 'scale_parameter=FALSE', 'warmup_init=true'] });
    expect(rawValue(text, 'optimizer_args')).toBe('["relative_step=False", "scale_parameter=False", "warmup_init=True"]');
    expect(errorOf(() => render('train_network.py', { optimizer_args: ['a=b=c'] })).message).toMatch(/contains "="/);
    expect(errorOf(() => render('train_network.py', { optimizer_args: ['novalue'] })).code).toBe('kohya-config-invalid');
    // A single string is never written bare (sd-scripts would iterate its characters).
    expect(rawValue(render('train_network.py', { network_args: 'conv_dim=4' }).text, 'network_args')).toBe('["conv_dim=4"]');
    expect(errorOf(() => render('train_network.py', { network_args: [4, 5] })).code).toBe('kohya-config-invalid');
  });

  it('toKeyValueArgs writes Python literals for optimizer args and plain strings for network args', () => {
    expect(toKeyValueArgs({ weight_decay: 0.01, betas: [0.9, 0.99], decouple: true, d_coef: 2 }, 'python-literal')).toEqual(['weight_decay=0.01', 'betas=(0.9,0.99)', 'decouple=True', 'd_coef=2']);
    expect(toKeyValueArgs({ algo: 'lokr', conv_dim: 4, block_dims: [2, 4, 8] }, 'string')).toEqual(['algo=lokr', 'conv_dim=4', 'block_dims=2,4,8']);
    expect(toKeyValueArgs({ name: 'x' }, 'python-literal')).toEqual(['name="x"']);
  });

  it('refuses keys the script does not have, and keys of another family', () => {
    expect(errorOf(() => render('train_network.py', { netwrok_dim: 4 })).message).toMatch(/has no such option/);
    expect(errorOf(() => render('train_network.py', { t5xxl: '/m/t5.safetensors' })).message).toMatch(/train_network\.py has no such option/);
    expect(() => render('flux_train_network.py', { t5xxl: '/m/t5.safetensors' })).not.toThrow();
    expect(errorOf(() => render('train_network.py', { '--network_dim': 4 })).message).toMatch(/without the leading/);
  });

  it('refuses mistyped values', () => {
    expect(errorOf(() => render('train_network.py', { network_dim: 4.5 })).message).toMatch(/whole number/);
    expect(errorOf(() => render('train_network.py', { network_dim: '4' })).code).toBe('kohya-config-invalid');
    expect(errorOf(() => render('train_network.py', { learning_rate: Number.NaN })).code).toBe('kohya-config-invalid');
    expect(errorOf(() => render('train_network.py', { gradient_checkpointing: 'yes' })).code).toBe('kohya-config-invalid');
    expect(errorOf(() => render('train_network.py', { mixed_precision: 'fp8' })).message).toMatch(/not one of/);
    expect(errorOf(() => render('train_network.py', { output_name: 'a\0b' })).message).toMatch(/NUL/);
  });

  it('requires absolute, normalised paths and lists them for the sandbox', () => {
    expect(errorOf(() => render('train_network.py', { pretrained_model_name_or_path: 'models/x.safetensors' })).message).toMatch(/absolute/);
    expect(errorOf(() => render('train_network.py', { pretrained_model_name_or_path: '/ws/models/../../etc/x' })).message).toMatch(/absolute, normalised/);
    expect(errorOf(() => render('train_network.py', { pretrained_model_name_or_path: 'runwayml/stable-diffusion-v1-5' })).code).toBe('kohya-config-invalid');
    const { readOnlyPaths } = render('flux_train_network.py', {
      pretrained_model_name_or_path: '/m/flux1-dev.safetensors',
      clip_l: '/m/clip_l.safetensors',
      t5xxl: '/m/t5xxl.safetensors',
      ae: '/m/ae.safetensors',
      network_weights: '/m/init.safetensors',
      metadata_thumbnail: '/m/thumb.png',
    });
    expect(readOnlyPaths.sort()).toEqual(['/m/ae.safetensors', '/m/clip_l.safetensors', '/m/flux1-dev.safetensors', '/m/init.safetensors', '/m/t5xxl.safetensors', '/m/thumb.png']);
  });

  it('refuses options that need the network or a credential (PROC-R03)', () => {
    const cases: Array<Record<string, KohyaArgValue>> = [{ log_with: 'wandb' }, { log_with: 'all' }, { wandb_api_key: 'k' }, { huggingface_repo_id: 'me/x' }, { huggingface_token: 'hf_x' }, { save_state_to_huggingface: true }];
    for (const args of cases) {
      expect(errorOf(() => render('train_network.py', args)).code).toBe('kohya-needs-network');
    }
  });

  it('refuses adapter-owned and run-breaking keys', () => {
    for (const key of ['output_dir', 'logging_dir', 'sample_prompts', 'tokenizer_cache_dir']) {
      expect(errorOf(() => render('train_network.py', { [key]: '/x' })).message).toMatch(/adapter sets it/);
    }
    for (const [key, value] of [['console_log_file', '/x.log'], ['train_data_dir', '/d'], ['output_config', true], ['debug_dataset', true], ['config_file', '/c.toml']] as const) {
      expect(errorOf(() => render('train_network.py', { [key]: value })).code).toBe('kohya-config-invalid');
    }
  });

  it('escapes free text so nothing can inject keys or tables (PROC-A03)', () => {
    const evil = 'x"\n[evil]\nkey = 1 \\ \u007f \u2028 $(id) `id`';
    const { text } = render('train_network.py', { output_name: evil, training_comment: "it's ''' fine" });
    const parsed = parseTomlTyped(text);
    expect(parsed.output_name).toBe(evil);
    expect(parsed.training_comment).toBe("it's ''' fine");
    expect(Object.keys(parsed)).not.toContain('evil');
    expect(text.split('\n').filter((line) => line.startsWith('['))).toEqual([]);
  });

  it('leaves out sample_prompts when the run has none', () => {
    const { text } = renderConfigToml({ script: 'train_network.py', args: {} }, { ...PATHS, samplePromptsFile: undefined });
    expect(text).not.toMatch(/sample_prompts/);
  });
});
