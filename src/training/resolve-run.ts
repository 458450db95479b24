/**
 * A kohya run's library ids and dataset names, resolved against the workspace: absolute model files (checked
 * for kind), dataset folders with their subsets' metadata after the run's overrides, and image file names.
 * Also the `RunResolver` that `validateRun` uses for its library and dataset checks.
 *
 * A run imported from another tool's config on the CLI names files outside the workspace (operator inputs,
 * DESIGN.md §6.3). They come in as `OperatorSources` keyed by the placeholder id or name the imported config
 * holds in their place (src/training/import/operator-inputs.ts), already scanned and listed; the HTTP API
 * never passes any, so over HTTP every id and name is the workspace's.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError, isLorasmithError } from '../core/errors.ts';
import { existingDatasetDir, imageFilesOf, readDatasetMeta, subsetFolders, subsetMetaOf } from '../datasets/store/index.ts';
import type { ModelFamily, ModelKind } from '../formats/fingerprint/types.ts';
import type { Studio } from '../studio/studio.ts';
import type { ResolvedRunDataset, ResolvedRunDatasetGroup, ResolvedRunInputs, ResolvedRunModels, ResolvedRunSubset } from './engines/kohya/map-run-config.ts';
import type { KohyaRunConfig, KohyaSubsetOverride } from './schema/index.ts';
import type { RunResolver } from './validate/index.ts';

/** What resolution needs from a studio: the model library and the datasets root. */
export type RunWorkspace = Pick<Studio, 'library'> & { datasets: Pick<Studio['datasets'], 'root'> };

/** A model file outside the library, scanned and fingerprinted (`path` is what the engine reads). */
export interface OperatorModel {
  path: string;
  kind: ModelKind;
  family: ModelFamily;
  /** Bytes of the file as scanned. */
  size: number;
}

/** A dataset's subsets before the run's overrides: each with its own repeats, class tokens and image names. */
export interface DatasetSource {
  /** Absolute folder, for messages. */
  dir: string;
  /** Every subset, empty ones included (an override may name one). */
  subsets: ResolvedRunSubset[];
}

/** Files and folders outside the workspace an imported config names, by the placeholder standing for each. */
export interface OperatorSources {
  models: ReadonlyMap<string, OperatorModel>;
  datasets: ReadonlyMap<string, DatasetSource>;
}

function resolveError(code: string, message: string, hint: string, field: string): LorasmithError {
  return new LorasmithError({ code, message, hint, exitCode: 1, status: 400, details: { path: field } });
}

/** Errors that mean "no such thing" (or a name that cannot name one), as opposed to I/O failures. */
function isMissing(error: unknown): boolean {
  return isLorasmithError(error) && (error.code === 'model-not-found' || error.code === 'dataset-not-found' || error.code.endsWith('-name-invalid') || error.status === 404);
}

/** `validateRun`'s view of the workspace: model kind and family, dataset image count (null when missing). */
export function studioRunResolver(studio: RunWorkspace, operator?: OperatorSources): RunResolver {
  return {
    async model(id) {
      const outside = operator?.models.get(id);
      if (outside !== undefined) return { kind: outside.kind, family: outside.family };
      try {
        const record = await studio.library.get(id);
        return { kind: record.kind, family: record.family };
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },
    async dataset(name) {
      const outside = operator?.datasets.get(name);
      if (outside !== undefined) return { imageCount: outside.subsets.reduce((sum, subset) => sum + subset.files.length, 0) };
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

async function modelFile(studio: RunWorkspace, operator: OperatorSources | undefined, field: string, id: string, kind: ModelKind, role: string): Promise<{ file: string; size: number }> {
  const outside = operator?.models.get(id);
  if (outside !== undefined) {
    if (outside.kind !== kind) {
      throw resolveError('run-model-wrong-kind', `The ${role} ${outside.path} (${field}) is a ${outside.kind}, not a ${kind}.`, `Name a ${kind} file in the config.`, field);
    }
    return { file: outside.path, size: outside.size };
  }
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
  // A diffusers pipeline is one entry whose main file is its denoiser's weights: sd-scripts loads the folder.
  const isPipeline = record.files.some((member) => member.path === 'model_index.json');
  return { file: isPipeline ? await studio.library.folderOf(id) : await studio.library.fileOf(id), size: record.size };
}

async function resolveModels(studio: RunWorkspace, operator: OperatorSources | undefined, config: KohyaRunConfig): Promise<{ models: ResolvedRunModels; baseModelBytes: number }> {
  const { model, network } = config;
  const base = await modelFile(studio, operator, 'model.base', model.base, 'checkpoint', 'base checkpoint');
  const models: ResolvedRunModels = { base: base.file };
  const components: ReadonlyArray<readonly [keyof Omit<ResolvedRunModels, 'base'>, string, string | undefined, ModelKind, string]> = [
    ['vae', 'model.vae', model.vae, 'vae', 'VAE'],
    ['clipL', 'model.clipL', model.clipL, 'text-encoder', 'CLIP-L text encoder'],
    ['clipG', 'model.clipG', model.clipG, 'text-encoder', 'CLIP-G text encoder'],
    ['t5xxl', 'model.t5xxl', model.t5xxl, 'text-encoder', 'T5-XXL text encoder'],
    ['gemma2', 'model.gemma2', model.gemma2, 'text-encoder', 'Gemma 2 text encoder'],
    ['initialWeights', 'network.initialWeights', network.initialWeights, 'lora', 'LoRA to continue from'],
  ];
  for (const [key, field, id, kind, role] of components) {
    if (id !== undefined) models[key] = (await modelFile(studio, operator, field, id, kind, role)).file;
  }
  return { models, baseModelBytes: base.size };
}

/** A lorasmith dataset's subsets with their own metadata and image names. */
async function workspaceDatasetSource(studio: RunWorkspace, field: string, name: string): Promise<DatasetSource> {
  let dir: string;
  try {
    dir = await existingDatasetDir({ datasetsRoot: studio.datasets.root, name });
  } catch (error) {
    if (isMissing(error)) throw resolveError('run-dataset-missing', `There is no dataset named ${JSON.stringify(name)} (${field}).`, 'Pick a dataset from `lorasmith dataset list`, or create it first.', field);
    throw error;
  }
  const meta = await readDatasetMeta(dir);
  const subsets: ResolvedRunSubset[] = [];
  for (const folder of await subsetFolders(dir)) {
    const own = subsetMetaOf(meta, folder);
    subsets.push({
      name: folder,
      dir: path.join(dir, folder),
      repeats: own.repeats,
      classTokens: own.classTokens,
      isReg: own.isReg,
      captionExtension: own.captionExtension,
      files: imageFilesOf(await readdir(path.join(dir, folder), { withFileTypes: true })),
    });
  }
  return { dir, subsets };
}

async function resolveGroup(
  studio: RunWorkspace,
  operator: OperatorSources | undefined,
  field: string,
  name: string,
  overrides: readonly KohyaSubsetOverride[],
  forceReg: boolean,
): Promise<ResolvedRunDatasetGroup> {
  const source = operator?.datasets.get(name) ?? (await workspaceDatasetSource(studio, field, name));
  const label = operator?.datasets.has(name) === true ? source.dir : name;
  const folders = source.subsets.map((subset) => subset.name);
  overrides.forEach((override, index) => {
    if (!folders.includes(override.name)) {
      throw resolveError(
        'run-subset-missing',
        `Dataset ${label} has no subset named ${JSON.stringify(override.name)} (${field.replace(/\.dataset$/, '')}.subsets[${index}]).`,
        `Its subsets are: ${folders.length === 0 ? '(none)' : folders.join(', ')}.`,
        `${field.replace(/\.dataset$/, '')}.subsets[${index}].name`,
      );
    }
  });
  const subsets: ResolvedRunSubset[] = [];
  for (const own of source.subsets) {
    const override = overrides.find((entry) => entry.name === own.name);
    if (override?.include === false || own.files.length === 0) continue;
    subsets.push({
      ...own,
      repeats: override?.repeats ?? own.repeats,
      classTokens: override?.classTokens ?? own.classTokens,
      isReg: forceReg || (override?.isReg ?? own.isReg),
      ...(override?.shuffleCaption === undefined ? {} : { shuffleCaption: override.shuffleCaption }),
      ...(override?.keepTokens === undefined ? {} : { keepTokens: override.keepTokens }),
    });
  }
  if (subsets.length === 0) {
    throw resolveError(
      'run-dataset-empty',
      `Dataset ${label} (${field}) has no images in the subsets this run uses; sd-scripts would stop with "No data found".`,
      'Add images to the dataset, or include a subset that has some.',
      field,
    );
  }
  return { name, dir: source.dir, subsets };
}

export interface ResolveRunParams {
  studio: RunWorkspace;
  config: KohyaRunConfig;
  /** Operator inputs of a config imported on the CLI; never from the HTTP API. */
  operator?: OperatorSources;
  /** `--output_name` when the config has no name (the job id). */
  outputName?: string;
  seed?: number;
}

/**
 * Resolve every id and name of a kohya run; `baseModelBytes` is the base model file's size (the planner's GPU-R01
 * input). Throws a `LorasmithError` naming the field: `run-model-missing`,
 * `run-model-wrong-kind`, `run-dataset-missing`, `run-subset-missing`, `run-dataset-empty`.
 */
export async function resolveRunInputs(params: ResolveRunParams): Promise<ResolvedRunInputs & { baseModelBytes: number }> {
  const { studio, config, operator } = params;
  const { models, baseModelBytes } = await resolveModels(studio, operator, config);
  const datasets: ResolvedRunDataset[] = [];
  for (const [d, ref] of config.datasets.entries()) {
    const main = await resolveGroup(studio, operator, `datasets[${d}].dataset`, ref.dataset, ref.subsets, false);
    const regularisation: ResolvedRunDatasetGroup[] = [];
    for (const [r, reg] of ref.regularisation.entries()) {
      regularisation.push(await resolveGroup(studio, operator, `datasets[${d}].regularisation[${r}].dataset`, reg.dataset, reg.subsets, true));
    }
    datasets.push({ ...main, regularisation });
  }
  return {
    models,
    baseModelBytes,
    datasets,
    ...(params.outputName === undefined ? {} : { outputName: params.outputName }),
    ...(params.seed === undefined ? {} : { seed: params.seed }),
  };
}
