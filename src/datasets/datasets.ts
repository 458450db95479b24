/**
 * The datasets domain as the server and the CLI use it: one object bound to the workspace's `datasets/`
 * folder, the import limits from settings and the dataset lock. It composes the store, imports, captions,
 * lint and step planning; it adds no behaviour of its own beyond naming images by `subset/file`.
 */
import path from 'node:path';
import { z } from 'zod';
import { LorasmithError } from '../core/errors.ts';
import { resolveInside } from '../core/paths.ts';
import type { SettingsStore } from '../core/settings.ts';
import type { TaskKind } from '../tasks/task-types.ts';
import type { UploadPipeline } from '../uploads/upload-service.ts';
import { assignBuckets, countSteps, readImageSizes, type BucketingOptions } from './buckets/index.ts';
import {
  applyCaptionEdit,
  filterImagesByTag,
  listCaptionUndo,
  previewCaptionEdit,
  readCaption,
  resolveDatasetImage,
  tagFrequency,
  undoCaptionEdit,
  writeCaption,
  type AppliedEdit,
  type CaptionEdit,
} from './captions/index.ts';
import { importCaptions, importFolder, importUploadedImage, importUploadedZip, importZip, type CaptionListFormat, type ImportReport } from './import/index.ts';
import type { DatasetPlan, PlanParams } from './dataset-api-types.ts';
import { lintDataset, type LintReport, type MaxTokenLength } from './lint/index.ts';
import {
  META_DIR,
  THUMBS_DIR,
  assertDatasetNameFree,
  checkDatasetName,
  checkSubsetName,
  createDataset,
  deleteDataset,
  existingDatasetDir,
  listDatasets,
  readDatasetMeta,
  renameDataset,
  setSubset,
  showDataset,
  subsetMetaOf,
  type DatasetDetails,
  type DatasetLock,
  type DatasetSummary,
} from './store/index.ts';

export const datasetImportParamsSchema = z
  .object({
    /** A zip in quarantine (an upload) or an operator path (CLI only: a zip or a folder). */
    source: z.enum(['upload-zip', 'zip', 'folder']),
    path: z.string().min(1),
    name: z.string().min(1).max(200),
  })
  .strict();
export type DatasetImportParams = z.infer<typeof datasetImportParamsSchema>;

export class Datasets {
  readonly root: string;
  readonly #settings: SettingsStore;
  /** Why edits of a dataset are refused right now (a run uses it), or undefined. Jobs connect here. */
  readonly isLocked: DatasetLock;

  constructor(params: { root: string; settings: SettingsStore; isLocked?: DatasetLock }) {
    this.root = params.root;
    this.#settings = params.settings;
    this.isLocked = params.isLocked ?? (() => undefined);
  }

  async #limits() {
    return (await this.#settings.get()).datasets;
  }

  async #locked(name: string): Promise<string | null> {
    return (await this.isLocked(name)) ?? null;
  }

  async #unlockedDir(name: string): Promise<string> {
    const dir = await existingDatasetDir({ datasetsRoot: this.root, name });
    const reason = await this.#locked(name);
    if (reason !== null) {
      throw new LorasmithError({ code: 'dataset-locked', message: `Dataset ${JSON.stringify(name)} cannot be changed now: ${reason}.`, hint: 'Wait for the run to end.', status: 409 });
    }
    return dir;
  }

  async list(): Promise<Array<DatasetSummary & { locked: string | null }>> {
    const summaries = await listDatasets({ datasetsRoot: this.root });
    return Promise.all(summaries.map(async (summary) => ({ ...summary, locked: await this.#locked(summary.name) })));
  }

  async create(name: string): Promise<DatasetSummary & { locked: string | null }> {
    await createDataset({ datasetsRoot: this.root, name });
    return this.summary(name);
  }

  async summary(name: string): Promise<DatasetSummary & { locked: string | null }> {
    const { images: _images, ...summary } = await this.show(name);
    return summary;
  }

  async show(name: string): Promise<DatasetDetails & { locked: string | null }> {
    return { ...(await showDataset({ datasetsRoot: this.root, name })), locked: await this.#locked(name) };
  }

  async rename(name: string, newName: string): Promise<DatasetSummary & { locked: string | null }> {
    await renameDataset({ datasetsRoot: this.root, name, newName, isLocked: this.isLocked });
    return this.summary(newName);
  }

  async remove(name: string): Promise<void> {
    await deleteDataset({ datasetsRoot: this.root, name, isLocked: this.isLocked });
  }

  async setSubset(name: string, subset: string, meta: { repeats?: number; classTokens?: string; isReg?: boolean }): Promise<DatasetSummary & { locked: string | null }> {
    await setSubset({ datasetsRoot: this.root, name, subset, meta, isLocked: this.isLocked });
    return this.summary(name);
  }

  /** The stored image `subset/file` of a dataset, resolved inside it (symlinks contained). */
  async imageFile(name: string, image: string): Promise<string> {
    const datasetDir = await existingDatasetDir({ datasetsRoot: this.root, name });
    return (await resolveDatasetImage({ datasetDir, image })).imagePath;
  }

  async thumbnailFile(name: string, image: string): Promise<string> {
    const datasetDir = await existingDatasetDir({ datasetsRoot: this.root, name });
    const found = await resolveDatasetImage({ datasetDir, image });
    const stem = path.basename(found.imagePath, path.extname(found.imagePath));
    return resolveInside({ root: datasetDir, input: `${META_DIR}/${THUMBS_DIR}/${found.subset}/${stem}.webp`, what: 'thumbnail path' });
  }

  async caption(name: string, image: string) {
    return readCaption({ datasetDir: await existingDatasetDir({ datasetsRoot: this.root, name }), image });
  }

  async writeCaption(name: string, image: string, content: { text: string } | { tags: readonly string[] }): Promise<AppliedEdit> {
    return writeCaption({ datasetDir: await this.#unlockedDir(name), image, ...content });
  }

  async previewEdit(name: string, edit: CaptionEdit, subset?: string) {
    const datasetDir = await existingDatasetDir({ datasetsRoot: this.root, name });
    return previewCaptionEdit({ datasetDir, edit, ...(subset === undefined ? {} : { subset }) });
  }

  async applyEdit(name: string, edit: CaptionEdit, subset?: string): Promise<AppliedEdit> {
    return applyCaptionEdit({ datasetDir: await this.#unlockedDir(name), edit, ...(subset === undefined ? {} : { subset }) });
  }

  /** Captions from a CSV (`file,caption`) or JSONL (`{"file","text"}`) list (an operator path, CLI only). */
  async importCaptions(name: string, listPath: string, format: CaptionListFormat, subset?: string) {
    return importCaptions({ datasetsRoot: this.root, name, listPath, format, limits: await this.#limits(), isLocked: this.isLocked, ...(subset === undefined ? {} : { subset }) });
  }

  async undoList(name: string) {
    return listCaptionUndo({ datasetDir: await existingDatasetDir({ datasetsRoot: this.root, name }) });
  }

  async undo(name: string, id?: string) {
    return undoCaptionEdit({ datasetDir: await this.#unlockedDir(name), ...(id === undefined ? {} : { id }) });
  }

  async tags(name: string, subset?: string) {
    return tagFrequency({ datasetDir: await existingDatasetDir({ datasetsRoot: this.root, name }), ...(subset === undefined ? {} : { subset }) });
  }

  async filter(name: string, filter: { all?: string[]; none?: string[] }): Promise<string[]> {
    const datasetDir = await existingDatasetDir({ datasetsRoot: this.root, name });
    const images = await filterImagesByTag({ datasetDir, ...filter });
    return images.map((image) => (typeof image === 'string' ? image : image.image));
  }

  #bucketing(params: Pick<PlanParams, 'resolution' | 'enableBucket' | 'minBucketReso' | 'maxBucketReso' | 'bucketResoSteps' | 'bucketNoUpscale'>): BucketingOptions {
    return {
      resolution: { width: params.resolution, height: params.resolution },
      enableBucket: params.enableBucket,
      minBucketReso: params.minBucketReso,
      maxBucketReso: params.maxBucketReso,
      bucketResoSteps: params.bucketResoSteps,
      bucketNoUpscale: params.bucketNoUpscale,
    };
  }

  async lint(name: string, params: PlanParams & { trigger?: string; maxTokenLength?: MaxTokenLength }): Promise<LintReport> {
    const datasetDir = await existingDatasetDir({ datasetsRoot: this.root, name });
    const meta = await readDatasetMeta(datasetDir);
    const subsets = Object.fromEntries(meta.subsets.map((subset) => [subset.name, { isReg: subset.isReg, classTokens: subset.classTokens }]));
    return lintDataset({
      datasetDir,
      bucketing: this.#bucketing(params),
      subsets,
      ...(params.trigger ? { trigger: params.trigger } : {}),
      ...(params.maxTokenLength === undefined ? {} : { maxTokenLength: params.maxTokenLength }),
    });
  }

  /** Buckets and kohya's step arithmetic for this dataset as it would train (shared with the planner). */
  async plan(name: string, params: PlanParams): Promise<DatasetPlan> {
    const datasetDir = await existingDatasetDir({ datasetsRoot: this.root, name });
    const meta = await readDatasetMeta(datasetDir);
    const sizes = await readImageSizes({ datasetDir });
    const bucketing = this.#bucketing(params);
    const assignment = assignBuckets({ bucketing, images: sizes.flatMap((group) => group.images) });
    const plan = countSteps({
      datasets: [
        {
          bucketing,
          batchSize: params.batchSize,
          subsets: sizes.map((group) => ({ name: group.subset, images: group.images, repeats: subsetMetaOf(meta, group.subset).repeats, isReg: subsetMetaOf(meta, group.subset).isReg })),
        },
      ],
      training: {
        gradientAccumulationSteps: params.gradientAccumulationSteps,
        numProcesses: 1,
        ...(params.maxTrainEpochs === undefined ? {} : { maxTrainEpochs: params.maxTrainEpochs }),
        ...(params.maxTrainSteps === undefined ? {} : { maxTrainSteps: params.maxTrainSteps }),
      },
    });
    return {
      buckets: assignment.buckets,
      steps: { batchesPerEpoch: plan.batchesPerEpoch, stepsPerEpoch: plan.stepsPerEpoch, maxTrainSteps: plan.maxTrainSteps, epochs: plan.epochs },
    };
  }

  /** `dataset-import`: zips and folders become datasets as a task, with progress and cancel. */
  importTask(): TaskKind<DatasetImportParams> {
    return {
      kind: 'dataset-import',
      params: datasetImportParamsSchema,
      concurrency: 1,
      run: async (params, ctx): Promise<{ report: ImportReport }> => {
        const limits = await this.#limits();
        const common = {
          datasetsRoot: this.root,
          name: params.name,
          limits,
          signal: ctx.signal,
          onProgress: (progress: { phase: string; done: number; total: number }) => {
            ctx.detail(progress.phase);
            ctx.progress({ done: progress.done, total: progress.total, message: progress.phase });
          },
        };
        switch (params.source) {
          case 'upload-zip':
            return { report: await importUploadedZip({ ...common, uploadedFile: params.path }) };
          case 'zip':
            return { report: await importZip({ ...common, zipPath: params.path }) };
          case 'folder':
            return { report: await importFolder({ ...common, folderPath: params.path }) };
        }
      },
    };
  }

  /** Upload pipelines: a zip becomes a new dataset (as a task); an image joins an existing dataset. */
  uploadPipelines(startImport: (params: DatasetImportParams) => Promise<{ id: string }>): { zip: UploadPipeline; image: UploadPipeline } {
    const targetDataset = (target: { dataset: string } | null, kind: string): string => {
      if (target === null) {
        throw new LorasmithError({ code: 'upload-target-missing', message: `A ${kind} upload needs a target dataset.`, hint: 'Choose the dataset it goes to.' });
      }
      return checkDatasetName(target.dataset);
    };
    return {
      zip: {
        accept: async ({ target }) => {
          await assertDatasetNameFree({ datasetsRoot: this.root, name: targetDataset(target, 'zip') });
        },
        take: async (upload) => {
          const task = await startImport({ source: 'upload-zip', path: upload.file, name: targetDataset(upload.target, 'zip') });
          return { taskId: task.id };
        },
      },
      image: {
        accept: async ({ target }) => {
          await this.#unlockedDir(targetDataset(target, 'image'));
          if (target?.subset !== undefined) checkSubsetName(target.subset);
        },
        take: async (upload) => ({
          image: await importUploadedImage({
            upload,
            datasetsRoot: this.root,
            dataset: targetDataset(upload.target, 'image'),
            ...(upload.target?.subset === undefined ? {} : { subset: upload.target.subset }),
            limits: await this.#limits(),
            isLocked: this.isLocked,
          }),
        }),
      },
    };
  }
}
