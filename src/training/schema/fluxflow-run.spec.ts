import { describe, expect, it } from 'vitest';
import { deadFieldReason, FLUXFLOW_DEAD_FIELDS } from './fluxflow-run.ts';
import { parseRunConfig } from './parse-run-config.ts';

const base = { schema: 'lorasmith/run@1', kind: 'fluxflow', data: { dataset: 'pics' }, pipeline: { steps: [{ name: 'vae', nEpochs: 1, trainVae: true }] } };

function refusal(config: unknown): { message: string; issues: Array<{ path: string; message: string }> } {
  try {
    parseRunConfig(config);
  } catch (error) {
    const { message, details } = error as { message: string; details: { issues: Array<{ path: string; message: string }> } };
    return { message, issues: details.issues };
  }
  throw new Error('the config was accepted');
}

const lpips = FLUXFLOW_DEAD_FIELDS.find((dead) => dead.field === 'training.pipeline.steps[].use_lpips')?.reason ?? '';
const webdataset = FLUXFLOW_DEAD_FIELDS.find((dead) => dead.field === 'data.use_webdataset')?.reason ?? '';

describe('FluxFlow settings that are not offered are refused with their reason (PROC-R03)', () => {
  it('use_lpips on a step, in our spelling or FluxFlow\'s', () => {
    for (const key of ['useLpips', 'use_lpips']) {
      const { issues } = refusal({ ...base, pipeline: { steps: [{ name: 'vae', nEpochs: 1, trainVae: true, [key]: true }] } });
      expect(issues).toEqual([{ path: 'pipeline.steps[0]', message: `"${key}" is not offered: ${lpips}` }]);
      expect(lpips).toMatch(/network/);
    }
  });

  it('a WebDataset source', () => {
    const { issues } = refusal({ ...base, data: { dataset: 'pics', useWebdataset: true, webdatasetUrl: 'hf://datasets/x/*.tar', webdatasetToken: 'hf_x' } });
    expect(issues[0]?.path).toBe('data');
    expect(issues[0]?.message).toContain(`"useWebdataset" is not offered: ${webdataset}`);
    expect(issues[0]?.message).toContain('"webdatasetUrl" is not offered: Needs network access');
    expect(issues[0]?.message).toContain('"webdatasetToken" is not offered');
  });

  it('settings pipeline mode never reads, with where to set them instead', () => {
    expect(refusal({ ...base, pipeline: { steps: [{ name: 'vae', nEpochs: 1, trainVae: true, batchSize: 4 }] } }).issues[0]?.message).toContain('Set training.batchSize instead');
    expect(refusal({ ...base, training: { lrMin: 0.1 } }).issues[0]?.message).toContain('Parsed but never read');
    expect(refusal({ ...base, optimization: { optimSchedConfig: 'x.json' } }).issues[0]?.message).toContain('Set optimisers per step');
    expect(refusal({ ...base, pipeline: { steps: [{ name: 'vae', nEpochs: 1, trainVae: true, cfgDropoutProb: 0.1 }] } }).issues[0]?.message).toContain('classifier-free-guidance dropout is never trained');
  });

  it('a plain typo stays a plain unknown key, and a known section name is not taken for a dead one', () => {
    expect(refusal({ ...base, data: { dataset: 'pics', datset: 'x' } }).issues[0]?.message).toBe('Unrecognized key: "datset"');
    expect(refusal({ ...base, training: { pipeline: {} } }).issues[0]?.message).toBe('Unrecognized key: "pipeline"');
    expect(deadFieldReason('training.', 'pipeline')).toBeUndefined();
  });

  it('every dead FluxFlow key has its reason where it would sit', () => {
    const keys = FLUXFLOW_DEAD_FIELDS.flatMap((dead) => dead.field.split(', ').filter((field) => !/[:(*]/.test(field)).map((field) => [field, dead.reason] as const));
    expect(keys.length).toBeGreaterThan(20);
    for (const [field, reason] of keys) {
      const cut = field.lastIndexOf('.');
      expect(deadFieldReason(field.slice(0, cut + 1), field.slice(cut + 1))).toBe(reason);
    }
  });
});
