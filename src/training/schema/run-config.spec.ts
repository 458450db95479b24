import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { FLUXFLOW_DEAD_FIELDS } from './fluxflow-run.ts';
import { parseRunConfig } from './parse-run-config.ts';
import { type JsonSchemaNode, runConfigJsonSchema } from './run-config-json-schema.ts';

const minimalKohya = {
  schema: 'lorasmith/run@1',
  kind: 'kohya',
  family: 'sd1',
  model: { base: 'abc' },
  datasets: [{ dataset: 'dogs' }],
  resolution: { width: 512, height: 512 },
};

const minimalFluxflow = {
  schema: 'lorasmith/run@1',
  kind: 'fluxflow',
  data: { dataset: 'pics' },
  pipeline: { steps: [{ name: 'vae', nEpochs: 1, trainVae: true }] },
};

function refusal(input: unknown): Array<{ path: string; message: string }> {
  try {
    parseRunConfig(input);
  } catch (error) {
    if (isLorasmithError(error) && error.code === 'run-config-invalid') return error.details?.['issues'] as Array<{ path: string; message: string }>;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('parseRunConfig — kohya runs', () => {
  it('fills every default from a minimal config', () => {
    const config = parseRunConfig(minimalKohya);
    if (config.kind !== 'kohya') throw new Error('kind');
    expect(config.optimizer).toEqual({ type: 'AdamW8bit', args: {} });
    expect(config.duration).toEqual({ unit: 'epochs', epochs: 10 });
    expect(config.buckets).toEqual({ enabled: false, minReso: 256, maxReso: 1024, stepSize: 64, noUpscale: false });
    expect(config.network).toMatchObject({ type: 'lora', dim: 16, alpha: 1, trainTextEncoders: false });
    expect(config.precision.mixed).toBe('bf16');
    expect(config.captions.extension).toBe('.txt');
    expect(config.saving).toMatchObject({ format: 'safetensors', saveState: false });
  });

  it('refuses unknown keys at every depth', () => {
    expect(refusal({ ...minimalKohya, colour: 'red' })).toEqual([expect.objectContaining({ path: '' })]);
    expect(refusal({ ...minimalKohya, network: { rank: 8 } })).toEqual([expect.objectContaining({ path: 'network' })]);
    expect(refusal({ ...minimalKohya, optimizer: { type: 'AdamW', args: { lr: 1 } } })).toEqual([expect.objectContaining({ path: 'optimizer.args' })]);
  });

  it('refuses prototype-poisoning keys (WEB-A12) and leaves Object.prototype alone', () => {
    for (const text of ['{"__proto__":{"isAdmin":true}}', '{"constructor":{"prototype":{"x":1}}}']) {
      const payload = { ...minimalKohya, ...(JSON.parse(text) as object) };
      const nested = { ...minimalKohya, network: JSON.parse(text) as unknown };
      expect(refusal(payload).length).toBeGreaterThan(0);
      expect(refusal(nested).length).toBeGreaterThan(0);
    }
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined();
  });

  it('holds numbers and strings to their bounds', () => {
    expect(refusal({ ...minimalKohya, network: { dim: 0 } })[0]?.path).toBe('network.dim');
    expect(refusal({ ...minimalKohya, network: { dim: 2.5 } })[0]?.path).toBe('network.dim');
    expect(refusal({ ...minimalKohya, learningRate: { base: 11 } })[0]?.path).toBe('learningRate.base');
    expect(refusal({ ...minimalKohya, model: { base: 'x'.repeat(101) } })[0]?.path).toBe('model.base');
    expect(refusal({ ...minimalKohya, model: { base: '../../etc/passwd' } })[0]?.path).toBe('model.base');
    expect(refusal({ ...minimalKohya, datasets: [] })[0]?.path).toBe('datasets');
    expect(refusal({ ...minimalKohya, sampling: { prompts: [{ prompt: 'a\nb' }] } })[0]?.path).toBe('sampling.prompts[0].prompt');
    expect(refusal({ ...minimalKohya, sampling: { prompts: [{ prompt: 'a', width: 500 }] } })[0]?.path).toBe('sampling.prompts[0].width');
  });

  it('types optimizer arguments per optimizer', () => {
    const adafactor = parseRunConfig({ ...minimalKohya, optimizer: { type: 'AdaFactor' } });
    expect(adafactor.kind === 'kohya' && adafactor.optimizer).toEqual({ type: 'AdaFactor', args: { relativeStep: false, scaleParameter: false, warmupInit: false } });
    expect(refusal({ ...minimalKohya, optimizer: { type: 'AdamW', args: { relativeStep: false } } })[0]?.path).toBe('optimizer.args');
    expect(refusal({ ...minimalKohya, optimizer: { type: 'bitsandbytes.optim.AdEMAMix8bit' } })[0]?.path).toBe('optimizer.type');
    expect(refusal({ ...minimalKohya, optimizer: { type: 'AdamW', args: { betas: [0.9, 1.5] } } })[0]?.path).toBe('optimizer.args.betas[1]');
  });

  it('takes a run length in epochs or in steps, not both', () => {
    const steps = parseRunConfig({ ...minimalKohya, duration: { unit: 'steps', steps: 2000 } });
    expect(steps.kind === 'kohya' && steps.duration).toEqual({ unit: 'steps', steps: 2000 });
    expect(refusal({ ...minimalKohya, duration: { unit: 'steps', steps: 10, epochs: 3 } }).length).toBe(1);
  });

  it('offers only safetensors for saved LoRAs', () => {
    expect(refusal({ ...minimalKohya, saving: { format: 'ckpt' } })[0]?.path).toBe('saving.format');
  });

  it('spells out the first issues in the message and all in details', () => {
    try {
      parseRunConfig({ ...minimalKohya, network: { dim: 0, alpha: -1, dropout: 2 }, batchSize: 0, seed: -1, gradientAccumulationSteps: 0 });
      throw new Error('expected a refusal');
    } catch (error) {
      if (!isLorasmithError(error)) throw error;
      expect(error.message).toContain('network.dim');
      expect(error.message).toContain('(and 1 more)');
      expect(error.details?.['issues']).toHaveLength(6);
      expect(error.exitCode).toBe(1);
    }
  });
});

describe('parseRunConfig — FluxFlow runs', () => {
  it('fills the fluxflow-train CLI defaults', () => {
    const config = parseRunConfig(minimalFluxflow);
    if (config.kind !== 'fluxflow') throw new Error('kind');
    expect(config.model).toEqual({ vaeDim: 128, featureMapsDim: 128, featureMapsDimDisc: 8, textEmbeddingDim: 1024, useGradientCheckpointing: true, pretrainedTextEncoder: true });
    expect(config.training).toEqual({ batchSize: 2, workers: 1, useFp16: false, initialClippingNorm: 1, lr: 5e-7 });
    expect(config.pipeline.steps[0]).toMatchObject({ useEma: true, klBeta: 1e-4, transition: { mode: 'epoch' }, freeze: [] });
  });

  it('refuses the settings pipeline mode ignores or that need the network', () => {
    const step = { name: 'vae', nEpochs: 1, trainVae: true };
    expect(refusal({ ...minimalFluxflow, pipeline: { steps: [{ ...step, batch_size: 4 }] } })[0]?.path).toBe('pipeline.steps[0]');
    expect(refusal({ ...minimalFluxflow, pipeline: { steps: [{ ...step, useLpips: true }] } })[0]?.path).toBe('pipeline.steps[0]');
    expect(refusal({ ...minimalFluxflow, pipeline: { steps: [{ ...step, cfgDropoutProb: 0.1 }] } })[0]?.path).toBe('pipeline.steps[0]');
    expect(refusal({ ...minimalFluxflow, data: { dataset: 'pics', useWebdataset: true } })[0]?.path).toBe('data');
    expect(refusal({ ...minimalFluxflow, pipeline: { steps: [{ ...step, freeze: ['flow'] }] } })[0]?.path).toBe('pipeline.steps[0].freeze[0]');
    expect(refusal({ ...minimalFluxflow, pipeline: { steps: [{ ...step, optimizers: { vae: { type: 'Adagrad', lr: 1e-5 } } }] } })[0]?.path).toBe(
      'pipeline.steps[0].optimizers.vae.type',
    );
    expect(refusal({ ...minimalFluxflow, pipeline: { steps: [{ ...step, transition: { mode: 'loss_threshold', metric: 'kl_loss', threshold: 1, maxEpochs: 1 } }] } })[0]?.path).toBe(
      'pipeline.steps[0].transition.metric',
    );
  });

  it('requires filesystem-safe step names', () => {
    expect(refusal({ ...minimalFluxflow, pipeline: { steps: [{ name: '../x', nEpochs: 1, trainVae: true }] } })[0]?.path).toBe('pipeline.steps[0].name');
  });

  it('lists dead fields with reasons, LPIPS and WebDataset among them', () => {
    const fields = FLUXFLOW_DEAD_FIELDS.map((dead) => dead.field);
    expect(fields).toEqual(expect.arrayContaining(['training.pipeline.steps[].use_lpips', 'data.use_webdataset', 'training.pipeline.steps[].cfg_dropout_prob', 'training.pipeline.steps[].batch_size']));
    expect(FLUXFLOW_DEAD_FIELDS.find((dead) => dead.field.endsWith('use_lpips'))?.reason).toMatch(/network/);
    for (const dead of FLUXFLOW_DEAD_FIELDS) expect(dead.reason.length).toBeGreaterThan(10);
  });
});

/** Every node of the JSON Schema with its path, to check properties the whole tree must have. */
function walk(node: JsonSchemaNode, path: string, visit: (node: JsonSchemaNode, path: string) => void): void {
  visit(node, path);
  for (const [key, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${key}`, visit);
  if (node.items !== undefined && node.items !== false) walk(node.items, `${path}[]`, visit);
  node.prefixItems?.forEach((child, index) => walk(child, `${path}[${index}]`, visit));
  (node.oneOf ?? node.anyOf ?? []).forEach((child, index) => walk(child, `${path}|${index}`, visit));
}

describe('runConfigJsonSchema (WEB-R13)', () => {
  const root = runConfigJsonSchema();

  it('is a union of the two run kinds', () => {
    expect(root.oneOf?.map((kind) => kind.properties?.['kind']?.const)).toEqual(['kohya', 'fluxflow']);
  });

  it('bounds every number and every string, caps every list and closes every object', () => {
    const loose: string[] = [];
    walk(root, '', (node, path) => {
      const fixed = node.const !== undefined || node.enum !== undefined;
      if ((node.type === 'number' || node.type === 'integer') && !fixed) {
        if (node.minimum === undefined && node.exclusiveMinimum === undefined) loose.push(`${path}: no minimum`);
        if (node.maximum === undefined && node.exclusiveMaximum === undefined) loose.push(`${path}: no maximum`);
      }
      if (node.type === 'string' && !fixed && node.maxLength === undefined) loose.push(`${path}: no maxLength`);
      if (node.type === 'array' && node.maxItems === undefined) loose.push(`${path}: no maxItems`);
      if (node.type === 'object' && node.additionalProperties !== false) loose.push(`${path}: open object`);
    });
    expect(loose).toEqual([]);
  });

  it('describes every field in words', () => {
    const silent: string[] = [];
    walk(root, '', (node, path) => {
      for (const [key, child] of Object.entries(node.properties ?? {})) {
        if ((child.description ?? '').length < 8) silent.push(`${path}.${key}`);
      }
    });
    expect(silent).toEqual([]);
  });
});
