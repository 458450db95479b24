import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter, type SplitLine } from './line-splitter.ts';

/** A tqdm-like stream on a non-TTY: `\r` frames, a closing `\n`, log lines with `\n` and `\r\n`. */
const STREAM =
  'prepare optimizer, data loader etc.\n' +
  '\rsteps:   0%|          | 0/4 [00:00<?, ?it/s]' +
  '\rsteps:  25%|██▌       | 1/4 [00:01<00:03,  1.05it/s, avr_loss=0.0818]' +
  '\rsteps:  50%|█████     | 2/4 [00:02<00:02,  1.03s/it, avr_loss=0.0873]\n' +
  'epoch 1/2\r\n' +
  '日本語 / 学習開始\n' +
  '\rsteps: 100%|██████████| 4/4 [00:04<00:00,  1.00it/s, avr_loss=0.08]\n' +
  'model saved.';

function splitAll(chunks: Array<string | Uint8Array>): SplitLine[] {
  const splitter = new LineSplitter();
  const out: SplitLine[] = [];
  for (const chunk of chunks) out.push(...splitter.push(chunk));
  out.push(...splitter.end());
  return out;
}

const EXPECTED: SplitLine[] = [
  { text: 'prepare optimizer, data loader etc.', end: '\n' },
  { text: 'steps:   0%|          | 0/4 [00:00<?, ?it/s]', end: '\r' },
  { text: 'steps:  25%|██▌       | 1/4 [00:01<00:03,  1.05it/s, avr_loss=0.0818]', end: '\r' },
  { text: 'steps:  50%|█████     | 2/4 [00:02<00:02,  1.03s/it, avr_loss=0.0873]', end: '\n' },
  { text: 'epoch 1/2', end: '\r\n' },
  { text: '日本語 / 学習開始', end: '\n' },
  { text: 'steps: 100%|██████████| 4/4 [00:04<00:00,  1.00it/s, avr_loss=0.08]', end: '\n' },
  { text: 'model saved.', end: '' },
];

describe('LineSplitter', () => {
  it('ends lines at \\r, \\n and \\r\\n, dropping the empty frame before a tqdm \\r', () => {
    expect(splitAll([STREAM])).toEqual(EXPECTED);
  });

  it('gives the same lines however the text is cut into reads', () => {
    for (let size = 1; size <= 12; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < STREAM.length; i += size) chunks.push(STREAM.slice(i, i + size));
      expect(splitAll(chunks), `reads of ${size} characters`).toEqual(EXPECTED);
    }
  });

  it('gives the same lines however the bytes are cut, including inside UTF-8 characters (property)', () => {
    const bytes = new TextEncoder().encode(STREAM);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
        const chunks = points.slice(1).map((end, i) => bytes.subarray(points[i], end));
        expect(splitAll(chunks)).toEqual(EXPECTED);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a \\r at the end of one read pending until the next read shows whether \\n follows', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('a\r')).toEqual([]);
    expect(splitter.push('\nb\r')).toEqual([{ text: 'a', end: '\r\n' }]);
    expect(splitter.push('c')).toEqual([{ text: 'b', end: '\r' }]);
    expect(splitter.end()).toEqual([{ text: 'c', end: '' }]);
  });

  it('cuts runaway lines into bounded pieces', () => {
    const splitter = new LineSplitter({ maxLength: 10 });
    const lines = [...splitter.push('x'.repeat(25)), ...splitter.push('\n'), ...splitter.end()];
    expect(lines.map((l) => l.text.length)).toEqual([10, 10, 5]);
    expect(lines.every((l) => l.text.length <= 10)).toBe(true);
    expect(lines.at(-1)?.end).toBe('\n');
  });

  it('keeps empty \\n lines (a message may be blank) but not empty \\r frames', () => {
    expect(splitAll(['a\n\n\r\rb\n'])).toEqual([
      { text: 'a', end: '\n' },
      { text: '', end: '\n' },
      { text: 'b', end: '\n' },
    ]);
  });
});
