/**
 * The FluxFlow launch (DESIGN.md §4, fluxflow.md §6, web-and-process-security.md PROC-R01–R05):
 *
 *   <venv python> -E -s -u <venv>/bin/fluxflow-train --config <run>/pipeline.yaml      (cwd <run>/work/)
 *
 * `-u` on the interpreter's argv because `-E` ignores PYTHONUNBUFFERED (§5.12); pipeline mode always (legacy
 * mode crashes after its first epoch, §5.8); everything in the YAML, nothing else on argv (`--flag=value` is
 * not even seen as an override, §5.6). The trainer loads its tokenizer from `./_cache`, so `work/_cache` is a
 * link to the engine cache, which the sandbox binds read-only; the environment is the shared allowlist.
 */
import { copyFile, constants, lstat, mkdir, readdir, readlink, realpath, symlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../../core/atomic-write.ts';
import { errnoCode } from '../../../core/errors.ts';
import type { EngineSandbox, PhaseDirective, SnapshotDirective } from '../engine.ts';
import { absoluteEnginePath, engineEnvironment, launchError } from '../launch-common.ts';
import { renderCaptionsFile } from './captions-file.ts';
import { FLUXFLOW_BERT_WEIGHTS, type FluxflowEngineLocation } from './engine-location.ts';
import { FLUXFLOW_CHECKPOINT_FILE, FLUXFLOW_TEXT_ENCODER_FILE, fluxflowRunLayout, type FluxflowRunLayout } from './layout.ts';
import type { FluxflowResolvedRun } from './resolve-run.ts';
import { renderPipelineYaml } from './write-pipeline-yaml.ts';

/** Shim watchdog numbers (DESIGN §5: per phase; training at k × the last step time with a floor). */
export interface FluxflowPhaseTimeouts {
  /** Seconds without output while the models load (before the dataset scan). */
  startupIdleS: number;
  /** Seconds without output while the first start scans image dimensions (slow on large datasets, §1.1). */
  scanningIdleS: number;
  /** Training: a hang is `stepFactor` × the time between two progress lines, never less than `stepFloorS`. */
  stepFactor: number;
  stepFloorS: number;
}

export const DEFAULT_FLUXFLOW_TIMEOUTS: Readonly<FluxflowPhaseTimeouts> = { startupIdleS: 1800, scanningIdleS: 1800, stepFactor: 20, stepFloorS: 900 };

export interface FluxflowLaunchOptions {
  /** Absolute `runs/<id>`. */
  runDir: string;
  engine: FluxflowEngineLocation;
  /** GPUs the run claimed; `[]` is CPU mode; absent leaves CUDA_VISIBLE_DEVICES unset. FluxFlow trains on one device. */
  gpus?: string[];
  lang?: string;
  timeouts?: Partial<FluxflowPhaseTimeouts>;
}

export interface FluxflowLaunchFile {
  path: string;
  content: string;
  mode: number;
}

export interface FluxflowPlanStep {
  name: string;
  nEpochs: number;
  maxSteps?: number;
  dataset: string;
  /** `train_vae`, `gan_training`, … as FluxFlow calls them. */
  modes: string[];
  /** Components with an optimiser (`flow`, `vae`, `text_encoder`, `discriminator`); empty: built from `lr`. */
  optimizers: string[];
  transition: string;
}

export interface FluxflowPlan {
  /** What the run adds to the library when it succeeds. */
  output: { kind: 'checkpoint'; family: 'fluxflow'; file: string; textEncoder: string };
  start: 'fresh' | 'fine-tune' | 'resume';
  fineTune?: { checkpoint: string; textEncoder: string | null };
  resume?: { from: string; step: string; epoch: number; batch: number; globalStep: number };
  /** `[]` is CPU mode. */
  gpus: number;
  steps: FluxflowPlanStep[];
  datasets: Array<{ name: string; dir: string; captionsFile: string; images: number; skipped: number }>;
  /** The first few images left out of the captions files, with why. */
  skipped: Array<{ dataset: string; image: string; reason: string }>;
  /** Model files the run reads (bound read-only). */
  modelPaths: string[];
  notes: string[];
}

/** An absolute symlink in `work/` to a read-only folder the sandbox binds at its own path. */
export interface FluxflowLink {
  path: string;
  target: string;
}

export interface FluxflowLaunch {
  engine: 'fluxflow';
  /** argv[0] is the interpreter; spawn with `shell: false`. */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  files: FluxflowLaunchFile[];
  /** Folders to create before spawning. */
  dirs: string[];
  links: FluxflowLink[];
  /** Files to copy into the output folder before spawning: a fine-tune's text encoder. */
  copies: Array<{ from: string; to: string }>;
  /** A resumed job's output folder starts as a copy of this one (the parent's). */
  copyOutputFrom: string | null;
  directives: { phases: PhaseDirective[]; snapshots: SnapshotDirective[] };
  sandbox: EngineSandbox;
  plan: FluxflowPlan;
  /** `flxflow_final.safetensors` in the output folder. */
  outputFile: string;
  layout: FluxflowRunLayout;
}

const INTERPRETER_FLAGS = ['-E', '-s', '-u'] as const;
const SKIPPED_SHOWN = 20;

/** A pipeline progress line (§1.3): `[0000:01:02.345] Step vae (1/2) | Epoch 1/3 | Batch 20/500 | … | 0.52s/batch`. */
export const FLUXFLOW_PROGRESS_LINE = '^\\[\\d+:\\d{2}:\\d{2}\\.\\d{3}\\] Step .+ \\(\\d+/\\d+\\) \\| Epoch \\d+/\\d+ \\| Batch \\d+/\\d+';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function modesOf(step: FluxflowResolvedRun['config']['pipeline']['steps'][number]): string[] {
  const flags: Array<[boolean, string]> = [
    [step.trainVae, 'train_vae'],
    [step.ganTraining, 'gan_training'],
    [step.trainSpade, 'train_spade'],
    [step.trainDiff, 'train_diff'],
    [step.trainDiffFull, 'train_diff_full'],
  ];
  return flags.filter(([on]) => on).map(([, name]) => name);
}

/** Everything a FluxFlow run needs, without touching the disk. `prepareFluxflowRun` writes it; `fluxflowDryRun` shows it. */
export function buildFluxflowLaunch(input: FluxflowResolvedRun, options: FluxflowLaunchOptions): FluxflowLaunch {
  const hint = 'Check the engine location (LORASMITH_FLUXFLOW_PYTHON, or engines/fluxflow/).';
  const runDir = absoluteEnginePath('fluxflow', 'run folder', options.runDir, hint);
  const engine: FluxflowEngineLocation = {
    python: absoluteEnginePath('fluxflow', 'Python interpreter', options.engine.python, hint),
    venvDir: absoluteEnginePath('fluxflow', 'venv folder', options.engine.venvDir, hint),
    trainer: absoluteEnginePath('fluxflow', 'fluxflow-train script', options.engine.trainer, hint),
    cacheDir: absoluteEnginePath('fluxflow', 'engine cache', options.engine.cacheDir, hint),
    bertDir: options.engine.bertDir === null ? null : absoluteEnginePath('fluxflow', 'DistilBERT folder', options.engine.bertDir, hint),
    bertWeights: options.engine.bertWeights,
  };
  if ((options.gpus?.length ?? 0) > 1) throw launchError('fluxflow', `FluxFlow trains on one GPU; the run claimed ${options.gpus?.length}.`, 'Give the run one GPU.');
  const { config } = input;
  if (config.model.pretrainedTextEncoder && (engine.bertDir === null || !engine.bertWeights)) {
    throw launchError(
      'fluxflow',
      engine.bertDir === null
        ? `The engine cache ${engine.cacheDir} holds no distilbert-base-uncased, which model.pretrainedTextEncoder needs; runs have no network to fetch it.`
        : `The engine cache holds distilbert-base-uncased's tokenizer but not its weights (${path.join(engine.bertDir, FLUXFLOW_BERT_WEIGHTS)}), which model.pretrainedTextEncoder loads; runs have no network to fetch them.`,
      'Run lorasmith engine install fluxflow to fill the cache, or turn model.pretrainedTextEncoder off.',
    );
  }
  const layout = fluxflowRunLayout(runDir);
  const timeouts = { ...DEFAULT_FLUXFLOW_TIMEOUTS, ...options.timeouts };
  const outputFile = path.join(layout.outputDir, FLUXFLOW_CHECKPOINT_FILE);
  const textEncoderFile = path.join(layout.outputDir, FLUXFLOW_TEXT_ENCODER_FILE);

  const captionsFiles = Object.fromEntries(input.datasets.map((dataset) => [dataset.name, path.join(layout.captionsDir, `${dataset.name}.tsv`)]));
  const modelCheckpoint = input.resume !== null ? outputFile : (input.fineTune?.checkpoint ?? null);
  const yaml = renderPipelineYaml(input, { outputDir: layout.outputDir, captionsFiles, modelCheckpoint, bertDir: config.model.pretrainedTextEncoder ? engine.bertDir : null });
  const files: FluxflowLaunchFile[] = [
    // 0600: the engine's whole configuration; FluxFlow's format can carry a dataset token (§1.2), so it is private by rule.
    { path: layout.pipelineFile, content: yaml, mode: 0o600 },
    ...input.datasets.map((dataset) => ({ path: captionsFiles[dataset.name] ?? '', content: renderCaptionsFile(dataset.entries), mode: 0o644 })),
  ];

  const argv = [engine.python, ...INTERPRETER_FLAGS, engine.trainer, '--config', layout.pipelineFile];
  const env = engineEnvironment({
    engine: 'fluxflow',
    venvDir: engine.venvDir,
    homeDir: layout.homeDir,
    hfHomeDir: layout.hfHomeDir,
    ...(options.gpus === undefined ? {} : { gpus: options.gpus }),
    ...(options.lang === undefined ? {} : { lang: options.lang }),
  });

  const modelPaths = input.fineTune === null ? [] : [input.fineTune.checkpoint];
  const sandbox: EngineSandbox = {
    readOnly: [...new Set([engine.venvDir, engine.cacheDir, runDir, ...input.datasets.map((dataset) => dataset.dir), ...modelPaths])],
    writable: [layout.workDir],
    network: false,
  };

  const phases: PhaseDirective[] = [
    { phase: 'startup', enter: [], ignoreCase: false, idleTimeoutS: timeouts.startupIdleS },
    { phase: 'scanning', enter: ['^Scanning image dimensions'], ignoreCase: false, idleTimeoutS: timeouts.scanningIdleS },
    { phase: 'training', enter: ['^PIPELINE STEP \\d+/\\d+: ', FLUXFLOW_PROGRESS_LINE], ignoreCase: false, stepPattern: FLUXFLOW_PROGRESS_LINE, stepFactor: timeouts.stepFactor, stepFloorS: timeouts.stepFloorS },
  ];
  // Every save overwrites the same files (§1.6, §5.13): the shim keeps a copy of each, and of the samples.
  const snapshots: SnapshotDirective[] = [
    { dir: layout.outputDir, pattern: `^(?:${escapeRegExp(FLUXFLOW_CHECKPOINT_FILE)}|${escapeRegExp(FLUXFLOW_TEXT_ENCODER_FILE)})$`, settleS: 5 },
    { dir: layout.outputDir, pattern: '^(?:samples|vae)_.*\\.webp$', settleS: 2 },
  ];

  const mainName = input.datasets[0]?.name ?? config.data.dataset;
  const notes: string[] = [];
  if (input.datasets.some((dataset) => dataset.skipped.length > 0)) notes.push('Some images are left out of the captions files; see skipped.');
  if (input.fineTune !== null && input.fineTune.textEncoder === null) {
    notes.push(`The fine-tune checkpoint has no ${FLUXFLOW_TEXT_ENCODER_FILE} beside it: the text encoder starts ${config.model.pretrainedTextEncoder ? 'from pretrained DistilBERT' : 'random'}.`);
  }
  if (options.gpus !== undefined && options.gpus.length === 0) notes.push('No GPU: FluxFlow trains on the CPU, very slowly.');
  notes.push('Stopping keeps only the last save (every checkpointSaveInterval batches and each epoch end): FluxFlow does not save on a signal.');

  const plan: FluxflowPlan = {
    output: { kind: 'checkpoint', family: 'fluxflow', file: outputFile, textEncoder: textEncoderFile },
    start: input.resume !== null ? 'resume' : input.fineTune !== null ? 'fine-tune' : 'fresh',
    ...(input.fineTune === null ? {} : { fineTune: { checkpoint: input.fineTune.checkpoint, textEncoder: input.fineTune.textEncoder } }),
    ...(input.resume === null
      ? {}
      : { resume: { from: input.resume.outputDir, step: input.resume.state.stepName, epoch: input.resume.state.epoch, batch: input.resume.state.batch, globalStep: input.resume.state.globalStep } }),
    gpus: options.gpus?.length ?? 1,
    steps: config.pipeline.steps.map((step) => ({
      name: step.name,
      nEpochs: step.nEpochs,
      ...(step.maxSteps === undefined ? {} : { maxSteps: step.maxSteps }),
      dataset: step.dataset ?? mainName,
      modes: modesOf(step),
      optimizers: Object.entries(step.optimizers)
        .filter(([, optimizer]) => optimizer !== undefined)
        .map(([name]) => (name === 'textEncoder' ? 'text_encoder' : name)),
      transition: step.transition.mode === 'epoch' ? 'after nEpochs' : `${step.transition.metric} < ${step.transition.threshold}, at most ${step.transition.maxEpochs} epochs`,
    })),
    datasets: input.datasets.map((dataset) => ({ name: dataset.name, dir: dataset.dir, captionsFile: captionsFiles[dataset.name] ?? '', images: dataset.entries.length, skipped: dataset.skipped.length })),
    skipped: input.datasets.flatMap((dataset) => dataset.skipped.map((entry) => ({ dataset: dataset.name, ...entry }))).slice(0, SKIPPED_SHOWN),
    modelPaths,
    notes,
  };

  return {
    engine: 'fluxflow',
    argv,
    env,
    cwd: layout.workDir,
    files,
    dirs: [layout.workDir, layout.outputDir, layout.homeDir, layout.hfHomeDir, layout.captionsDir],
    links: [{ path: layout.cacheLink, target: engine.cacheDir }],
    copies: input.fineTune === null || input.fineTune.textEncoder === null ? [] : [{ from: input.fineTune.textEncoder, to: textEncoderFile }],
    copyOutputFrom: input.resume?.outputDir ?? null,
    directives: { phases, snapshots },
    sandbox,
    plan,
    outputFile,
    layout,
  };
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return true;
    throw error;
  }
}

/**
 * Copy a run's output folder: regular files and folders only (a link is never followed or copied), each file
 * created exclusively. The source is an output folder the studio's own run wrote (§5.15: resume never reads
 * state from anywhere else), so its `.pt` state files go along for FluxFlow to load under weights-only loading.
 */
async function copyOutputTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) await copyOutputTree(source, target);
    else if (entry.isFile()) await copyFile(source, target, constants.COPYFILE_EXCL);
  }
}

/**
 * Write the run's files into `runs/<id>/` (the YAML 0600), create `work/` and its folders, link `work/_cache`
 * to the engine cache, and start the output folder: empty for a fresh run (FluxFlow resumes by itself from any
 * saved state it finds there, §1.5), with the fine-tune's text encoder copied in, or as a copy of the parent's.
 */
export async function prepareFluxflowRun(input: FluxflowResolvedRun, options: FluxflowLaunchOptions): Promise<FluxflowLaunch> {
  const launch = buildFluxflowLaunch(input, options);
  const { layout } = launch;
  if (!(await isEmptyOrMissing(layout.outputDir))) {
    throw launchError('fluxflow', `The output folder ${layout.outputDir} is not empty; FluxFlow would resume from whatever state it holds.`, 'Start every run in a new run folder.');
  }
  await mkdir(layout.runDir, { recursive: true });
  for (const dir of launch.dirs) await mkdir(dir, { recursive: true });
  for (const file of launch.files) await writeFileAtomic(file.path, file.content, file.mode);
  for (const link of launch.links) {
    try {
      await symlink(link.target, link.path, 'dir');
    } catch (error) {
      // A prepare that was interrupted may have made it already; anything else in its place is refused.
      if (errnoCode(error) !== 'EEXIST' || (await readlink(link.path).catch(() => null)) !== link.target) throw error;
    }
  }
  if (launch.copyOutputFrom !== null) {
    // The parent's output folder must really be inside its own work/ (no link planted on the way).
    const source = await realpath(launch.copyOutputFrom);
    if (source !== launch.copyOutputFrom) throw launchError('fluxflow', `The parent output folder ${launch.copyOutputFrom} goes through a link.`, 'Resume only from a run of this studio.');
    await copyOutputTree(source, layout.outputDir);
    const copied = await lstat(launch.outputFile).catch(() => null);
    if (copied === null || !copied.isFile()) throw launchError('fluxflow', `The resumed output folder has no ${FLUXFLOW_CHECKPOINT_FILE}.`, 'Resume from a run that saved at least once.');
  }
  for (const copy of launch.copies) await copyFile(copy.from, copy.to, constants.COPYFILE_EXCL);
  return launch;
}
