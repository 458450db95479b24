import { describe, expect, it } from 'vitest';
import { kohyaArg } from '../engines/kohya/kohya-args.ts';
import { KOHYA_FAMILIES, type KohyaFamily, type KohyaRunConfig, trainerScriptFor } from '../schema/index.ts';
import { FAMILY_OPTIONS, checkKohyaFamily } from './check-kohya-family.ts';
import { kohyaRun } from './spec-fixtures.ts';

const codes = (config: KohyaRunConfig): string[] => checkKohyaFamily(config).map((found) => found.code);

describe('checkKohyaFamily — fixtures are clean', () => {
  it.each(KOHYA_FAMILIES)('%s fixture draws no family finding', (family) => {
    expect(checkKohyaFamily(kohyaRun(family))).toEqual([]);
  });
});

interface RuleCase {
  code: string;
  family: KohyaFamily;
  bad: (config: KohyaRunConfig) => void;
  good: (config: KohyaRunConfig) => void;
}

const cases: RuleCase[] = [
  { code: 'component-missing', family: 'flux1', bad: (c) => delete c.model.t5xxl, good: () => {} },
  { code: 'component-missing', family: 'lumina2', bad: (c) => delete c.model.gemma2, good: () => {} },
  { code: 'component-missing', family: 'chroma', bad: (c) => delete c.model.vae, good: () => {} },
  { code: 'component-not-for-family', family: 'sdxl', bad: (c) => (c.model.t5xxl = 't5'), good: (c) => (c.model.vae = 'sdxl-vae') },
  { code: 'component-not-used', family: 'chroma', bad: (c) => (c.model.clipL = 'clip-l'), good: () => {} },
  { code: 'component-from-checkpoint', family: 'sd3', bad: (c) => delete c.model.clipG, good: (c) => delete c.model.vae },
  { code: 'network-type-not-for-family', family: 'flux1', bad: (c) => (c.network.type = 'lokr'), good: (c) => (c.network.type = 'lora') },
  { code: 'network-type-not-for-family', family: 'sd3', bad: (c) => (c.network.type = 'dora'), good: () => {} },
  { code: 'network-type-not-for-family', family: 'lumina2', bad: (c) => (c.network.type = 'locon'), good: () => {} },
  { code: 'network-module-mismatch', family: 'flux1', bad: (c) => (c.network.module = 'networks.lora'), good: (c) => (c.network.module = 'networks.lora_flux') },
  { code: 'network-module-mismatch', family: 'sd3', bad: (c) => (c.network.module = 'networks.lora'), good: (c) => (c.network.module = 'networks.lora_sd3') },
  {
    code: 'network-module-mismatch',
    family: 'sdxl',
    bad: (c) => Object.assign(c.network, { type: 'loha', module: 'networks.lora' }),
    good: (c) => Object.assign(c.network, { type: 'loha', module: 'lycoris.kohya' }),
  },
  { code: 'conv-dim-no-effect', family: 'flux1', bad: (c) => (c.network.convDim = 8), good: () => {} },
  { code: 'conv-dim-no-effect', family: 'sdxl', bad: (c) => (c.network.convAlpha = 4), good: (c) => Object.assign(c.network, { type: 'locon', convDim: 8, convAlpha: 4 }) },
  { code: 'locon-without-conv-dim', family: 'sd1', bad: (c) => (c.network.type = 'locon'), good: (c) => Object.assign(c.network, { type: 'locon', convDim: 8 }) },
  { code: 'lokr-factor-unused', family: 'sdxl', bad: (c) => (c.network.lokrFactor = 4), good: (c) => Object.assign(c.network, { type: 'lokr', lokrFactor: 4 }) },
  { code: 'lokr-factor-zero', family: 'sdxl', bad: (c) => Object.assign(c.network, { type: 'lokr', lokrFactor: 0 }), good: (c) => Object.assign(c.network, { type: 'lokr', lokrFactor: -1 }) },
  {
    code: 'dim-from-weights-without-weights',
    family: 'sd1',
    bad: (c) => (c.network.dimFromWeights = true),
    good: (c) => Object.assign(c.network, { dimFromWeights: true, initialWeights: 'old-lora' }),
  },
  { code: 'bucket-step-multiple', family: 'sd1', bad: (c) => (c.buckets.stepSize = 32), good: (c) => (c.buckets.stepSize = 128) },
  { code: 'bucket-step-multiple', family: 'flux1', bad: (c) => (c.buckets.stepSize = 32), good: (c) => (c.buckets.stepSize = 64) },
  { code: 'bucket-step-multiple', family: 'lumina2', bad: (c) => (c.buckets.stepSize = 96), good: () => {} },
  { code: 'bucket-step-multiple', family: 'sdxl', bad: (c) => (c.buckets.stepSize = 48), good: (c) => (c.buckets.stepSize = 32) },
  { code: 'bucket-step-multiple', family: 'sd3', bad: (c) => (c.buckets.stepSize = 16), good: (c) => (c.buckets.stepSize = 96) },
  // sd-scripts checks the step only with enable_bucket.
  { code: 'bucket-step-multiple', family: 'sd2', bad: (c) => (c.buckets.stepSize = 32), good: (c) => Object.assign(c.buckets, { stepSize: 32, enabled: false }) },
  { code: 'bucket-range', family: 'sdxl', bad: (c) => (c.buckets.minReso = 1088), good: (c) => (c.buckets.minReso = 1024) },
  { code: 'bucket-range', family: 'sdxl', bad: (c) => (c.buckets.maxReso = 960), good: (c) => (c.buckets.maxReso = 1024) },
  { code: 'bucket-range-adjusted', family: 'sd1', bad: (c) => (c.buckets.minReso = 300), good: (c) => (c.buckets.minReso = 320) },
  { code: 'option-not-for-family', family: 'sdxl', bad: (c) => (c.flow.guidanceScale = 1), good: () => {} },
  { code: 'option-not-for-family', family: 'sd3', bad: (c) => (c.flow.guidanceScale = 1), good: (c) => (c.flow.trainingShift = 3) },
  { code: 'option-not-for-family', family: 'lumina2', bad: (c) => (c.flow.applyT5AttnMask = true), good: (c) => (c.flow.timestepSampling = 'nextdit_shift') },
  { code: 'option-not-for-family', family: 'flux1', bad: (c) => (c.flow.timestepSampling = 'nextdit_shift'), good: (c) => (c.flow.timestepSampling = 'shift') },
  { code: 'option-not-for-family', family: 'sd1', bad: (c) => (c.memory.cacheTextEncoderOutputs = 'memory'), good: () => {} },
  { code: 'option-not-for-family', family: 'sdxl', bad: (c) => (c.memory.blocksToSwap = 4), good: () => {} },
  { code: 'blocks-to-swap-too-many', family: 'flux1', bad: (c) => (c.memory.blocksToSwap = 36), good: (c) => (c.memory.blocksToSwap = 35) },
  { code: 'blocks-to-swap-experimental', family: 'sd3', bad: (c) => (c.memory.blocksToSwap = 32), good: () => {} },
  { code: 'cpu-offload-not-for-chroma', family: 'chroma', bad: (c) => (c.memory.cpuOffloadCheckpointing = true), good: () => {} },
  { code: 'chroma-needs-t5-mask', family: 'chroma', bad: (c) => (c.flow.applyT5AttnMask = false), good: (c) => (c.flow.applyT5AttnMask = true) },
  { code: 'clip-skip-not-used', family: 'sdxl', bad: (c) => (c.model.clipSkip = 2), good: () => {} },
  { code: 'clip-skip-not-used', family: 'flux1', bad: (c) => (c.model.clipSkip = 2), good: () => {} },
  { code: 'v-prediction-not-for-family', family: 'flux1', bad: (c) => (c.model.vPrediction = true), good: () => {} },
];

describe('checkKohyaFamily — each rule fires on its case and not on the fixed one', () => {
  it.each(cases.map((entry, index) => [`${entry.code} (${entry.family}) #${index}`, entry] as const))('%s', (_, entry) => {
    expect(codes(kohyaRun(entry.family, entry.bad))).toContain(entry.code);
    expect(codes(kohyaRun(entry.family, entry.good))).not.toContain(entry.code);
  });

  it('clip skip and v-prediction are fine on SD 1.x/2.x; LyCORIS types and LoCon on SDXL', () => {
    expect(codes(kohyaRun('sd2', (c) => Object.assign(c.model, { clipSkip: 2, vPrediction: true })))).toEqual([]);
    for (const type of ['loha', 'lokr', 'dora'] as const) expect(codes(kohyaRun('sdxl', (c) => (c.network.type = type)))).toEqual([]);
  });

  it('refuses a family whose script kohya-args.json does not cover, and nothing else', () => {
    for (const family of ['hunyuan-image-2.1', 'anima'] as const) {
      const config = kohyaRun('sdxl', (c) => (c.family = family));
      expect(checkKohyaFamily(config).map((found) => [found.code, found.severity, found.path])).toEqual([['family-not-supported', 'error', 'family']]);
    }
  });

  it('every finding carries a message and a hint', () => {
    const config = kohyaRun('flux1', (c) => Object.assign(c.network, { type: 'lokr', convDim: 4 }));
    for (const found of checkKohyaFamily(config)) {
      expect(found.message.length).toBeGreaterThan(10);
      expect(found.hint.length).toBeGreaterThan(5);
    }
  });
});

describe('FAMILY_OPTIONS agrees with kohya-args.json', () => {
  it.each(FAMILY_OPTIONS.map((entry) => [entry.path, entry] as const))('%s', (_, entry) => {
    for (const family of KOHYA_FAMILIES) {
      const accepted = kohyaArg(trainerScriptFor(family), entry.option) !== undefined;
      // Chroma shares FLUX.1's script, and the flow options belong to it, so the catalogue decides per script.
      expect({ family, accepted }).toEqual({ family, accepted: entry.families.includes(family) });
    }
  });

  it('nextdit_shift is a timestep_sampling choice of the Lumina script only', () => {
    expect(kohyaArg('lumina_train_network.py', 'timestep_sampling')?.choices).toContain('nextdit_shift');
    expect(kohyaArg('flux_train_network.py', 'timestep_sampling')?.choices).not.toContain('nextdit_shift');
  });
});
