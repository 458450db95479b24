/**
 * The kohya launch (DESIGN.md §4, kohya-sd-scripts.md §1.2, web-and-process-security.md PROC-R01–R05):
 * the engine config files, argv, environment, cwd, the shim's directives and the sandbox binds.
 *
 * One GPU:   <venv python> -E -s -u -X utf8 <script> --config_file <run>/run.toml
 *              --dataset_config <run>/dataset.toml --console_log_simple
 * N GPUs:    <venv python> -E -s -u -X utf8 -m accelerate.commands.launch --num_processes N --num_machines 1
 *              --mixed_precision <p> --dynamo_backend no <script> …same…
 *
 * `-E` makes Python ignore every PYTHON* variable, so unbuffered output and UTF-8 are on argv; the workers
 * torch starts for several GPUs (`<python> -u <script>`) read the environment, which therefore carries
 * PYTHONNOUSERSITE=1 and PYTHONUTF8=1. The environment is built from nothing (never from process.env), so no
 * token or user PYTHON* variable can reach the engine.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../../core/atomic-write.ts';
import { DRY_RUN_DIR, DRY_RUN_PLACEHOLDER, absoluteEnginePath, engineEnvironment, launchDryRun, launchError as engineLaunchError } from '../launch-common.ts';
import { isKohyaTrainerScript, KOHYA_ARGS_SOURCE } from './kohya-args.ts';
import { kohyaRunLayout, type KohyaRunLayout } from './layout.ts';
import { linkSubsetImages, type LinkImagesResult } from './link-images.ts';
import type { KohyaArgValue, KohyaRunInput } from './types.ts';
import { renderConfigToml } from './write-config-toml.ts';
import { renderDatasetToml, type KohyaSubsetPlan } from './write-dataset-toml.ts';
import { renderSamplePrompts, type SamplePromptsFormat } from './write-sample-prompts.ts';

/** Where the installed engine lives (`engines/kohya/`). */
export interface KohyaEngineLocation {
  /** `<venv>/bin/python`, absolute. */
  python: string;
  /** The venv folder (bound read-only; its `bin/` leads PATH). */
  venvDir: string;
  /** The pinned sd-scripts checkout. */
  engineRoot: string;
  /** `engines/kohya/cache/tokenizers`: passed as `tokenizer_cache_dir`, bound read-only. */
  tokenizerCacheDir: string;
}

/** Shim watchdog numbers (DESIGN §5: per phase; training at k × the last step time with a floor). */
export interface KohyaPhaseTimeouts {
  /** Seconds without any output before caching or training starts (model loading, tokenizers, buckets). */
  startupIdleS: number;
  /** Seconds without any output while latents / text-encoder outputs are cached. */
  cachingIdleS: number;
  /** Training: a hang is `stepFactor` × the last step time without a new step, but never less than `stepFloorS`. */
  stepFactor: number;
  stepFloorS: number;
}

export const DEFAULT_KOHYA_TIMEOUTS: Readonly<KohyaPhaseTimeouts> = { startupIdleS: 1800, cachingIdleS: 1800, stepFactor: 20, stepFloorS: 900 };

export interface KohyaPhaseDirective {
  phase: 'startup' | 'caching' | 'training';
  /** Regex sources (no flags but `i` where `ignoreCase`) of output lines that enter this phase; startup is entered at spawn. */
  enter: string[];
  ignoreCase: boolean;
  idleTimeoutS?: number;
  /** Training only: the step line the watchdog times, and its rule. */
  stepPattern?: string;
  stepFactor?: number;
  stepFloorS?: number;
}

export interface KohyaSnapshotDirective {
  /** Folder (inside `work/`) to watch, non-recursively. */
  dir: string;
  /** Regex source matched against file names. */
  pattern: string;
  /** Copy to a temp file then rename once the file has not changed for this long. */
  settleS: number;
}

export interface KohyaLaunchOptions {
  /** Absolute `runs/<id>` folder. */
  runDir: string;
  engine: KohyaEngineLocation;
  /**
   * GPUs the run claimed (CUDA ordinals or UUIDs), written to CUDA_VISIBLE_DEVICES; two or more launch through
   * accelerate. `[]` hides every GPU (CPU mode); absent leaves CUDA_VISIBLE_DEVICES unset.
   */
  gpus?: string[];
  /** `LANG` for the engine; default `C.UTF-8`. */
  lang?: string;
  samplePromptsFormat?: SamplePromptsFormat;
  timeouts?: Partial<KohyaPhaseTimeouts>;
}

export interface KohyaLaunchFile {
  path: string;
  content: string;
  mode: number;
}

export interface KohyaSandbox {
  /** Bound read-only one by one (DESIGN §4): engine, venv, caches, the run folder, models, datasets. */
  readOnly: string[];
  /** The only writable folder. */
  writable: string[];
  network: false;
}

export interface KohyaPlan {
  script: string;
  /** sd-scripts commit the option catalogue was taken from. */
  catalogue: string;
  gpus: number;
  mixedPrecision: string;
  outputName: string;
  /** Where the final model will be, if the run succeeds. */
  outputFile: string;
  datasets: Array<{ index: number; subsets: Array<{ name: string; sourceDir: string; linkDir: string; isReg: boolean; numRepeats?: number; captionExtension: string }> }>;
  samplePrompts: number;
  /** Model files and other paths the options name (bound read-only). */
  modelPaths: string[];
}

export interface KohyaLaunch {
  engine: 'kohya';
  /** argv[0] is the interpreter; spawn with `shell: false`. */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Engine config files to write into the run folder before spawning. */
  files: KohyaLaunchFile[];
  /** Folders the run needs before spawning (inside `work/`). */
  dirs: string[];
  directives: { phases: KohyaPhaseDirective[]; snapshots: KohyaSnapshotDirective[] };
  sandbox: KohyaSandbox;
  plan: KohyaPlan;
  /** What link-images.ts must build. */
  subsets: KohyaSubsetPlan[];
  layout: KohyaRunLayout;
}

const launchError = (message: string, hint: string) => engineLaunchError('kohya', message, hint);

const INTERPRETER_FLAGS = ['-E', '-s', '-u', '-X', 'utf8'] as const;

function absolute(what: string, value: string): string {
  return absoluteEnginePath('kohya', what, value, 'Check the engine location in settings (LORASMITH_KOHYA_ROOT / LORASMITH_KOHYA_PYTHON).');
}

function stringArg(args: Record<string, KohyaArgValue>, key: string): string | undefined {
  const value = args[key];
  return typeof value === 'string' ? value : undefined;
}

/** The allowlisted environment (PROC-R03), shared with every engine: launch-common.ts. */
export function kohyaEnvironment(layout: KohyaRunLayout, engine: KohyaEngineLocation, options: { gpus?: string[]; lang?: string }): Record<string, string> {
  return engineEnvironment({ engine: 'kohya', venvDir: engine.venvDir, homeDir: layout.homeDir, hfHomeDir: layout.hfHomeDir, ...options });
}

/**
 * Everything a kohya run needs, without touching the disk: file contents, argv, env, cwd, directives,
 * sandbox and plan. `prepareKohyaRun` writes it; `kohyaDryRun` shows it.
 */
export function buildKohyaLaunch(input: KohyaRunInput, options: KohyaLaunchOptions): KohyaLaunch {
  if (!isKohyaTrainerScript(input.script)) throw launchError(`${JSON.stringify(input.script)} is not a kohya trainer script lorasmith knows.`, 'Pick a model family whose trainer is supported.');
  const runDir = absolute('run folder', options.runDir);
  const engine: KohyaEngineLocation = {
    python: absolute('Python interpreter', options.engine.python),
    venvDir: absolute('venv folder', options.engine.venvDir),
    engineRoot: absolute('sd-scripts folder', options.engine.engineRoot),
    tokenizerCacheDir: absolute('tokenizer cache', options.engine.tokenizerCacheDir),
  };
  const layout = kohyaRunLayout(runDir);
  const gpuCount = options.gpus?.length ?? 1;
  const timeouts = { ...DEFAULT_KOHYA_TIMEOUTS, ...options.timeouts };

  const samples = input.samplePrompts !== undefined && input.samplePrompts.length > 0 ? renderSamplePrompts(input.samplePrompts, input.script, options.samplePromptsFormat ?? 'txt') : undefined;
  const samplePromptsFile = samples === undefined ? undefined : path.join(runDir, samples.fileName);
  const config = renderConfigToml(
    { script: input.script, args: input.args },
    { outputDir: layout.outputDir, loggingDir: layout.loggingDir, tokenizerCacheDir: engine.tokenizerCacheDir, ...(samplePromptsFile === undefined ? {} : { samplePromptsFile }) },
  );
  const dataset = renderDatasetToml({ script: input.script, ...(input.general === undefined ? {} : { general: input.general }), datasets: input.datasets, args: input.args }, layout);

  const script = path.join(engine.engineRoot, input.script);
  const scriptArgs = [script, '--config_file', layout.configFile, '--dataset_config', layout.datasetFile, '--console_log_simple'];
  const mixedPrecision = stringArg(input.args, 'mixed_precision') ?? 'no';
  let argv: string[];
  if (gpuCount >= 2) {
    argv = [engine.python, ...INTERPRETER_FLAGS, '-m', 'accelerate.commands.launch', '--num_processes', String(gpuCount), '--num_machines', '1', '--mixed_precision', mixedPrecision, '--dynamo_backend', 'no', ...scriptArgs];
  } else {
    argv = [engine.python, ...INTERPRETER_FLAGS, ...scriptArgs];
  }

  const outputName = stringArg(input.args, 'output_name') ?? 'last';
  const saveAs = stringArg(input.args, 'save_model_as') ?? 'safetensors';
  const escapedName = outputName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  const files: KohyaLaunchFile[] = [
    { path: layout.configFile, content: config.text, mode: 0o644 },
    { path: layout.datasetFile, content: dataset.text, mode: 0o644 },
  ];
  if (samples !== undefined && samplePromptsFile !== undefined) files.push({ path: samplePromptsFile, content: samples.text, mode: 0o644 });

  const datasetSources = [...new Set(dataset.subsets.map((subset) => subset.sourceDir))];
  const sandbox: KohyaSandbox = {
    readOnly: [...new Set([engine.engineRoot, engine.venvDir, engine.tokenizerCacheDir, runDir, ...config.readOnlyPaths, ...datasetSources])],
    writable: [layout.workDir],
    network: false,
  };

  const plan: KohyaPlan = {
    script: input.script,
    catalogue: KOHYA_ARGS_SOURCE,
    gpus: gpuCount,
    mixedPrecision,
    outputName,
    outputFile: path.join(layout.outputDir, `${outputName}.${saveAs}`),
    datasets: input.datasets.map((_dataset, index) => ({
      index,
      subsets: dataset.subsets
        .filter((subset) => subset.datasetIndex === index)
        .map((subset) => {
          const repeats = input.datasets[index]?.subsets[subset.subsetIndex]?.num_repeats ?? input.datasets[index]?.num_repeats ?? input.general?.num_repeats;
          return { name: subset.name, sourceDir: subset.sourceDir, linkDir: subset.linkDir, isReg: subset.isReg, ...(repeats === undefined ? {} : { numRepeats: repeats }), captionExtension: subset.captionExtension };
        }),
    })),
    samplePrompts: input.samplePrompts?.length ?? 0,
    modelPaths: config.readOnlyPaths,
  };

  const phases: KohyaPhaseDirective[] = [
    { phase: 'startup', enter: [], ignoreCase: false, idleTimeoutS: timeouts.startupIdleS },
    { phase: 'caching', enter: ['^caching (?:latents|text encoder outputs)\\b'], ignoreCase: true, idleTimeoutS: timeouts.cachingIdleS },
    {
      phase: 'training',
      enter: ['^running training / 学習開始$', '^\\s*steps:\\s+\\d+%'],
      ignoreCase: false,
      stepPattern: '^\\s*steps:\\s+\\d+%[^\\d]*?(\\d+)/(\\d+) \\[',
      stepFactor: timeouts.stepFactor,
      stepFloorS: timeouts.stepFloorS,
    },
  ];
  const snapshots: KohyaSnapshotDirective[] = [
    { dir: layout.outputDir, pattern: `^${escapedName}(?:-\\d{6}|-step\\d{8})?\\.(?:safetensors|ckpt|pt)$`, settleS: 5 },
    { dir: path.join(layout.outputDir, 'sample'), pattern: '\\.png$', settleS: 2 },
  ];

  return {
    engine: 'kohya',
    argv,
    env: kohyaEnvironment(layout, engine, { ...(options.gpus === undefined ? {} : { gpus: options.gpus }), ...(options.lang === undefined ? {} : { lang: options.lang }) }),
    cwd: layout.workDir,
    files,
    dirs: [layout.workDir, layout.outputDir, layout.loggingDir, layout.imagesDir, layout.homeDir, layout.hfHomeDir],
    directives: { phases, snapshots },
    sandbox,
    plan,
    subsets: dataset.subsets,
    layout,
  };
}

/**
 * Write the run's engine files (atomically, into `runs/<id>/`), create `work/` and its folders, and build
 * the per-run image links. Returns the launch, with the sandbox's dataset binds resolved to real paths.
 */
export async function prepareKohyaRun(input: KohyaRunInput, options: KohyaLaunchOptions): Promise<KohyaLaunch & { links: LinkImagesResult }> {
  const launch = buildKohyaLaunch(input, options);
  await mkdir(launch.layout.runDir, { recursive: true });
  for (const dir of launch.dirs) await mkdir(dir, { recursive: true });
  for (const file of launch.files) await writeFileAtomic(file.path, file.content, file.mode);
  const links = await linkSubsetImages(
    launch.subsets.map((subset) => ({
      datasetIndex: subset.datasetIndex,
      name: subset.name,
      sourceDir: subset.sourceDir,
      linkDir: subset.linkDir,
      captionExtension: subset.captionExtension,
      ...(subset.files === undefined ? {} : { files: subset.files }),
    })),
    { workDir: launch.layout.workDir },
  );
  const declared = new Set(launch.subsets.map((subset) => subset.sourceDir));
  const readOnly = [...launch.sandbox.readOnly.filter((entry) => !declared.has(entry)), ...links.readOnlyPaths];
  return { ...launch, sandbox: { ...launch.sandbox, readOnly: [...new Set(readOnly)] }, links };
}

export { DRY_RUN_PLACEHOLDER };

export interface KohyaDryRun {
  engine: 'kohya';
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** File path → content. */
  files: Record<string, string>;
  sandbox: KohyaSandbox;
  plan: KohyaPlan;
  directives: KohyaLaunch['directives'];
}

/** What `train --dry-run` shows: the launch under a placeholder run folder, secrets redacted; writes nothing. */
export function kohyaDryRun(input: KohyaRunInput, options: Omit<KohyaLaunchOptions, 'runDir'>): KohyaDryRun {
  return launchDryRun(buildKohyaLaunch(input, { ...options, runDir: DRY_RUN_DIR }));
}
