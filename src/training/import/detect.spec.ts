import { describe, expect, it } from 'vitest';
import { detectConfigFormat } from './detect.ts';
import { importConfig } from './import-config.ts';
import { GUI_FIXTURE, KOHYA_FIXTURE, KTISEOS_FIXTURE, LETS_FIXTURE } from './spec-fixtures.ts';

describe('detectConfigFormat', () => {
  it.each([
    [GUI_FIXTURE, 'my-lora_20240101-120000.json', 'kohya-gui'],
    [LETS_FIXTURE, 'mychar.toml', 'let'],
    [KTISEOS_FIXTURE, 'fixture.json', 'ktiseos'],
    [JSON.stringify({ name: 'dogucat', description: '', model_type: 'SDXL', is_builtin: true, lora_type: 'LoRA' }), 'dogucat_adamw8bit.json', 'ktiseos'],
    [KOHYA_FIXTURE, 'config_lora-20240417-101010.toml', 'kohya'],
    ['[training_arguments]\nmax_grad_norm = "1.0"\nlearning_rate = 1e-4\n', 'lora_config.toml', 'kohya'],
    ['schema = "lorasmith/run@1"\nkind = "kohya"\n', 'run.toml', 'lorasmith'],
    [JSON.stringify({ schema: 'lorasmith/run@1', kind: 'kohya' }), 'run.json', 'lorasmith'],
    [KOHYA_FIXTURE, 'no-extension', 'kohya'],
    [GUI_FIXTURE, 'no-extension', 'kohya-gui'],
  ] as const)('%#: %s → %s', (text, fileName, expected) => {
    expect(detectConfigFormat(text, fileName)).toBe(expected);
  });

  it.each([
    ['[model]\nmodels_dir = "./models"\n[folders]\noutput_dir = "./out"\n[basic]\nlearning_rate = 1e-4\n', 'config.toml'],
    ['{"hello": 1}', 'x.json'],
    ['not toml or json', 'x.txt'],
  ])('returns null for %s', (text, fileName) => {
    expect(detectConfigFormat(text, fileName)).toBeNull();
  });
});

describe('importConfig', () => {
  it('dispatches by detection', () => {
    const result = importConfig({ text: LETS_FIXTURE, fileName: 'a.toml' });
    expect(result.ok && result.format).toBe('let');
  });

  it('follows --from over detection', () => {
    const result = importConfig({ text: KOHYA_FIXTURE, fileName: 'a.toml', from: 'kohya', family: 'sd1' });
    expect(result.ok && result.config.family).toBe('sd1');
  });

  it('says what to pass when the format is unknown, and refuses a lorasmith config', () => {
    const unknown = importConfig({ text: '{}', fileName: 'a.json' });
    expect(unknown.ok === false && unknown.error.code).toBe('format-unknown');
    if (!unknown.ok) expect(unknown.error.message).toContain('--from');
    const own = importConfig({ text: JSON.stringify({ schema: 'lorasmith/run@1' }), fileName: 'a.json' });
    expect(own.ok === false && own.error.code).toBe('already-lorasmith');
  });
});
