/**
 * kohya-ss sd-scripts as a `TrainingEngine` (DESIGN.md §4): the one place where a run config becomes a kohya
 * launch (resolve ids → map onto sd-scripts options → write the run's files), where kohya's output becomes
 * engine-neutral events, and where kohya's saved-state folders are found for a resume.
 *
 * Beyond `PrepareParams`, a job passes the output name (the job id when the config has none) and the seed it
 * drew and recorded. A resume (`resumeFrom`, the parent's run folder) starts from the parent's newest saved
 * state, copied into the new run's `work/resume/` (regular files inside the parent's `work/` only: the parent's
 * engine could have planted links there) and named by `--resume`.
 */
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LorasmithError } from '../../../core/errors.ts';
import { readTensorboardMetrics } from '../../../jobs/metrics/index.ts';
import { collectArtifacts } from '../../../jobs/shim/collect-artifacts.ts';
import { openContainedFile } from '../../../jobs/shim/contained-file.ts';
import { convertOperatorInputs, type OperatorRun } from '../../import/operator-inputs.ts';
import { resolveRunInputs, type RunWorkspace } from '../../resolve-run.ts';
import type { KohyaRunConfig, RunConfig } from '../../schema/index.ts';
import { readGitHead } from '../detect/read-git-head.ts';
import type { EngineEvent, EngineExit, EngineLaunch, EngineOutputParser, MetricBatch, MetricsCursor, PrepareParams, TrainingEngine } from '../engine.ts';
import { engineNotInstalled, runConfigOf } from '../launch-common.ts';
import { prepareKohyaRun, type KohyaEngineLocation, type KohyaPhaseTimeouts } from './launch.ts';
import { kohyaRunLayout } from './layout.ts';
import { mapKohyaRunDetailed, type ResolvedRunInputs } from './map-run-config.ts';
import { KohyaOutputParser, type KohyaEvent } from './parse-output.ts';

export interface KohyaPrepareParams extends PrepareParams {
  /** `--output_name` when the config has no `name`. */
  outputName?: string;
  /** `--seed` when the config has none. */
  seed?: number;
  /** The GPU probe could not tell (gpu_unknown, allowed by the user): leave CUDA_VISIBLE_DEVICES unset. */
  gpusUnknown?: boolean;
  /**
   * An imported config's operator inputs, scanned for this run folder: their placeholders resolve to the files
   * and folders they stand for, a safe checkpoint is converted into `<run>/inputs/` first, and every file and
   * image folder the engine reads is bound read-only like a library model or dataset.
   */
  operator?: OperatorRun;
}

/** Where the engine is installed, or why it cannot run. */
export type KohyaLocate = () => Promise<{ installed: boolean; location: KohyaEngineLocation; note?: string }>;

/** What a run reads: library models by role, and each dataset's images and captions (`subset/file` inside `dir`). */
export interface RunInputFiles {
  models: Array<{ role: string; id: string }>;
  datasets: Array<{ name: string; dir: string; files: string[] }>;
}

export interface KohyaEngineParams {
  workspace: RunWorkspace;
  locate: KohyaLocate;
  /** Watchdog numbers (settings); the adapter's defaults otherwise. */
  timeouts?: () => Promise<Partial<KohyaPhaseTimeouts>>;
}

/** What a kohya job tells the user to change (saving.*, network.initialWeights). */
const KOHYA_ADVICE = {
  noSavedState: 'Turn on saving.saveState (the presets do) so a stopped or failed run can be resumed; start a new run now.',
  trainFurther: 'It finished: start a new run to train further (network.initialWeights continues from its output).',
  noPerEpochFiles: 'The run saved no per-epoch files (saving.everyNEpochs).',
} as const;

/** kohya's state folder names (train_util.py): `<name>-<epoch:06d>-state`, `<name>-step<step:08d>-state`, `<name>-state`. */
function isStateDirName(name: string, outputName: string): boolean {
  if (!name.startsWith(`${outputName}-`)) return false;
  return /^(?:-\d{6}|-step\d{8})?-state$/.test(name.slice(outputName.length));
}

export function neutralEvents(events: readonly KohyaEvent[], epoch: () => number | undefined): EngineEvent[] {
  const out: EngineEvent[] = [];
  for (const event of events) {
    switch (event.kind) {
      case 'progress': {
        // Caching and validation bars count other things than optimizer steps.
        if (event.bar !== 'training') break;
        const current = epoch();
        out.push({
          kind: 'progress',
          step: event.step,
          total: event.total,
          ...(event.itPerSec === undefined ? {} : { itPerSec: event.itPerSec }),
          ...(event.remainingS === undefined ? {} : { remainingS: event.remainingS }),
          ...(event.loss === undefined ? {} : { loss: event.loss }),
          ...(current === undefined ? {} : { epoch: current }),
        });
        break;
      }
      case 'summary':
        if (event.totalSteps !== undefined) out.push({ kind: 'progress', step: 0, total: event.totalSteps });
        break;
      case 'phase':
      case 'epoch':
      case 'checkpoint':
      case 'warning':
      case 'error':
        out.push(event);
        break;
      case 'sample':
        out.push({ kind: 'sample', step: event.step });
        break;
      // Saved states and removed checkpoints are read from work/ when needed; `model saved.` feeds the verdict.
      case 'checkpoint-removed':
      case 'state-saving':
      case 'model-saved':
        break;
    }
  }
  return out;
}

class KohyaParser implements EngineOutputParser {
  readonly #parser: KohyaOutputParser;

  constructor(outputName: string | undefined) {
    this.#parser = new KohyaOutputParser(outputName === undefined ? {} : { outputName });
  }

  parse(line: string): EngineEvent[] {
    return neutralEvents(this.#parser.parse(line), () => this.#parser.state.epoch);
  }

  finish(exit: EngineExit): ReturnType<EngineOutputParser['finish']> {
    const { events, outcome } = this.#parser.finish({ code: exit.code, signal: exit.signal, outputExists: exit.outputExists });
    return { events: neutralEvents(events, () => this.#parser.state.epoch), outcome: { ok: outcome.ok, code: outcome.code, message: outcome.message, ...(outcome.hint === undefined ? {} : { hint: outcome.hint }) } };
  }
}

export class KohyaTrainingEngine implements TrainingEngine {
  readonly id = 'kohya' as const;
  /** Every kohya trainer lorasmith launches is a network (LoRA-family) trainer. */
  readonly outputKind = 'lora' as const;
  readonly advice = KOHYA_ADVICE;
  readonly #params: KohyaEngineParams;

  constructor(params: KohyaEngineParams) {
    this.#params = params;
  }

  async #resolve(config: KohyaRunConfig, params: { outputName?: string; seed?: number; operator?: OperatorRun }): Promise<ResolvedRunInputs> {
    return resolveRunInputs({
      studio: this.#params.workspace,
      config,
      ...(params.operator === undefined ? {} : { operator: params.operator.sources }),
      ...(params.outputName === undefined ? {} : { outputName: params.outputName }),
      ...(params.seed === undefined ? {} : { seed: params.seed }),
    });
  }

  /**
   * What a run reads, for its manifest: the library models by role, each dataset's images and their captions.
   * An imported config's operator inputs are not among them (the job hashes those itself); they resolve here
   * through `operator` so the rest can be checked.
   */
  async inputs(config: RunConfig, operator?: OperatorRun): Promise<RunInputFiles> {
    const kohya = runConfigOf('kohya', config);
    // Resolving checks every id and dataset exists, with the kind the run needs.
    const resolved = await this.#resolve(kohya, operator === undefined ? {} : { operator });
    const outside = (id: string): boolean => operator?.sources.models.has(id) === true || operator?.sources.datasets.has(id) === true;
    const { model, network } = kohya;
    const roles: Array<[string, string | undefined]> = [
      ['base', model.base],
      ['vae', model.vae],
      ['clipL', model.clipL],
      ['clipG', model.clipG],
      ['t5xxl', model.t5xxl],
      ['gemma2', model.gemma2],
      ['initialWeights', network.initialWeights],
    ];
    const models = roles.filter((entry): entry is [string, string] => entry[1] !== undefined && !outside(entry[1])).map(([role, id]) => ({ role, id }));
    const datasets: RunInputFiles['datasets'] = [];
    for (const dataset of resolved.datasets) {
      for (const group of [dataset, ...dataset.regularisation]) {
        if (outside(group.name)) continue;
        const files: string[] = [];
        for (const subset of group.subsets) {
          const present = new Set(await readdir(subset.dir));
          for (const image of subset.files) {
            files.push(`${subset.name}/${image}`);
            const caption = `${path.parse(image).name}${subset.captionExtension}`;
            if (present.has(caption)) files.push(`${subset.name}/${caption}`);
          }
        }
        datasets.push({ name: group.name, dir: group.dir, files: files.sort() });
      }
    }
    return { models, datasets };
  }

  /** The sd-scripts commit the installed engine is at, for the run manifest; null when unknown. */
  async commit(): Promise<string | null> {
    const engine = await this.#params.locate();
    return engine.installed ? ((await readGitHead(engine.location.engineRoot))?.commit ?? null) : null;
  }

  /** The engine's location, or `engine-not-installed`: a run is refused before it is queued, not when it starts. */
  async assertInstalled(): Promise<KohyaEngineLocation> {
    const engine = await this.#params.locate();
    if (!engine.installed) {
      throw engineNotInstalled('kohya sd-scripts', engine.note);
    }
    return engine.location;
  }

  async prepare(params: KohyaPrepareParams): Promise<EngineLaunch> {
    const config = runConfigOf('kohya', params.config);
    const location = await this.assertInstalled();
    // The engine reads the safetensors copy of an operator's checkpoint, made here (the converter scans it again).
    if (params.operator !== undefined) await convertOperatorInputs(params.operator.inputs);
    const resolved = await this.#resolve(config, params);
    const { input } = mapKohyaRunDetailed({ config, resolved });
    // The parent used the same config: its output name is the config's, else its own job id (its folder's name).
    if (params.resumeFrom !== undefined) input.args.resume = await this.#copyState(params.resumeFrom, config.name ?? path.basename(params.resumeFrom), params.runDir);
    const timeouts = (await this.#params.timeouts?.()) ?? {};
    const launch = await prepareKohyaRun(input, {
      runDir: params.runDir,
      engine: location,
      ...(params.gpusUnknown === true ? {} : { gpus: params.gpus }),
      timeouts,
    });
    return {
      engine: 'kohya',
      argv: launch.argv,
      env: launch.env,
      cwd: launch.cwd,
      directives: launch.directives,
      sandbox: launch.sandbox,
      outputFile: launch.plan.outputFile,
    };
  }

  async #copyState(parentRunDir: string, parentOutputName: string, runDir: string): Promise<string> {
    const state = await this.savedState(parentRunDir, parentOutputName);
    const parentWork = kohyaRunLayout(parentRunDir).workDir;
    const { files } = state === null ? { files: [] } : await collectArtifacts(parentWork, state);
    if (state === null || files.length === 0) {
      throw new LorasmithError({
        code: 'no-saved-state',
        message: 'The run to resume saved no training state (or it is gone from its folder).',
        hint: KOHYA_ADVICE.noSavedState,
        exitCode: 1,
        status: 409,
      });
    }
    const target = path.join(kohyaRunLayout(runDir).workDir, 'resume', path.basename(state));
    const root = await realpath(parentWork);
    for (const file of files) {
      const opened = await openContainedFile(root, file.path);
      if ('refused' in opened) continue;
      try {
        const destination = path.join(target, ...file.relative.split('/'));
        await mkdir(path.dirname(destination), { recursive: true });
        // The streams close both handles when done (a handle a live stream holds cannot be closed before).
        await pipeline(opened.handle.createReadStream(), createWriteStream(destination, { flags: 'wx', mode: 0o644 }));
      } finally {
        await opened.handle.close();
      }
    }
    return target;
  }

  createParser(config: RunConfig, outputName?: string): EngineOutputParser {
    return new KohyaParser(config.name ?? outputName);
  }

  /**
   * The newest saved training state of a run (absolute, inside its `work/output`), or null: what a resume
   * starts from. A state folder counts only when it holds kohya's `train_state.json`.
   */
  async savedState(runDir: string, outputName: string): Promise<string | null> {
    const outputDir = kohyaRunLayout(runDir).outputDir;
    let names: string[];
    try {
      names = await readdir(outputDir);
    } catch {
      return null;
    }
    let newest: { dir: string; at: number } | null = null;
    for (const name of names) {
      if (!isStateDirName(name, outputName)) continue;
      const dir = path.join(outputDir, name);
      try {
        // The engine wrote this folder: a link it planted (to a state elsewhere) is not a saved state.
        if (!(await lstat(dir)).isDirectory()) continue;
        const info = await lstat(path.join(dir, 'train_state.json'));
        if (!info.isFile()) continue;
        if (newest === null || info.mtimeMs > newest.at) newest = { dir, at: info.mtimeMs };
      } catch {
        continue;
      }
    }
    return newest?.dir ?? null;
  }

  /** Per-epoch (and per-step) model files of a run: `<name>-<epoch:06d>.<ext>` / `<name>-step<step:08d>.<ext>`. */
  savedCheckpointPattern(outputName: string): RegExp {
    const escaped = outputName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`^${escaped}-(?:(\\d{6})|step(\\d{8}))\\.(?:safetensors|ckpt|pt)$`);
  }

  /** `loss/current`, `loss/average`, `lr/*` … from the TensorBoard event files sd-scripts writes under `work/logs`. */
  async metrics(runDir: string, since: MetricsCursor): Promise<MetricBatch> {
    const { points, cursor } = await readTensorboardMetrics(kohyaRunLayout(runDir).loggingDir, since);
    return { points, cursor };
  }
}
