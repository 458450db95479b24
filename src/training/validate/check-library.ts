/**
 * Rules that need the workspace: every model a run names exists in the library and is the right kind and
 * family, and every dataset exists and has images. The workspace comes in as a `RunResolver`.
 */
import type { ModelKind } from '../../formats/fingerprint/types.ts';
import type { RunConfig } from '../schema/index.ts';
import { type RunResolver, type ValidationIssue, issue } from './types.ts';

interface ModelRef {
  path: string;
  id: string;
  kind: ModelKind;
  /** What the file is for, in words, for messages. */
  role: string;
  /** Whether its family must match the run's; encoders and VAEs are shared across families, so they are not checked. */
  sameFamily: boolean;
}

interface DatasetRef {
  path: string;
  name: string;
}

function references(config: RunConfig): { models: ModelRef[]; datasets: DatasetRef[] } {
  if (config.kind === 'fluxflow') {
    const models: ModelRef[] =
      config.fineTuneFrom === undefined ? [] : [{ path: 'fineTuneFrom', id: config.fineTuneFrom, kind: 'checkpoint', role: 'FluxFlow checkpoint', sameFamily: true }];
    const datasets: DatasetRef[] = [{ path: 'data.dataset', name: config.data.dataset }];
    config.pipeline.steps.forEach((step, index) => {
      if (step.dataset !== undefined) datasets.push({ path: `pipeline.steps[${index}].dataset`, name: step.dataset });
    });
    return { models, datasets };
  }
  const { model } = config;
  const models: ModelRef[] = [{ path: 'model.base', id: model.base, kind: 'checkpoint', role: 'base checkpoint', sameFamily: true }];
  const components: Array<[string, string | undefined, ModelKind, string]> = [
    ['model.vae', model.vae, 'vae', 'VAE'],
    ['model.clipL', model.clipL, 'text-encoder', 'CLIP-L text encoder'],
    ['model.clipG', model.clipG, 'text-encoder', 'CLIP-G text encoder'],
    ['model.t5xxl', model.t5xxl, 'text-encoder', 'T5-XXL text encoder'],
    ['model.gemma2', model.gemma2, 'text-encoder', 'Gemma 2 text encoder'],
    ['network.initialWeights', config.network.initialWeights, 'lora', 'LoRA to continue from'],
  ];
  for (const [path, id, kind, role] of components) {
    if (id !== undefined) models.push({ path, id, kind, role, sameFamily: kind === 'lora' });
  }
  const datasets: DatasetRef[] = [];
  config.datasets.forEach((dataset, d) => {
    datasets.push({ path: `datasets[${d}].dataset`, name: dataset.dataset });
    dataset.regularisation.forEach((reg, r) => datasets.push({ path: `datasets[${d}].regularisation[${r}].dataset`, name: reg.dataset }));
  });
  return { models, datasets };
}

async function checkModel(config: RunConfig, ref: ModelRef, resolve: RunResolver): Promise<ValidationIssue[]> {
  const found = await resolve.model(ref.id);
  if (found === null) {
    return [issue('model-missing', 'error', ref.path, `The ${ref.role} ${JSON.stringify(ref.id)} is not in the model library.`, 'Pick a model from the library, or import or download it first.')];
  }
  if (found.kind !== ref.kind) {
    return [issue('model-kind-mismatch', 'error', ref.path, `The ${ref.role} ${JSON.stringify(ref.id)} is a ${found.kind}, not a ${ref.kind}.`, `Pick a ${ref.kind} from the library.`)];
  }
  const family = config.kind === 'fluxflow' ? 'fluxflow' : config.family;
  if (!ref.sameFamily || found.family === family) return [];
  if (found.family === 'unknown') {
    return [
      issue(
        'model-family-unknown',
        'warning',
        ref.path,
        `The library could not tell the family of the ${ref.role} ${JSON.stringify(ref.id)}; it must be ${family} for this run.`,
        'Check that the model is really of this family before starting.',
      ),
    ];
  }
  return [
    issue(
      'model-family-mismatch',
      'error',
      ref.path,
      `The ${ref.role} ${JSON.stringify(ref.id)} is a ${found.family} model; this run trains ${family}.`,
      `Pick a ${family} model, or change the run's family to ${found.family}.`,
    ),
  ];
}

async function checkDataset(ref: DatasetRef, resolve: RunResolver): Promise<ValidationIssue[]> {
  const found = await resolve.dataset(ref.name);
  if (found === null) {
    return [issue('dataset-missing', 'error', ref.path, `There is no dataset named ${ref.name}.`, 'Pick an existing dataset, or create it first.')];
  }
  if (found.imageCount === 0) {
    return [issue('dataset-empty', 'error', ref.path, `Dataset ${ref.name} has no images; sd-scripts would stop with "No data found".`, 'Add images to the dataset first.')];
  }
  return [];
}

export async function checkLibrary(config: RunConfig, resolve: RunResolver): Promise<ValidationIssue[]> {
  const { models, datasets } = references(config);
  const results = await Promise.all([...models.map((ref) => checkModel(config, ref, resolve)), ...datasets.map((ref) => checkDataset(ref, resolve))]);
  return results.flat();
}
