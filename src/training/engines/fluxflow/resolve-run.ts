/**
 * A FluxFlow run's names and ids resolved against the workspace, read-only (a dry run uses it too): each
 * lorasmith dataset the run trains on becomes FluxFlow's `data_path` plus captions-file entries, the fine-tune
 * checkpoint a library file (with its text encoder beside it and its dims checked against the config), and a
 * resume the parent run's output folder with its saved state (fluxflow.md §1.5; DESIGN.md §4).
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LorasmithError, errnoCode, isLorasmithError } from '../../../core/errors.ts';
import { resolveInside } from '../../../core/paths.ts';
import { stemOf } from '../../../datasets/images/stored-name.ts';
import { existingDatasetDir, imageFilesOf, readDatasetMeta, subsetFolders, subsetMetaOf } from '../../../datasets/store/index.ts';
import { validateSafetensorsFile } from '../../../formats/safetensors/index.ts';
import type { ModelRecord } from '../../../library/model-record.ts';
import type { FluxflowRunConfig } from '../../schema/index.ts';
import type { CaptionEntry } from './captions-file.ts';
import { normaliseCaption } from './captions-file.ts';
import { FLUXFLOW_CHECKPOINT_FILE, FLUXFLOW_STATE_FILE, FLUXFLOW_TEXT_ENCODER_FILE } from './layout.ts';

/** What resolution needs: the model library and the datasets root (a Studio has both). */
export interface FluxflowWorkspace {
  library: {
    get(id: string): Promise<Pick<ModelRecord, 'kind' | 'family'>>;
    fileOf(id: string): Promise<string>;
  };
  datasets: { root: string };
}

export interface FluxflowDatasetInput {
  /** The lorasmith dataset name; also the captions file's name. */
  name: string;
  /** Absolute dataset folder: FluxFlow's `data_path` / `image_folder`, bound read-only. */
  dir: string;
  entries: CaptionEntry[];
  /** Images left out, with why (FluxFlow has no regularisation images and no use for an uncaptioned one). */
  skipped: Array<{ image: string; reason: string }>;
  /** The caption files read (`<subset>/<file>`, empty ones included): with the images, what a run's manifest hashes. */
  captionFiles?: string[];
}

export interface FluxflowFineTune {
  /** The library's `flxflow_final.safetensors`: `model_checkpoint`. */
  checkpoint: string;
  /** `text_encoder.safetensors` beside it, copied into the fresh output folder; null when the entry has none. */
  textEncoder: string | null;
}

export interface FluxflowResume {
  /** The parent run's output folder (`runs/<parent>/work/output`): copied, then resumed from. */
  outputDir: string;
  /** Where the parent's saved state says it stopped. */
  state: { stepIndex: number; stepName: string; epoch: number; batch: number; globalStep: number };
}

export interface FluxflowResolvedRun {
  config: FluxflowRunConfig;
  /** The run's dataset first (top-level `data:`), then the other datasets steps name, each once. */
  datasets: FluxflowDatasetInput[];
  /** `output.testImages` as absolute paths inside the run's dataset. */
  testImages: string[];
  fineTune: FluxflowFineTune | null;
  resume: FluxflowResume | null;
}

function resolveError(code: string, message: string, hint: string, field: string): LorasmithError {
  return new LorasmithError({ code, message, hint, exitCode: 1, status: 400, details: { path: field } });
}

async function isRegularFile(file: string): Promise<boolean> {
  try {
    return (await lstat(file)).isFile();
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
    throw error;
  }
}

async function datasetDir(workspace: FluxflowWorkspace, name: string, field: string): Promise<string> {
  try {
    return await existingDatasetDir({ datasetsRoot: workspace.datasets.root, name });
  } catch (error) {
    if (isLorasmithError(error) && (error.code === 'dataset-not-found' || error.code.endsWith('-name-invalid'))) {
      throw resolveError('run-dataset-missing', `There is no dataset named ${JSON.stringify(name)} (${field}).`, 'Pick a dataset from `lorasmith dataset list`, or create it first.', field);
    }
    throw error;
  }
}

/** Every captioned image of the dataset's non-regularisation subsets, as `<subset>/<file>` entries. */
async function resolveDataset(workspace: FluxflowWorkspace, name: string, field: string): Promise<FluxflowDatasetInput> {
  const dir = await datasetDir(workspace, name, field);
  const meta = await readDatasetMeta(dir);
  const entries: CaptionEntry[] = [];
  const skipped: FluxflowDatasetInput['skipped'] = [];
  const captionsRead: string[] = [];
  for (const subset of await subsetFolders(dir)) {
    const own = subsetMetaOf(meta, subset);
    const listing = await readdir(path.join(dir, subset), { withFileTypes: true });
    const images = imageFilesOf(listing);
    if (own.isReg) {
      for (const image of images) skipped.push({ image: `${subset}/${image}`, reason: 'regularisation subset (FluxFlow has no regularisation images)' });
      continue;
    }
    // Regular files only: a caption that is a link is not read.
    const captionFiles = new Set(listing.filter((entry) => entry.isFile()).map((entry) => entry.name));
    for (const image of images) {
      const captionName = `${stemOf(image)}${own.captionExtension}`;
      if (captionFiles.has(captionName)) captionsRead.push(`${subset}/${captionName}`);
      const text = captionFiles.has(captionName) ? normaliseCaption(await readFile(path.join(dir, subset, captionName), 'utf8')) : '';
      const caption = text !== '' ? text : normaliseCaption(own.classTokens);
      if (caption === '') skipped.push({ image: `${subset}/${image}`, reason: 'no caption and no class tokens' });
      else entries.push({ image: `${subset}/${image}`, caption });
    }
  }
  if (entries.length === 0) {
    throw resolveError(
      'run-dataset-empty',
      `Dataset ${name} (${field}) has no captioned training images${skipped.length > 0 ? ` (${skipped.length} left out: ${skipped[0]?.reason ?? ''})` : ''}.`,
      'Add captioned images to the dataset; FluxFlow trains on image–caption pairs.',
      field,
    );
  }
  return { name, dir, entries, skipped, captionFiles: captionsRead };
}

type ShapeOf = (name: RegExp) => number[] | undefined;

/** The dims a checkpoint was trained with, from tensor shapes (§1.6; FluxFlow files carry no metadata). */
function checkpointDims(shape: ShapeOf): { vaeDim?: number; featureMapsDim?: number; textEmbeddingDim?: number } {
  const toModel = shape(/^diffuser\.flow_processor\.vae_to_dmodel\.weight$/);
  const textProj = shape(/^diffuser\.flow_processor\.text_proj\.weight$/);
  const latent = shape(/^diffuser\.compressor\.latent_proj\.(?:.+\.)?0\.0\.weight$/);
  const vaeDim = toModel?.[1] ?? (latent?.[0] === undefined ? undefined : latent[0] / 5);
  return {
    ...(vaeDim === undefined ? {} : { vaeDim }),
    ...(toModel?.[0] === undefined ? {} : { featureMapsDim: toModel[0] }),
    ...(textProj?.[1] === undefined ? {} : { textEmbeddingDim: textProj[1] }),
  };
}

async function resolveFineTune(workspace: FluxflowWorkspace, config: FluxflowRunConfig, id: string): Promise<FluxflowFineTune> {
  const field = 'fineTuneFrom';
  let record;
  try {
    record = await workspace.library.get(id);
  } catch (error) {
    if (isLorasmithError(error) && error.code === 'model-not-found') {
      throw resolveError('run-model-missing', `The FluxFlow checkpoint ${JSON.stringify(id)} (${field}) is not in the model library.`, 'Pick a FluxFlow checkpoint from `lorasmith models list`.', field);
    }
    throw error;
  }
  if (record.kind !== 'checkpoint' || record.family !== 'fluxflow') {
    throw resolveError('run-model-wrong-kind', `${JSON.stringify(id)} (${field}) is a ${record.family} ${record.kind}, not a FluxFlow checkpoint.`, 'Pick a checkpoint a FluxFlow run produced.', field);
  }
  const checkpoint = await workspace.library.fileOf(id);
  const checked = await validateSafetensorsFile({ path: checkpoint });
  if (!checked.ok) throw resolveError('run-model-invalid', `The checkpoint ${JSON.stringify(id)} (${field}) is not a valid safetensors file: ${checked.reason.message}.`, 'Import it again.', field);
  const tensors = checked.header.tensors;
  const dims = checkpointDims((pattern) => tensors.find((tensor) => pattern.test(tensor.name))?.shape);
  const want = { vaeDim: config.model.vaeDim, featureMapsDim: config.model.featureMapsDim, textEmbeddingDim: config.model.textEmbeddingDim };
  for (const key of ['vaeDim', 'featureMapsDim', 'textEmbeddingDim'] as const) {
    const has = dims[key];
    if (has !== undefined && has !== want[key]) {
      throw resolveError(
        'fluxflow-dims-mismatch',
        `The checkpoint ${JSON.stringify(id)} was trained with ${key} ${has}, but the run sets model.${key} ${want[key]}; its weights would not load.`,
        `Set model.${key} to ${has}.`,
        `model.${key}`,
      );
    }
  }
  const sibling = path.join(path.dirname(checkpoint), FLUXFLOW_TEXT_ENCODER_FILE);
  return { checkpoint, textEncoder: (await isRegularFile(sibling)) ? sibling : null };
}

/**
 * A parent run's saved position; only state the studio's own runs wrote is ever resumed (§5.15). Throws
 * `fluxflow-resume-no-state` when its output folder holds no checkpoint or no pipeline-mode state.
 */
export async function resolveFluxflowResume(parentRunDir: string): Promise<FluxflowResume> {
  const field = 'resumeFrom';
  if (!path.isAbsolute(parentRunDir)) throw resolveError('fluxflow-resume-invalid', `The parent run folder ${JSON.stringify(parentRunDir)} is not absolute.`, 'Resume from a run of this studio.', field);
  const outputDir = path.join(parentRunDir, 'work', 'output');
  const noState = (why: string) =>
    resolveError('fluxflow-resume-no-state', `The parent run cannot be resumed: ${why}.`, 'Resume needs a run that saved at least once (every checkpointSaveInterval batches and at each epoch end); start a new run, or fine-tune from its checkpoint.', field);
  if (!(await isRegularFile(path.join(outputDir, FLUXFLOW_CHECKPOINT_FILE)))) throw noState(`its output folder has no ${FLUXFLOW_CHECKPOINT_FILE}`);
  const stateFile = path.join(outputDir, FLUXFLOW_STATE_FILE);
  if (!(await isRegularFile(stateFile)) || (await lstat(stateFile)).size > 1024 * 1024) throw noState(`its output folder has no ${FLUXFLOW_STATE_FILE}`);
  let state: unknown;
  try {
    state = JSON.parse(await readFile(stateFile, 'utf8'));
  } catch {
    throw noState(`${FLUXFLOW_STATE_FILE} is not JSON`);
  }
  const record = (typeof state === 'object' && state !== null ? state : {}) as Record<string, unknown>;
  const pipeline = (typeof record.pipeline === 'object' && record.pipeline !== null ? record.pipeline : {}) as Record<string, unknown>;
  if (record.mode !== 'pipeline') throw noState(`${FLUXFLOW_STATE_FILE} is not from pipeline mode`);
  const int = (value: unknown): number => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0);
  return {
    outputDir,
    state: {
      stepIndex: int(pipeline.current_step_index),
      stepName: typeof pipeline.current_step_name === 'string' ? pipeline.current_step_name : '',
      epoch: int(pipeline.current_step_epoch),
      batch: int(pipeline.current_batch_idx),
      globalStep: int(record.global_step),
    },
  };
}

export interface ResolveFluxflowRunParams {
  workspace: FluxflowWorkspace;
  config: FluxflowRunConfig;
  /** Absolute `runs/<parent>` when this job resumes another (DESIGN.md §5). */
  resumeFrom?: string;
}

/**
 * Resolve every name and id of a FluxFlow run. Throws a `LorasmithError` naming the field:
 * `run-dataset-missing`, `run-dataset-empty`, `run-model-missing`, `run-model-wrong-kind`, `run-model-invalid`,
 * `fluxflow-dims-mismatch`, `run-test-image-missing`, `fluxflow-resume-no-state`.
 */
export async function resolveFluxflowRun(params: ResolveFluxflowRunParams): Promise<FluxflowResolvedRun> {
  const { workspace, config } = params;
  const main = await resolveDataset(workspace, config.data.dataset, 'data.dataset');
  const datasets = [main];
  for (const [index, step] of config.pipeline.steps.entries()) {
    if (step.dataset === undefined || datasets.some((dataset) => dataset.name === step.dataset)) continue;
    datasets.push(await resolveDataset(workspace, step.dataset, `pipeline.steps[${index}].dataset`));
  }
  const testImages: string[] = [];
  for (const [index, image] of config.output.testImages.entries()) {
    const field = `output.testImages[${index}]`;
    const file = await resolveInside({ root: main.dir, input: `${image.subset}/${image.file}`, what: 'test image path' });
    if (!(await isRegularFile(file))) {
      throw resolveError('run-test-image-missing', `Dataset ${main.name} has no image ${image.subset}/${image.file} (${field}).`, 'Pick an image of the run’s dataset.', field);
    }
    testImages.push(file);
  }
  return {
    config,
    datasets,
    testImages,
    // A resumed job's output folder already holds the fine-tuned weights; the parent's state wins.
    fineTune: params.resumeFrom === undefined && config.fineTuneFrom !== undefined ? await resolveFineTune(workspace, config, config.fineTuneFrom) : null,
    resume: params.resumeFrom === undefined ? null : await resolveFluxflowResume(params.resumeFrom),
  };
}
