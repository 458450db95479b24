/**
 * A kohya run's library ids and dataset names, resolved against the workspace: absolute model files (checked
 * for kind), dataset folders with their subsets' metadata after the run's overrides, and image file names.
 * Also the `RunResolver` that `validateRun` uses for its library and dataset checks.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError, isLorasmithError } from '../core/errors.ts';
import { existingDatasetDir, imageFilesOf, readDatasetMeta, subsetFolders, subsetMetaOf } from '../datasets/store/index.ts';
import type { ModelKind } from '../formats/fingerprint/types.ts';
import type { Studio } from '../studio/studio.ts';
import type { ResolvedRunDataset, ResolvedRunDatasetGroup, ResolvedRunInputs, ResolvedRunModels, ResolvedRunSubset } from './engines/kohya/map-run-config.ts';
import type { KohyaRunConfig, KohyaSubsetOverride } from './schema/index.ts';
import type { RunResolver } from './validate/index.ts';

/** What resolution needs from a studio: the model library and the datasets root. */
export type RunWorkspace = Pick<Studio, 'library'> & { datasets: Pick<Studio['datasets'], 'root'> };

function resolveError(code: string, message: string, hint: string, field: string): LorasmithError {
  return new LorasmithError({ code, message, hint, exitCode: 1, status: 400, details: { path: field } });
}

/** Errors that mean "no such thing" (or a name that cannot name one), as opposed to I/O failures. */
function isMissing(error: unknown): boolean {
  return isLorasmithError(error) && (error.code === 'model-not-found' || error.code === 'dataset-not-found' || error.code.endsWith('-name-invalid') || error.status === 404);
}

/** `validateRun`'s view of the workspace: model kind and family, dataset image count (null when missing). */
export function studioRunResolver(studio: RunWorkspace): RunResolver {
  return {
    async model(id) {
      try {
        const record = await studio.library.get(id);
        return { kind: record.kind, family: record.family };
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },
    async dataset(name) {
      try {
        const dir = await existingDatasetDir({ datasetsRoot: studio.datasets.root, name });
        let imageCount = 0;
        for (const subset of await subsetFolders(dir)) imageCount += imageFilesOf(await readdir(path.join(dir, subset), { withFileTypes: true })).length;
        return { imageCount };
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },
  };
}

async function modelFile(studio: RunWorkspace, field: string, id: string, kind: ModelKind, role: string): Promise<string> {
  let record;
  try {
    record = await studio.library.get(id);
  } catch (error) {
    if (isMissing(error)) {
      throw resolveError('run-model-missing', `The ${role} ${JSON.stringify(id)} (${field}) is not in the model library.`, 'Pick a model from `lorasmith models list`, or import or pull it first.', field);
    }
    throw error;
  }
  if (record.kind !== kind) {
    throw resolveError('run-model-wrong-kind', `The ${role} ${JSON.stringify(id)} (${field}) is a ${record.kind}, not a ${kind}.`, `Pick a ${kind} from the library.`, field);
  }
  return studio.library.fileOf(id);
}

async function resolveModels(studio: RunWorkspace, config: KohyaRunConfig): Promise<ResolvedRunModels> {
  const { model, network } = config;
  const models: ResolvedRunModels = { base: await modelFile(studio, 'model.base', model.base, 'checkpoint', 'base checkpoint') };
  const components: ReadonlyArray<readonly [keyof Omit<ResolvedRunModels, 'base'>, string, string | undefined, ModelKind, string]> = [
    ['vae', 'model.vae', model.vae, 'vae', 'VAE'],
    ['clipL', 'model.clipL', model.clipL, 'text-encoder', 'CLIP-L text encoder'],
    ['clipG', 'model.clipG', model.clipG, 'text-encoder', 'CLIP-G text encoder'],
    ['t5xxl', 'model.t5xxl', model.t5xxl, 'text-encoder', 'T5-XXL text encoder'],
    ['gemma2', 'model.gemma2', model.gemma2, 'text-encoder', 'Gemma 2 text encoder'],
    ['initialWeights', 'network.initialWeights', network.initialWeights, 'lora', 'LoRA to continue from'],
  ];
  for (const [key, field, id, kind, role] of components) {
    if (id !== undefined) models[key] = await modelFile(studio, field, id, kind, role);
  }
  return models;
}

async function resolveGroup(studio: RunWorkspace, field: string, name: string, overrides: readonly KohyaSubsetOverride[], forceReg: boolean): Promise<ResolvedRunDatasetGroup> {
  let dir: string;
  try {
    dir = await existingDatasetDir({ datasetsRoot: studio.datasets.root, name });
  } catch (error) {
    if (isMissing(error)) throw resolveError('run-dataset-missing', `There is no dataset named ${JSON.stringify(name)} (${field}).`, 'Pick a dataset from `lorasmith dataset list`, or create it first.', field);
    throw error;
  }
  const meta = await readDatasetMeta(dir);
  const folders = await subsetFolders(dir);
  overrides.forEach((override, index) => {
    if (!folders.includes(override.name)) {
      throw resolveError(
        'run-subset-missing',
        `Dataset ${name} has no subset named ${JSON.stringify(override.name)} (${field.replace(/\.dataset$/, '')}.subsets[${index}]).`,
        `Its subsets are: ${folders.length === 0 ? '(none)' : folders.join(', ')}.`,
        `${field.replace(/\.dataset$/, '')}.subsets[${index}].name`,
      );
    }
  });
  const subsets: ResolvedRunSubset[] = [];
  for (const folder of folders) {
    const override = overrides.find((entry) => entry.name === folder);
    if (override?.include === false) continue;
    const files = imageFilesOf(await readdir(path.join(dir, folder), { withFileTypes: true }));
    if (files.length === 0) continue;
    const own = subsetMetaOf(meta, folder);
    subsets.push({
      name: folder,
      dir: path.join(dir, folder),
      repeats: override?.repeats ?? own.repeats,
      classTokens: override?.classTokens ?? own.classTokens,
      isReg: forceReg || (override?.isReg ?? own.isReg),
      captionExtension: own.captionExtension,
      ...(override?.shuffleCaption === undefined ? {} : { shuffleCaption: override.shuffleCaption }),
      ...(override?.keepTokens === undefined ? {} : { keepTokens: override.keepTokens }),
      files,
    });
  }
  if (subsets.length === 0) {
    throw resolveError(
      'run-dataset-empty',
      `Dataset ${name} (${field}) has no images in the subsets this run uses; sd-scripts would stop with "No data found".`,
      'Add images to the dataset, or include a subset that has some.',
      field,
    );
  }
  return { name, dir, subsets };
}

export interface ResolveRunParams {
  studio: RunWorkspace;
  config: KohyaRunConfig;
  /** `--output_name` when the config has no name (the job id). */
  outputName?: string;
  seed?: number;
}

/**
 * Resolve every id and name of a kohya run. Throws a `LorasmithError` naming the field: `run-model-missing`,
 * `run-model-wrong-kind`, `run-dataset-missing`, `run-subset-missing`, `run-dataset-empty`.
 */
export async function resolveRunInputs(params: ResolveRunParams): Promise<ResolvedRunInputs> {
  const { studio, config } = params;
  const models = await resolveModels(studio, config);
  const datasets: ResolvedRunDataset[] = [];
  for (const [d, ref] of config.datasets.entries()) {
    const main = await resolveGroup(studio, `datasets[${d}].dataset`, ref.dataset, ref.subsets, false);
    const regularisation: ResolvedRunDatasetGroup[] = [];
    for (const [r, reg] of ref.regularisation.entries()) {
      regularisation.push(await resolveGroup(studio, `datasets[${d}].regularisation[${r}].dataset`, reg.dataset, reg.subsets, true));
    }
    datasets.push({ ...main, regularisation });
  }
  return {
    models,
    datasets,
    ...(params.outputName === undefined ? {} : { outputName: params.outputName }),
    ...(params.seed === undefined ? {} : { seed: params.seed }),
  };
}
