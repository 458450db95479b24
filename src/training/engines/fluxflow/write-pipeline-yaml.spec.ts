import { describe, expect, it } from 'vitest';
import { FLUXFLOW_DEAD_FIELDS } from '../../schema/index.ts';
import { loadPyYaml, samePyValue, type PyMapping, type PyValue } from './pyyaml.ts';
import { DATASET_DIR, fluxflowConfig, fluxflowInput } from './spec-fixtures.ts';
import { renderPipelineYaml, type PipelineYamlPaths } from './write-pipeline-yaml.ts';
import { checkPipelineYaml, PIPELINE_YAML_SCHEMA, STEP_FIELDS } from './yaml-schema.ts';

const PATHS: PipelineYamlPaths = {
  outputDir: '/ws/runs/job-1/work/output',
  captionsFiles: { pics: '/ws/runs/job-1/captions/pics.tsv', faces: '/ws/runs/job-1/captions/faces.tsv' },
  modelCheckpoint: null,
  bertDir: '/ws/engines/fluxflow/cache/models--distilbert-base-uncased/snapshots/abc1234',
};

/** A config that turns on every setting the sub-schema offers. */
function everything() {
  return fluxflowConfig({
    name: 'tiny-model',
    data: { dataset: 'pics', imgSize: 512, channels: 3, fixedPromptPrefix: 'photo of', reducedMinSizes: [256, 384] },
    model: { vaeDim: 64, featureMapsDim: 64, featureMapsDimDisc: 16, textEmbeddingDim: 1024, useGradientCheckpointing: false, pretrainedTextEncoder: true },
    training: { batchSize: 4, workers: 2, useFp16: true, initialClippingNorm: 2, lr: 1 },
    output: { logInterval: 5, checkpointSaveInterval: 100, samples: true, sampleCaptions: ['a cat', 'on'], sampleSizes: [{ width: 512, height: 512 }, { width: 512, height: 768 }], testImages: [{ subset: 'photos', file: '001.png' }] },
    pipeline: {
      steps: [
        {
          name: 'vae',
          description: 'VAE warm-up',
          nEpochs: 3,
          maxSteps: 200,
          trainVae: true,
          ganTraining: true,
          trainSpade: true,
          useEma: false,
          klBeta: 1,
          klWarmupSteps: 100,
          klFreeBits: 0.5,
          lambdaAdv: 0.9,
          mseWeight: 0.2,
          r1Interval: 8,
          r1Gamma: 2,
          instanceNoiseStd: 0.02,
          instanceNoiseDecay: 0.999,
          adaptiveWeights: false,
          freeze: ['flow_processor'],
          optimizers: { vae: { type: 'AdamW', lr: 1e-5, betas: [0.9, 0.99], weightDecay: 0.01, eps: 1e-8, amsgrad: true }, discriminator: { type: 'AdamW', lr: 5e-7, betas: [0, 0.9] } },
          schedulers: { vae: { type: 'StepLR', stepSize: 1000, gamma: 0.5 }, discriminator: { type: 'ReduceLROnPlateau', mode: 'min', factor: 0.5, patience: 3 } },
          transition: { mode: 'loss_threshold', metric: 'vae_loss', threshold: 0.05, maxEpochs: 2 },
        },
        {
          name: 'flow',
          nEpochs: 2,
          dataset: 'faces',
          trainDiff: true,
          unfreeze: ['flow_processor'],
          freeze: ['compressor', 'expander'],
          optimizers: { flow: { type: 'Lion', lr: 5e-7, decoupledWeightDecay: true }, textEncoder: { type: 'SGD', lr: 1e-8, momentum: 0.9 } },
          schedulers: { flow: { type: 'LinearLR', startFactor: 1, endFactor: 0.1, totalIters: 5000 }, textEncoder: { type: 'CosineAnnealingLR', etaMinFactor: 0.001 } },
        },
        { name: 'joint', nEpochs: 1, trainVae: true, trainDiffFull: true, lr: 2e-6 },
      ],
    },
  });
}

function load(text: string): PyMapping {
  return loadPyYaml(text) as PyMapping;
}

function at(doc: PyValue, ...keys: Array<string | number>): PyValue | undefined {
  let node: PyValue | undefined = doc;
  for (const key of keys) node = node === undefined || node === null || typeof node !== 'object' ? undefined : (node as Record<string, PyValue>)[key as string];
  return node;
}

describe('renderPipelineYaml', () => {
  it('writes only keys FluxFlow knows and pipeline mode reads, each of the type its code uses', () => {
    const input = fluxflowInput(everything(), { testImages: [`${DATASET_DIR}/photos/001.png`], fineTune: { checkpoint: '/ws/models/checkpoint/run/a/final/flxflow_final.safetensors', textEncoder: null } });
    const check = checkPipelineYaml(load(renderPipelineYaml(input, { ...PATHS, modelCheckpoint: '/ws/models/checkpoint/run/a/final/flxflow_final.safetensors' })));
    expect(check).toEqual({ unknown: [], unread: [], typeErrors: [] });
  });

  it('offers every step setting pipeline mode reads except those that need the network', () => {
    const doc = load(renderPipelineYaml(fluxflowInput(everything()), PATHS));
    const written = new Set((at(doc, 'training', 'pipeline', 'steps') as PyMapping[]).flatMap((step) => Object.keys(step)));
    const readable = Object.entries(STEP_FIELDS)
      .filter(([, field]) => field.read)
      .map(([key]) => key);
    // use_lpips / lambda_lpips need VGG weights from the network (PROC-R03).
    expect(readable.filter((key) => !written.has(key)).sort()).toEqual(['lambda_lpips', 'use_lpips']);
  });

  it('always has a top-level data section, even when every step names its own dataset', () => {
    const config = fluxflowConfig({
      pipeline: { steps: [{ name: 'only', nEpochs: 1, trainVae: true, dataset: 'faces' }] },
    });
    const doc = load(renderPipelineYaml(fluxflowInput(config), PATHS));
    expect(at(doc, 'data')).toMatchObject({ data_path: DATASET_DIR, captions_file: PATHS.captionsFiles.pics });
    expect(at(doc, 'training', 'pipeline', 'datasets')).toEqual({ faces: { type: 'local', image_folder: '/ws/datasets/faces', captions_file: PATHS.captionsFiles.faces } });
    expect(at(doc, 'training', 'pipeline', 'steps', 0, 'dataset')).toBe('faces');
  });

  it('types every number: ints as ints, floats with a dot even when whole', () => {
    const text = renderPipelineYaml(fluxflowInput(everything()), PATHS);
    const doc = load(text);
    expect(at(doc, 'training', 'pipeline', 'steps', 0, 'n_epochs')).toBe(3n);
    expect(at(doc, 'training', 'pipeline', 'steps', 0, 'kl_warmup_steps')).toBe(100n);
    expect(samePyValue(at(doc, 'training', 'pipeline', 'steps', 0, 'kl_beta') ?? null, 1)).toBe(true);
    expect(at(doc, 'training', 'lr')).toBe(1);
    expect(text).toContain('  lr: 1.0\n');
    expect(text).toContain('kl_beta: 1.0\n');
    expect(at(doc, 'training', 'pipeline', 'steps', 1, 'optimization', 'schedulers', 'flow', 'total_iters')).toBe(5000n);
    expect(at(doc, 'training', 'pipeline', 'steps', 0, 'optimization', 'optimizers', 'vae', 'eps')).toBe(1e-8);
    expect(text).toContain('eps: 1.0e-08');
    expect(at(doc, 'output', 'sample_sizes')).toEqual([512n, [512n, 768n]]);
    expect(at(doc, 'output', 'sample_captions')).toEqual(['a cat', 'on']);
  });

  it('maps our names onto FluxFlow\'s: components, transitions, samples, the text encoder', () => {
    const doc = load(renderPipelineYaml(fluxflowInput(everything()), PATHS));
    expect(Object.keys(at(doc, 'training', 'pipeline', 'steps', 1, 'optimization', 'optimizers') as PyMapping)).toEqual(['flow', 'text_encoder']);
    expect(at(doc, 'training', 'pipeline', 'steps', 0, 'transition_on')).toEqual({ mode: 'loss_threshold', metric: 'vae_loss', threshold: 0.05, max_epochs: 2n });
    expect(at(doc, 'training', 'pipeline', 'steps', 1, 'transition_on')).toEqual({ mode: 'epoch' });
    expect(at(doc, 'output')).toMatchObject({ no_samples: false, samples_per_checkpoint: 1n, output_path: PATHS.outputDir });
    expect(at(doc, 'model', 'pretrained_bert_model')).toBe(PATHS.bertDir);
    expect(at(doc, 'model', 'use_gradient_checkpointing')).toBe(false);
    expect(at(doc, 'data')).not.toHaveProperty('tokenizer_name');
    expect(doc).not.toHaveProperty('model_checkpoint');
  });

  it('writes a step\'s lr only when it lists no optimisers (FluxFlow ignores it otherwise)', () => {
    const config = everything();
    const step = config.pipeline.steps[1];
    if (step !== undefined) step.lr = 3e-6;
    const doc = load(renderPipelineYaml(fluxflowInput(config), PATHS));
    expect(at(doc, 'training', 'pipeline', 'steps', 1)).not.toHaveProperty('lr');
    expect(at(doc, 'training', 'pipeline', 'steps', 2, 'lr')).toBe(2e-6);
  });

  it('turns samples off both ways and leaves the text encoder random when asked', () => {
    const config = fluxflowConfig({ output: { samples: false }, model: { pretrainedTextEncoder: false } });
    const doc = load(renderPipelineYaml(fluxflowInput(config), { ...PATHS, bertDir: null }));
    expect(at(doc, 'output')).toMatchObject({ no_samples: true, samples_per_checkpoint: 0n });
    expect(at(doc, 'model', 'pretrained_bert_model')).toBeNull();
  });

  it('never writes a setting the sub-schema lists as not offered', () => {
    const text = renderPipelineYaml(fluxflowInput(everything()), PATHS);
    const keys = new Set<string>();
    const walk = (node: PyValue, where: string): void => {
      if (Array.isArray(node)) node.forEach((item) => walk(item, `${where.replace(/\.$/, '')}[].`));
      else if (node !== null && typeof node === 'object' && !(node instanceof Date)) {
        for (const [key, item] of Object.entries(node)) {
          keys.add(`${where}${key}`);
          walk(item, `${where}${key}.`);
        }
      }
    };
    walk(load(text), '');
    const deadKeys = FLUXFLOW_DEAD_FIELDS.flatMap((dead) => dead.field.split(', ')).filter((field) => !/[:( *]/.test(field));
    expect(deadKeys.length).toBeGreaterThan(15);
    expect(keys).toContain('training.pipeline.steps[].kl_beta');
    expect(deadKeys.filter((dead) => keys.has(dead))).toEqual([]);
    for (const forbidden of ['use_lpips', 'lambda_lpips', 'cfg_dropout_prob', 'use_webdataset', 'webdataset_url', 'webdataset_token', 'optim_sched_config', 'lr_min', 'preserve_lr', 'training_steps']) {
      expect(text).not.toContain(`${forbidden}:`);
    }
  });

  it('the transcription covers every YAML section of fluxflow.md §1.2', () => {
    expect(Object.keys(PIPELINE_YAML_SCHEMA).sort()).toEqual(['data', 'model', 'model_checkpoint', 'optimization', 'output', 'training']);
  });
});
