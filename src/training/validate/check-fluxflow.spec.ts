import { describe, expect, it } from 'vitest';
import type { FluxflowRunConfig, FluxflowStep } from '../schema/index.ts';
import { checkFluxflow } from './check-fluxflow.ts';
import { fluxflowRun } from './spec-fixtures.ts';

const codes = (config: FluxflowRunConfig): string[] => checkFluxflow(config).map((found) => found.code);

function step(config: FluxflowRunConfig, index: number): FluxflowStep {
  const found = config.pipeline.steps[index];
  if (found === undefined) throw new Error(`fixture has no step ${index}`);
  return found;
}

interface RuleCase {
  code: string;
  bad: (config: FluxflowRunConfig) => void;
  good: (config: FluxflowRunConfig) => void;
}

const cases: RuleCase[] = [
  { code: 'fluxflow-step-name-duplicate', bad: (c) => (step(c, 1).name = 'vae'), good: (c) => (step(c, 1).name = 'flow-2') },
  { code: 'fluxflow-step-no-mode', bad: (c) => (step(c, 0).trainVae = false), good: (c) => Object.assign(step(c, 0), { trainVae: false, trainSpade: true }) },
  { code: 'fluxflow-optimizer-missing', bad: (c) => (step(c, 0).ganTraining = true, (step(c, 0).optimizers = { flow: { type: 'AdamW', lr: 1e-5 } })), good: (c) => (step(c, 0).ganTraining = true) },
  { code: 'fluxflow-optimizer-missing', bad: (c) => (step(c, 1).optimizers = { textEncoder: { type: 'AdamW', lr: 1e-8 } }), good: (c) => (step(c, 1).optimizers = {}) },
  { code: 'fluxflow-lr-unused', bad: (c) => (step(c, 0).lr = 1e-5), good: (c) => ((step(c, 0).optimizers = {}), (step(c, 0).lr = 1e-5)) },
  { code: 'fluxflow-freeze-and-unfreeze', bad: (c) => Object.assign(step(c, 1), { freeze: ['compressor'], unfreeze: ['compressor'] }), good: (c) => Object.assign(step(c, 1), { freeze: ['compressor'], unfreeze: ['D_img'] }) },
  {
    code: 'fluxflow-random-text-encoder',
    bad: (c) => (c.model.pretrainedTextEncoder = false),
    good: (c) => ((c.model.pretrainedTextEncoder = false), (step(c, 1).optimizers.textEncoder = { type: 'AdamW', lr: 5e-8 })),
  },
  {
    code: 'fluxflow-transition-capped',
    bad: (c) => (step(c, 1).transition = { mode: 'loss_threshold', metric: 'flow_loss', threshold: 0.05, maxEpochs: 10 }),
    good: (c) => (step(c, 1).transition = { mode: 'loss_threshold', metric: 'flow_loss', threshold: 0.05, maxEpochs: 4 }),
  },
];

describe('checkFluxflow', () => {
  it('the fixture draws no finding', () => {
    expect(checkFluxflow(fluxflowRun())).toEqual([]);
  });

  it.each(cases.map((entry, index) => [`${entry.code} #${index}`, entry] as const))('%s fires on its case and not on the fixed one', (_, entry) => {
    expect(codes(fluxflowRun(entry.bad))).toContain(entry.code);
    expect(codes(fluxflowRun(entry.good))).not.toContain(entry.code);
  });

  it('points at the step and the missing optimiser', () => {
    const config = fluxflowRun((c) => (step(c, 1).optimizers = { vae: { type: 'AdamW', lr: 1e-5 } }));
    expect(checkFluxflow(config).map((found) => [found.code, found.severity, found.path])).toEqual([['fluxflow-optimizer-missing', 'error', 'pipeline.steps[1].optimizers.flow']]);
  });
});
