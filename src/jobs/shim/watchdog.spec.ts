import { describe, expect, it } from 'vitest';
import type { PhaseDirective } from '../../training/engines/engine.ts';
import { PhaseWatchdog } from './watchdog.ts';

const KOHYA_LIKE: PhaseDirective[] = [
  { phase: 'startup', enter: [], ignoreCase: false, idleTimeoutS: 10 },
  { phase: 'caching', enter: ['^caching latents'], ignoreCase: true, idleTimeoutS: 5 },
  { phase: 'training', enter: ['^running training'], ignoreCase: false, stepPattern: '^\\s*steps:\\s+\\d+%[^\\d]*?(\\d+)/(\\d+) \\[', stepFactor: 4, stepFloorS: 3 },
];

const frame = (step: number): string => `steps:  ${step}%|██| ${step}/100 [00:01<00:10, 1.00it/s, avr_loss=0.1]`;

describe('PhaseWatchdog', () => {
  it('starts in the first phase and hangs after its idle timeout without a line', () => {
    const dog = new PhaseWatchdog(KOHYA_LIKE, 0);
    expect(dog.phase).toBe('startup');
    expect(dog.check(9_000)).toBeNull();
    dog.onLine('loading model', 9_000);
    expect(dog.check(18_999)).toBeNull();
    expect(dog.check(19_001)).toEqual({ phase: 'startup', detail: 'no output for 10.0 s in phase "startup" (limit 10 s)' });
  });

  it('moves through phases on their enter lines (case-insensitively where asked) and applies each phase’s limit', () => {
    const dog = new PhaseWatchdog(KOHYA_LIKE, 0);
    expect(dog.onLine('CACHING LATENTS.', 1_000)).toBe(true);
    expect(dog.phase).toBe('caching');
    expect(dog.onLine('caching latents again', 2_000)).toBe(false);
    expect(dog.check(7_001)?.phase).toBe('caching');
    expect(dog.onLine('running training / 学習開始', 3_000)).toBe(true);
    expect(dog.phase).toBe('training');
  });

  it('training: before any step the floor applies; then max(floor, factor × the last step time)', () => {
    const dog = new PhaseWatchdog(KOHYA_LIKE, 0);
    dog.onLine('running training', 0);
    expect(dog.stepLimitMs()).toBe(3_000);
    expect(dog.check(3_001)?.detail).toContain('no step measured yet');
    dog.onLine(frame(1), 1_000);
    dog.onLine(frame(2), 3_000); // 2 s per step → limit max(3 s, 8 s)
    expect(dog.stepLimitMs()).toBe(8_000);
    // Output that is not a step does not help: a hang is measured from the last new step.
    dog.onLine('some warning', 10_000);
    expect(dog.check(11_000)).toBeNull();
    expect(dog.check(11_001)).toEqual({ phase: 'training', detail: 'no new step for 8.0 s in phase "training" (limit 8.0 s: max(3 s, 4 × last step 2.0 s))' });
  });

  it('a redraw of the same step is not progress; a jump of k steps shares the time between them', () => {
    const dog = new PhaseWatchdog(KOHYA_LIKE, 0);
    dog.onLine('running training', 0);
    dog.onLine(frame(1), 0);
    dog.onLine(frame(1), 2_500);
    expect(dog.check(3_001)).not.toBeNull();
    dog.onLine(frame(5), 4_000); // 4 steps in 4 s → 1 s per step → limit max(3 s, 4 s)
    expect(dog.stepLimitMs()).toBe(4_000);
  });

  it('a phase without limits never hangs; a bad pattern is refused at construction', () => {
    const dog = new PhaseWatchdog([{ phase: 'only', enter: [], ignoreCase: false }], 0);
    expect(dog.check(1e12)).toBeNull();
    expect(() => new PhaseWatchdog([{ phase: 'x', enter: ['('], ignoreCase: false }], 0)).toThrow(SyntaxError);
  });
});
