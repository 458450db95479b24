import { describe, expect, it } from 'vitest';
import { parseCliTail, parsePythonLiteral, pythonString } from './values.ts';
import { parseSamplePrompts } from './sample-prompts.ts';

describe('values', () => {
  it('reads Python literals as sd-scripts does', () => {
    expect(parsePythonLiteral('True')).toBe(true);
    expect(parsePythonLiteral('0.01')).toBe(0.01);
    expect(parsePythonLiteral('(0.9,0.99)')).toEqual([0.9, 0.99]);
    expect(parsePythonLiteral('0.9,0.99')).toEqual([0.9, 0.99]);
    expect(parsePythonLiteral("'cosine'")).toBe('cosine');
  });

  it('writes values the way Python str() does', () => {
    expect(pythonString(1)).toBe('1.0');
    expect(pythonString(1n)).toBe('1');
    expect(pythonString(1e-6)).toBe('1e-06');
    expect(pythonString(0.0001)).toBe('0.0001');
    expect(pythonString(0.00005)).toBe('5e-05');
    expect(pythonString(true)).toBe('True');
    expect(pythonString([1, 0.5])).toBe('1.0,0.5');
  });

  it('reads a kohya CLI tail', () => {
    expect(parseCliTail('--max_grad_norm=0.5 --debiased_estimation_loss --seed 7')).toEqual([
      ['max_grad_norm', '0.5'],
      ['debiased_estimation_loss', true],
      ['seed', '7'],
    ]);
  });

  it('reads prompt-file lines and reports options it cannot keep', () => {
    expect(parseSamplePrompts('# comment\na cat --g 3.5 --ss euler\n')).toEqual({ prompts: [{ prompt: 'a cat', guidance: 3.5 }], skipped: ['--ss euler'] });
  });
});
