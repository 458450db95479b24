import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../../core/errors.ts';
import { parseSamplePromptLine, readSamplePromptsTxt, renderSamplePrompts } from './write-sample-prompts.ts';
import type { KohyaSamplePrompt } from './types.ts';

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isLorasmithError(error)) return error.message;
    throw error;
  }
  throw new Error('expected a LorasmithError');
}

describe('parseSamplePromptLine (transcription of line_to_prompt_dict)', () => {
  it('reads the reference options', () => {
    expect(parseSamplePromptLine('a cat, masterpiece --n low quality, blurry --w 768 --h 512 --d 42 --l 7.5 --s 28 --g 3.5 --ss euler_a')).toEqual({
      prompt: 'a cat, masterpiece',
      negative_prompt: 'low quality, blurry',
      width: 768,
      height: 512,
      seed: 42,
      scale: 7.5,
      sample_steps: 28,
      guidance_scale: 3.5,
      sample_sampler: 'euler_a',
    });
  });

  it('behaves like sd-scripts on its quirks: case-insensitive, clamps steps, matches the prompt itself', () => {
    expect(parseSamplePromptLine('x --W 640 --S 5000')).toMatchObject({ width: 640, sample_steps: 1000 });
    expect(parseSamplePromptLine('w 512 wolves')).toEqual({ prompt: 'w 512 wolves', width: 512 });
    expect(parseSamplePromptLine('n dog')).toEqual({ prompt: 'n dog', negative_prompt: 'dog' });
    expect(parseSamplePromptLine('x --l abc')).toEqual({ prompt: 'x' });
  });
});

describe('renderSamplePrompts', () => {
  const prompts: KohyaSamplePrompt[] = [
    { prompt: 'sks woman, portrait', negative_prompt: 'lowres, bad hands', width: 1024, height: 1024, seed: 1, sample_steps: 28, scale: 7, sample_sampler: 'euler_a' },
    { prompt: 'sks woman, on a beach', seed: 2, guidance_scale: 3.5, scale: 0.00001 },
    { prompt: 'plain prompt' },
  ];

  it('writes one line per prompt with --n --w --h --d --s --l --g --ss, which read back exactly', () => {
    const { fileName, text } = renderSamplePrompts(prompts, 'sdxl_train_network.py');
    expect(fileName).toBe('sample-prompts.txt');
    expect(text).toBe(
      [
        'sks woman, portrait --n lowres, bad hands --w 1024 --h 1024 --d 1 --s 28 --l 7 --ss euler_a',
        'sks woman, on a beach --d 2 --l 0.00001 --g 3.5',
        'plain prompt',
        '',
      ].join('\n'),
    );
    expect(readSamplePromptsTxt(text)).toEqual([
      { prompt: 'sks woman, portrait', negative_prompt: 'lowres, bad hands', width: 1024, height: 1024, seed: 1, sample_steps: 28, scale: 7, sample_sampler: 'euler_a' },
      { prompt: 'sks woman, on a beach', seed: 2, scale: 0.00001, guidance_scale: 3.5 },
      { prompt: 'plain prompt' },
    ]);
  });

  it('writes the JSON form sd-scripts also reads', () => {
    const { fileName, text } = renderSamplePrompts([{ prompt: 'a --b "c"\n', seed: 3 }].map((p) => ({ ...p, prompt: p.prompt.trim() })), 'flux_train_network.py', 'json');
    expect(fileName).toBe('sample-prompts.json');
    expect(JSON.parse(text)).toEqual([{ prompt: 'a --b "c"', seed: 3 }]);
  });

  it('refuses prompts that would inject options or lines (PROC-A03)', () => {
    const one = (prompt: KohyaSamplePrompt) => errorOf(() => renderSamplePrompts([prompt], 'train_network.py'));
    expect(one({ prompt: 'cat\r\n--w 64' })).toMatch(/line break/);
    expect(one({ prompt: 'cat\u2028dog' })).toMatch(/line break/);
    expect(one({ prompt: 'cat --w 64' })).toMatch(/" --"/);
    expect(one({ prompt: 'cat', negative_prompt: 'x --d 5' })).toMatch(/" --"/);
    expect(one({ prompt: 'w 512 wolves' })).toMatch(/read it differently \(width\)/);
    expect(one({ prompt: 'N cats' })).toMatch(/negative_prompt/);
    expect(one({ prompt: '# title' })).toMatch(/comment/);
    expect(one({ prompt: ' padded' })).toMatch(/white space/);
    expect(one({ prompt: '   ' })).toMatch(/empty/);
  });

  it('refuses values sd-scripts cannot read as given', () => {
    const one = (prompt: Partial<KohyaSamplePrompt>) => errorOf(() => renderSamplePrompts([{ prompt: 'cat', ...prompt }], 'train_network.py'));
    expect(one({ width: 500 })).toMatch(/multiple of 8/);
    expect(one({ height: 32 })).toMatch(/from 64/);
    expect(one({ seed: -1 })).toMatch(/seed/);
    expect(one({ sample_steps: 0 })).toMatch(/sample_steps/);
    expect(one({ scale: -1 })).toMatch(/scale must be 0 or more/);
    expect(one({ sample_sampler: 'dpm++_2m_karras' })).toMatch(/not one of/);
    expect(errorOf(() => renderSamplePrompts([], 'train_network.py'))).toMatch(/no prompts/);
  });
});
