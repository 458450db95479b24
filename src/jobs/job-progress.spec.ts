import { describe, expect, it } from 'vitest';
import { describeProgress, foldProgress, formatDuration } from './job-progress.ts';
import { EMPTY_PROGRESS } from './job-types.ts';

describe('foldProgress', () => {
  it('keeps the newest step, speed, loss and ETA; epochs and phase from their own events', () => {
    const progress = foldProgress(EMPTY_PROGRESS, [
      { kind: 'phase', phase: 'training' },
      { kind: 'epoch', epoch: 1, total: 4 },
      { kind: 'progress', step: 3, total: 40, itPerSec: 2.5, remainingS: 15, loss: 0.12, epoch: 1 },
      { kind: 'warning', code: 'x', message: 'ignored' },
      { kind: 'progress', step: 4, total: 40 },
    ]);
    expect(progress).toEqual({ phase: 'training', step: 4, total: 40, epoch: 1, epochs: 4, itPerSec: 2.5, remainingS: 15, loss: 0.12 });
  });

  it('a state event changes nothing', () => {
    expect(foldProgress(EMPTY_PROGRESS, [{ kind: 'state', state: 'running' }])).toEqual(EMPTY_PROGRESS);
  });
});

describe('describeProgress', () => {
  it('says what is known, seconds per step when slower than one a second', () => {
    expect(describeProgress({ ...EMPTY_PROGRESS, phase: 'training', epoch: 2, epochs: 10, itPerSec: 0.25, loss: 0.0912345, remainingS: 3725 })).toBe('epoch 2/10 · 4.00 s/it · loss 0.09123 · ETA 1h02m');
    expect(describeProgress({ ...EMPTY_PROGRESS, phase: 'caching' })).toBe('caching');
    expect(describeProgress(EMPTY_PROGRESS)).toBe('');
  });

  it('formats durations', () => {
    expect([formatDuration(5), formatDuration(65), formatDuration(7200)]).toEqual(['5s', '1m05s', '2h00m']);
  });
});
