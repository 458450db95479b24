/**
 * `lorasmith train CONFIG`: CONFIG is lorasmith's run config (`schema = "lorasmith/run@1"`, TOML or JSON) or
 * another tool's training config (sd-scripts `--config_file` TOML, kohya_ss GUI JSON, LoRA Easy Training TOML,
 * Ktiseos-Nyx preset), detected or named with `--from`. A foreign config goes through the importer; the files
 * and folders it names are operator inputs (scanned, listed, bound read-only; CLI only). `--dry-run` shows the
 * launch and its plan; `--export-kohya` writes the run as an sd-scripts config. Without either the run is
 * checked and then queued as a job (src/cli/verbs/jobs.ts `startTrainingJob`).
 */
import { access, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { LorasmithError, errnoCode } from '../../core/errors.ts';
import type { Studio } from '../../studio/studio.ts';
import { dryRunImported, dryRunTraining, type TrainingDryRun } from '../../training/dry-run.ts';
import { detectConfigFormat, exportKohyaToml, importConfig, IMPORT_FORMATS, isImportFormat, type ImportFormat, type ImportSuccess, type UnmappedKey } from '../../training/import/index.ts';
import { prepareOperatorInputs } from '../../training/import/operator-inputs.ts';
import { importFailureError, type OperatorImport } from '../../training/import/operator-job.ts';
import { resolveRunInputs, studioRunResolver } from '../../training/resolve-run.ts';
import { RUN_FAMILIES, RUN_SCHEMA_ID, type RunFamily } from '../../training/schema/index.ts';
import { validateRun } from '../../training/validate/index.ts';
import { usageError, writeJson, writeLine, type CliIO } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { flag, option, parseVerbArgs, type Verb } from '../verb.ts';
import { parseGpus, startTrainingJob } from './jobs.ts';
import { printDryRun, printImportReport, printIssues } from './train-print.ts';

/** A run config is a few KiB; anything this large is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;

function configError(file: string, reason: string): LorasmithError {
  return new LorasmithError({ code: 'config-unreadable', message: `${file} is not a readable run config: ${reason}.`, hint: `Give a TOML or JSON file with schema = "${RUN_SCHEMA_ID}", or another tool's training config (--from ${IMPORT_FORMATS.join('|')}).`, exitCode: 2 });
}

async function readConfigText(file: string): Promise<string> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw configError(file, 'not a file');
    if (info.size > MAX_CONFIG_BYTES) throw configError(file, `larger than ${MAX_CONFIG_BYTES} bytes`);
    return await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof LorasmithError) throw error;
    throw new LorasmithError({ code: 'not-found', message: `${file} cannot be read (${errnoCode(error) ?? 'error'}).`, hint: 'Give the path of a run config file.', exitCode: 2 });
  }
}

/** lorasmith's own config, TOML or JSON by extension (JSON when the text is an object and the name says neither). */
function parseOwnConfig(file: string, text: string): unknown {
  const extension = path.extname(file).toLowerCase();
  const toml = extension === '.toml' || (extension !== '.json' && !text.trimStart().startsWith('{'));
  try {
    return toml ? parseToml(text) : JSON.parse(text);
  } catch (error) {
    throw configError(file, `${toml ? 'TOML' : 'JSON'} syntax error (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
}

/**
 * The config in lorasmith's schema, or the import of another tool's (its paths still to be taken as operator
 * inputs) with the request a job keeps of it.
 */
type ReadConfig = { kind: 'own'; config: unknown } | { kind: 'imported'; imported: ImportSuccess; request: OperatorImport };

export async function readTrainConfig(file: string, options: { from?: ImportFormat; family?: RunFamily } = {}): Promise<ReadConfig> {
  const text = await readConfigText(file);
  if (options.from === undefined) {
    const detected = detectConfigFormat(text, file);
    if (detected === 'lorasmith') {
      const value = parseOwnConfig(file, text);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw configError(file, 'the top level is not a table / object');
      return { kind: 'own', config: value };
    }
    // Text that is neither TOML nor JSON is a syntax error to report, not an unknown format.
    if (detected === null) parseOwnConfig(file, text);
  }
  const result = importConfig({ text, fileName: path.basename(file), ...(options.from === undefined ? {} : { from: options.from }), ...(options.family === undefined ? {} : { family: options.family }) });
  if (!result.ok) throw importFailureError(file, result);
  const request: OperatorImport = { text, fileName: path.basename(file), baseDir: path.dirname(path.resolve(file)), from: result.format, ...(options.family === undefined ? {} : { family: options.family }) };
  return { kind: 'imported', imported: result, request };
}

/** The `--json` document: the launch's public fields, the issues, and for an imported config the import report. */
export function dryRunJson(result: Pick<TrainingDryRun, 'issues' | 'dryRun'>, imported?: { format: ImportFormat; unmapped: readonly UnmappedKey[]; notes: readonly string[] }): Record<string, unknown> {
  const report = imported === undefined ? {} : { import: { format: imported.format, unmapped: imported.unmapped, notes: imported.notes } };
  const dry = result.dryRun;
  if (dry === null) return { issues: result.issues, ...report };
  return { engine: dry.engine, argv: dry.argv, env: dry.env, cwd: dry.cwd, files: dry.files, sandbox: dry.sandbox, plan: dry.plan, issues: result.issues, ...report };
}

interface ExportParams {
  studio: Studio;
  read: ReadConfig;
  file: string;
  output: string;
  force: boolean;
  io: CliIO;
  json: boolean;
}

const exists = (file: string): Promise<boolean> => access(file).then(() => true, () => false);

/**
 * `--export-kohya OUT.toml`: the run as a plain sd-scripts `--config_file`, with real paths for ids and names.
 * A lorasmith run's datasets keep their repeats and class tokens in lorasmith's metadata, not in sd-scripts'
 * "<repeats>_<class tokens>" folder names, so they go to a dataset config beside it (`OUT.dataset.toml`) that the
 * config file names; an imported config's folders already follow sd-scripts' naming and stay as they were.
 */
async function exportKohya(params: ExportParams): Promise<0 | 1> {
  const { studio, read, io } = params;
  // OUT.toml → OUT.dataset.toml; any other name gets the suffix appended (never OUT itself).
  const datasetOutput = read.kind === 'own' ? `${params.output.replace(/\.toml$/i, '')}.dataset.toml` : undefined;
  const outputs = datasetOutput === undefined ? [params.output] : [params.output, datasetOutput];
  const present: string[] = [];
  for (const file of outputs) if (await exists(file)) present.push(file);
  if (!params.force && present.length > 0) {
    throw new LorasmithError({ code: 'exists', message: `${present.join(' and ')} already exist${present.length === 1 ? 's' : ''}.`, hint: 'Pick another name, or add --force to replace it.', exitCode: 2 });
  }
  const operator = read.kind === 'imported' ? await prepareOperatorInputs({ imported: read.imported, baseDir: path.dirname(path.resolve(params.file)), runDir: path.dirname(path.resolve(params.output)) }) : undefined;
  const report = await validateRun({ config: operator?.config ?? (read.kind === 'own' ? read.config : undefined), resolve: studioRunResolver(studio, operator?.sources) });
  const issues = [...(operator?.issues.filter((entry) => entry.severity === 'error') ?? []), ...report.issues.filter((entry) => entry.severity === 'error')];
  const config = report.config;
  if (issues.length > 0 || config === null || config.kind !== 'kohya') {
    if (params.json) writeJson(io, { issues });
    else {
      printIssues(io, issues);
      writeLine(io, 'Nothing was written: the run has errors.');
    }
    return 1;
  }
  // Ids and names become the files and folders they stand for; an imported input keeps the path its file named.
  const resolved = await resolveRunInputs({ studio, config, ...(operator === undefined ? {} : { operator: operator.sources }) });
  const paths = new Map<string, string>();
  const models = config.model;
  const ids: Array<[string | undefined, string | undefined]> = [
    [models.base, resolved.models.base],
    [models.vae, resolved.models.vae],
    [models.clipL, resolved.models.clipL],
    [models.clipG, resolved.models.clipG],
    [models.t5xxl, resolved.models.t5xxl],
    [models.gemma2, resolved.models.gemma2],
    [config.network.initialWeights, resolved.models.initialWeights],
  ];
  for (const [id, file] of ids) if (id !== undefined && file !== undefined) paths.set(id, file);
  for (const dataset of resolved.datasets) for (const group of [dataset, ...dataset.regularisation]) paths.set(group.name, group.dir);
  for (const [placeholder, original] of operator?.labels ?? []) paths.set(placeholder, original);
  const exported = exportKohyaToml(config, {
    pathFor: (id) => paths.get(id) ?? id,
    ...(datasetOutput === undefined ? {} : { datasetConfig: { datasets: resolved.datasets, file: path.resolve(datasetOutput) } }),
  });
  // Both files or neither: everything is rendered above; the dataset config goes first, since the config file names it.
  if (datasetOutput !== undefined && exported.datasetToml !== undefined) {
    await writeFileAtomic(datasetOutput, exported.datasetToml, 0o644);
    try {
      await writeFileAtomic(params.output, exported.configToml, 0o644);
    } catch (error) {
      if (!present.includes(datasetOutput)) await rm(datasetOutput, { force: true });
      throw error;
    }
  } else await writeFileAtomic(params.output, exported.configToml, 0o644);
  const { script } = exported;
  // A lorasmith run links the images into its run folder, so its caches land there; sd-scripts run on the export
  // writes them beside the images.
  const diskCaches = config.memory.cacheLatents === 'disk' || config.memory.cacheTextEncoderOutputs === 'disk';
  const warnings = datasetOutput !== undefined && diskCaches ? ['sd-scripts writes its disk caches (.npz) next to the images, so a run from this export adds them to the lorasmith dataset folders.'] : [];
  if (params.json) writeJson(io, { output: params.output, script, warnings, ...(datasetOutput === undefined ? {} : { datasetConfig: datasetOutput }) });
  else {
    writeLine(io, `Wrote ${params.output}: an sd-scripts config for ${script} (pass it as --config_file).`);
    if (datasetOutput !== undefined) writeLine(io, `Wrote ${datasetOutput}: its datasets (dataset_config in ${path.basename(params.output)}), each subset's own folder with its repeats and class tokens.`);
    for (const warning of warnings) writeLine(io, `warning: ${warning}`);
  }
  return 0;
}

export const trainVerb: Verb = {
  name: 'train',
  help: `lorasmith train CONFIG [--from kohya|kohya-gui|let|ktiseos] [--family F] [--dry-run] [--allow-unknown-gpu] [--json]
lorasmith train CONFIG [--from …] --export-kohya OUT.toml [--force] [--json]

  CONFIG      a run config in lorasmith's schema (TOML or JSON with schema = "${RUN_SCHEMA_ID}"), or another
              tool's training config, detected or named with --from:
                kohya      an sd-scripts --config_file TOML     kohya-gui  a kohya_ss GUI JSON
                let        a LoRA Easy Training Scripts TOML    ktiseos    a Ktiseos-Nyx preset
              An imported config prints what was not mapped (--json: "import"). output_dir / logging_dir
              are replaced by the run's work/ folder; image folders (train_data_dir, reg_data_dir, a
              dataset_config's subsets) are linked into the run like a dataset; every other file it names
              (model, VAE, text encoders, network_weights, sample_prompts, dataset_config) is an operator
              input: listed in the plan, scanned (anything not safe refuses the run), converted into the
              run folder when it is a PyTorch checkpoint, and bound read-only. Relative paths are taken from
              the config file's folder. A resume state folder from another tool is refused.
  --family F  the model family of an sd-scripts TOML, which does not name its trainer (${RUN_FAMILIES.join(', ')}).
  --dry-run   check the run against the workspace and show the kohya launch: argv (without the sandbox
              wrapper), environment, working folder, the engine files, the sandbox binds and the plan
              (steps, time from this machine's measured speed or "unknown", disk, GPU memory against what
              nvidia-smi reports free), under the placeholder run folder <run>, secrets redacted. Nothing is
              written or launched.
  --allow-unknown-gpu
              start even when nvidia-smi is there but fails (gpu_unknown), which otherwise refuses the run.
              Without nvidia-smi (or without a GPU) the run is planned in CPU mode, with a warning.
  --export-kohya OUT.toml
              write the run as a plain sd-scripts --config_file (library ids and dataset names become their
              files and folders). A lorasmith run's datasets go to OUT.dataset.toml beside it, the sd-scripts
              dataset config that OUT names as dataset_config (image_dir = each subset's folder, with its
              repeats, class tokens and is_reg), written with OUT or not at all; an imported config keeps its
              train_data_dir / reg_data_dir. --force replaces existing files.
  Without --dry-run or --export-kohya the run is checked, then queued as a job (through the running studio,
  else in this process, which then holds the workspace lock) and followed with a progress bar; Ctrl-C
  stops it (it keeps its last save). Exit 0 only when the run succeeded.
  --detach    print the job and return (without a studio: only when its GPU slot is free now)
  --gpus 0,1  the GPUs to claim together (default: any one free GPU)
  --allow-unsandboxed
              without bubblewrap, let a run started as root go unsandboxed (marked so)
--json (run): {"type":"progress","done","total","message"} lines, then {"type":"summary","job"}; --detach: the job.

--json (dry run): {"engine","argv","env","cwd","files":{path: content},"sandbox","plan","issues":[…],"import"?};
{"issues":[…],"import"?} alone when the run has errors in its config. "plan" adds to the launch's plan
"inputs" (operator inputs), "steps", "time", "disk", "gpu" and "vram". An issue: {"code","severity","path",
"message","hint"}; "import": {"format","unmapped":[{"key","value","reason"}],"notes"}.
--json (export): {"output","script","warnings","datasetConfig"?} (datasetConfig: the dataset config written).
Exit codes: 0 the run may start; 1 it has errors or would be refused (GPU memory, gpu_unknown, an unsafe
input); 2 usage, unreadable file, or launching asked for.`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('train', args, {
      'dry-run': { type: 'boolean', default: false },
      from: { type: 'string' },
      family: { type: 'string' },
      'allow-unknown-gpu': { type: 'boolean', default: false },
      'export-kohya': { type: 'string' },
      force: { type: 'boolean', default: false },
      detach: { type: 'boolean', default: false },
      'allow-unsandboxed': { type: 'boolean', default: false },
      gpus: { type: 'string' },
    });
    const json = flag(values, 'json');
    const [file, ...rest] = positionals;
    if (file === undefined) throw usageError('`train` needs a CONFIG file.', 'Example: lorasmith train my-run.toml --dry-run');
    if (rest.length > 0) throw usageError('Too many arguments.', 'See `lorasmith train --help`.');
    const from = option(values, 'from');
    if (from !== undefined && !isImportFormat(from)) throw usageError(`--from ${from} is not a format lorasmith imports.`, `Use one of ${IMPORT_FORMATS.join(', ')}.`);
    const family = option(values, 'family');
    if (family !== undefined && !(RUN_FAMILIES as readonly string[]).includes(family)) throw usageError(`--family ${family} is not a model family.`, `Use one of ${RUN_FAMILIES.join(', ')}.`);
    const exportTo = option(values, 'export-kohya');
    if (exportTo !== undefined && flag(values, 'dry-run')) throw usageError('--export-kohya and --dry-run are separate actions.', 'Run them one after the other.');
    if (exportTo !== undefined && !exportTo.endsWith('.toml')) throw usageError('The export name must end in .toml.', 'Example: lorasmith train run.toml --export-kohya sd-scripts.toml');
    const read = await readTrainConfig(file, { ...(from === undefined ? {} : { from: from as ImportFormat }), ...(family === undefined ? {} : { family: family as RunFamily }) });
    return withLocalStudio(io.env, async (studio) => {
      if (exportTo !== undefined) return exportKohya({ studio, read, file, output: exportTo, force: flag(values, 'force'), io, json });
      const common = { studio, env: io.env, allowUnknownGpu: flag(values, 'allow-unknown-gpu') };
      let result: TrainingDryRun;
      let imported: { format: ImportFormat; notes: string[]; unmapped: UnmappedKey[] } | undefined;
      if (read.kind === 'own') result = await dryRunTraining({ ...common, config: read.config });
      else {
        const run = await dryRunImported({ ...common, imported: read.imported, baseDir: path.dirname(path.resolve(file)) });
        result = run;
        imported = { format: read.imported.format, notes: read.imported.notes, unmapped: [...read.imported.unmapped, ...run.operator.unmapped] };
      }
      if (!flag(values, 'dry-run') && result.ok) {
        const run = read.kind === 'own' ? { config: read.config } : { import: read.request };
        return startTrainingJob({ io, json, run, detach: flag(values, 'detach'), allowUnknownGpu: flag(values, 'allow-unknown-gpu'), allowUnsandboxed: flag(values, 'allow-unsandboxed'), gpus: parseGpus(option(values, 'gpus')) });
      }
      if (json) writeJson(io, dryRunJson(result, imported));
      else {
        if (imported !== undefined) printImportReport(io, file, imported, imported.unmapped);
        printIssues(io, result.issues);
        if (result.dryRun !== null) {
          if (result.issues.length > 0) writeLine(io);
          printDryRun(io, result, result.dryRun);
          if (!result.ok) writeLine(io, '\nThe run would be refused: see the errors above.');
        } else writeLine(io, 'The run config has errors; fix them and run the dry run again.');
      }
      return result.ok ? 0 : 1;
    });
  },
};
