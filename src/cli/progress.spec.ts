import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIO } from './io.ts';
import { createProgress, formatBar } from './progress.ts';

function io(tty: boolean): { io: CliIO; output: () => string } {
  const stdout = Object.assign(new PassThrough(), { isTTY: tty, columns: 80 });
  let text = '';
  stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { io: { stdout, stderr: new PassThrough(), stdin: new PassThrough(), env: {} }, output: () => text };
}

describe('progress', () => {
  it('formats a bar with percentage, counts and message; counts only when the total is unknown', () => {
    expect(formatBar({ done: 5, total: 20, message: 'step 5' }, 'job')).toMatch(/^job █{7}░{21}  25% 5\/20  step 5$/);
    expect(formatBar({ done: 7, total: null, message: null }, 'job')).toBe('job 7');
  });

  it('redraws one line on a TTY and ends it on finish', () => {
    const { io: tty, output } = io(true);
    const bar = createProgress({ io: tty, json: false, label: 'x' });
    bar.update({ done: 1, total: 2, message: null });
    bar.update({ done: 2, total: 2, message: null });
    bar.finish();
    expect(output().split('\r\x1b[2K')).toHaveLength(3);
    expect(output().endsWith('\n')).toBe(true);
  });

  it('prints a line per tenth when piped, and JSON Lines with --json', () => {
    const piped = io(false);
    const bar = createProgress({ io: piped.io, json: false, label: 'x' });
    for (let i = 0; i <= 100; i++) bar.update({ done: i, total: 100, message: null });
    expect(piped.output().trim().split('\n')).toHaveLength(11);
    const json = io(true);
    createProgress({ io: json.io, json: true, label: 'x' }).update({ done: 1, total: 4, message: 'm' });
    expect(JSON.parse(json.output())).toEqual({ type: 'progress', done: 1, total: 4, message: 'm' });
  });
});
