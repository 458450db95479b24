/**
 * FluxFlow as the jobs module runs it (src/jobs/job-engine.ts; DESIGN.md §4): the adapter of
 * fluxflow-engine.ts plus what a job adds. The engine is located when asked (settings can change between
 * runs); the final output is a `checkpoint` of family `fluxflow`; a run's saved state is its output folder's
 * `training_state.json` beside `flxflow_final.safetensors`, and a resume starts the new job's output folder as
 * a copy of the parent's (fluxflow.md §1.5). Every save overwrites the same files (§1.6), so a run has no
 * per-epoch files to promote: the shim's snapshots keep each save, and the final one enters the library.
 *
 * The checkpoint enters the library with `text_encoder.safetensors` beside it (the launch names it as the
 * output's companion), so a fine-tune from the entry starts from the trained text encoder. The text encoder
 * (DistilBERT, 66M parameters) is usually the larger file, so the job names the checkpoint as the entry's main
 * file rather than letting the largest file decide.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isLorasmithError } from '../../../core/errors.ts';
import type { JobEngine, JobPrepareParams } from '../../../jobs/job-engine.ts';
import type { RunInputs } from '../../../jobs/run-manifest.ts';
import type { RunConfig } from '../../schema/index.ts';
import type { EngineLaunch, EngineOutputParser, MetricBatch, MetricsCursor } from '../engine.ts';
import { engineNotInstalled, runConfigOf } from '../launch-common.ts';
import type { FluxflowEngineStatus } from './engine-location.ts';
import { createFluxflowEngine, createFluxflowParser } from './fluxflow-engine.ts';
import { FLUXFLOW_STATE_FILE } from './layout.ts';
import type { FluxflowPhaseTimeouts } from './launch.ts';
import { readFluxflowMetrics } from './read-metrics.ts';
import { resolveFluxflowResume, resolveFluxflowRun, type FluxflowWorkspace } from './resolve-run.ts';

export interface FluxflowJobEngineParams {
  workspace: FluxflowWorkspace;
  locate: () => Promise<FluxflowEngineStatus>;
  /** Watchdog numbers (settings); the adapter's defaults otherwise. */
  timeouts?: () => Promise<Partial<FluxflowPhaseTimeouts>>;
}

/** Matches no file name: FluxFlow overwrites one checkpoint per save instead of keeping per-epoch files. */
const NO_PER_EPOCH_FILES = /^(?!)(\d+)?(\d+)?$/;

/** What a FluxFlow job tells the user to change (output.*, fineTuneFrom; fluxflow.md §1.5, §1.6). */
const FLUXFLOW_ADVICE = {
  noSavedState:
    'A FluxFlow run saves its state every output.checkpointSaveInterval batches and at each epoch end; this one ended before its first save. Lower output.checkpointSaveInterval to save sooner; start a new run now.',
  trainFurther: 'It finished: start a new run to train further (fineTuneFrom continues from its checkpoint).',
  noPerEpochFiles: 'FluxFlow overwrites one checkpoint at each save, so its runs have no per-epoch files; the final checkpoint is in the library.',
} as const;

export class FluxflowJobEngine implements JobEngine {
  readonly id = 'fluxflow' as const;
  /** FluxFlow trains a whole text-to-image model, not a LoRA. */
  readonly outputKind = 'checkpoint' as const;
  readonly advice = FLUXFLOW_ADVICE;
  readonly #params: FluxflowJobEngineParams;

  constructor(params: FluxflowJobEngineParams) {
    this.#params = params;
  }

  /** The engine's status when it can run here, else `engine-not-installed`: a run is refused before it is queued. */
  async assertInstalled(): Promise<FluxflowEngineStatus> {
    const engine = await this.#params.locate();
    if (!engine.installed) {
      throw engineNotInstalled('FluxFlow', engine.note);
    }
    return engine;
  }

  /** What a run reads: the fine-tune checkpoint, and each dataset's captioned images and the caption files read. */
  async inputs(config: RunConfig): Promise<RunInputs> {
    const fluxflow = runConfigOf('fluxflow', config);
    // Resolving checks every dataset and the checkpoint exist, with the kind and dims the run needs.
    const resolved = await resolveFluxflowRun({ workspace: this.#params.workspace, config: fluxflow });
    const models = fluxflow.fineTuneFrom === undefined ? [] : [{ role: 'fineTuneFrom', id: fluxflow.fineTuneFrom }];
    const main = resolved.datasets[0];
    const datasets = resolved.datasets.map((dataset) => {
      const files = new Set([...dataset.entries.map((entry) => entry.image), ...(dataset.captionFiles ?? [])]);
      // Test images are read too (they may sit in a subset FluxFlow does not train on).
      if (dataset === main) for (const image of resolved.testImages) files.add(path.relative(dataset.dir, image).split(path.sep).join('/'));
      return { name: dataset.name, dir: dataset.dir, files: [...files].sort() };
    });
    return { models, datasets };
  }

  /**
   * The installed `fluxflow-training` version from the venv's package metadata (installed from the package
   * index, not a git checkout), for the run manifest; null when unknown. Reads files only: no interpreter runs.
   */
  async commit(): Promise<string | null> {
    const engine = await this.#params.locate();
    if (!engine.installed) return null;
    const lib = path.join(engine.location.venvDir, 'lib');
    const pythons = await readdir(lib).catch(() => []);
    for (const python of pythons.filter((name) => /^python3\.\d+$/.test(name)).sort()) {
      const packages = await readdir(path.join(lib, python, 'site-packages')).catch(() => []);
      const match = packages.map((name) => /^fluxflow_training-([^-]+)\.dist-info$/.exec(name)).find((found) => found !== null);
      if (match?.[1] !== undefined) return `fluxflow-training==${match[1]}`;
    }
    return null;
  }

  async prepare(params: JobPrepareParams): Promise<EngineLaunch> {
    const { location } = await this.assertInstalled();
    const timeouts = (await this.#params.timeouts?.()) ?? {};
    const engine = createFluxflowEngine({ workspace: this.#params.workspace, location, timeouts });
    // FluxFlow takes no seed (its data order is fixed) and names its own files: outputName and seed are not used.
    return engine.prepare({
      config: runConfigOf('fluxflow', params.config),
      runDir: params.runDir,
      gpus: params.gpus,
      ...(params.resumeFrom === undefined ? {} : { resumeFrom: params.resumeFrom }),
      ...(params.gpusUnknown === true ? { gpusUnknown: true } : {}),
    });
  }

  createParser(config: RunConfig): EngineOutputParser {
    return createFluxflowParser(config);
  }

  /** The run's `training_state.json` when its output folder can be resumed from (checkpoint and pipeline-mode state), else null. */
  async savedState(runDir: string): Promise<string | null> {
    try {
      const resume = await resolveFluxflowResume(runDir);
      return path.join(resume.outputDir, FLUXFLOW_STATE_FILE);
    } catch (error) {
      if (isLorasmithError(error) && (error.code === 'fluxflow-resume-no-state' || error.code === 'fluxflow-resume-invalid')) return null;
      throw error;
    }
  }

  /** The losses of each pipeline step, from `work/output/graph/training_metrics_<step>.jsonl`. */
  metrics(runDir: string, since: MetricsCursor): Promise<MetricBatch> {
    return readFluxflowMetrics(runDir, since);
  }

  savedCheckpointPattern(): RegExp {
    return NO_PER_EPOCH_FILES;
  }
}
