/**
 * `lorasmith train CONFIG [--dry-run] [--json]`: CONFIG is lorasmith's run config (`schema = "lorasmith/run@1"`)
 * as TOML or JSON. `--dry-run` validates it against the workspace and shows the kohya launch without writing or
 * launching anything. Launching arrives with the jobs module; config import (sd-scripts / kohya_ss / LoRA Easy
 * Training files) arrives separately.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { LorasmithError, errnoCode } from '../../core/errors.ts';
import type { KohyaDryRun } from '../../training/engines/kohya/launch.ts';
import { dryRunTraining, type TrainingDryRun } from '../../training/dry-run.ts';
import { RUN_SCHEMA_ID } from '../../training/schema/index.ts';
import type { ValidationIssue } from '../../training/validate/index.ts';
import { writeJson, writeLine, usageError, type CliIO } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { flag, option, parseVerbArgs, type Verb } from '../verb.ts';

/** A run config is a few KiB; anything this large is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;

function importNotYet(what: string): LorasmithError {
  return new LorasmithError({
    code: 'config-import-unavailable',
    message: `${what} Importing sd-scripts, kohya_ss and LoRA Easy Training configs arrives separately (config import).`,
    hint: `Write the run in lorasmith's schema (TOML or JSON with schema = "${RUN_SCHEMA_ID}"); see the run-config reference.`,
    exitCode: 2,
  });
}

function configError(file: string, reason: string): LorasmithError {
  return new LorasmithError({ code: 'config-unreadable', message: `${file} is not a readable run config: ${reason}.`, hint: `Give a TOML or JSON file with schema = "${RUN_SCHEMA_ID}".`, exitCode: 2 });
}

/** Read CONFIG as TOML or JSON (by extension); refuse other formats and other schemas with the import note. */
export async function readRunConfigFile(file: string): Promise<unknown> {
  const extension = path.extname(file).toLowerCase();
  if (extension !== '.toml' && extension !== '.json') throw importNotYet(`${file} is neither TOML nor JSON (.toml / .json).`);
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw configError(file, 'not a file');
    if (info.size > MAX_CONFIG_BYTES) throw configError(file, `larger than ${MAX_CONFIG_BYTES} bytes`);
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof LorasmithError) throw error;
    throw new LorasmithError({ code: 'not-found', message: `${file} cannot be read (${errnoCode(error) ?? 'error'}).`, hint: 'Give the path of a run config file.', exitCode: 2 });
  }
  let value: unknown;
  try {
    value = extension === '.toml' ? parseToml(text) : JSON.parse(text);
  } catch (error) {
    throw configError(file, `${extension === '.toml' ? 'TOML' : 'JSON'} syntax error (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw configError(file, 'the top level is not a table / object');
  const schema = (value as Record<string, unknown>).schema;
  if (schema !== RUN_SCHEMA_ID) {
    throw importNotYet(schema === undefined ? `${file} has no schema = "${RUN_SCHEMA_ID}" line, so it is not a lorasmith run config.` : `${file} declares schema ${JSON.stringify(schema)}, not "${RUN_SCHEMA_ID}".`);
  }
  return value;
}

/** The `--json` document: the launch's public fields, plus the validation issues. */
export function dryRunJson(result: Pick<TrainingDryRun, 'issues' | 'dryRun'>): Record<string, unknown> {
  const dry: KohyaDryRun | null = result.dryRun;
  if (dry === null) return { issues: result.issues };
  return { engine: dry.engine, argv: dry.argv, env: dry.env, cwd: dry.cwd, files: dry.files, sandbox: dry.sandbox, plan: dry.plan, issues: result.issues };
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=<>@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function printIssues(io: CliIO, issues: readonly ValidationIssue[]): void {
  for (const found of issues) {
    writeLine(io, `${found.severity}: ${found.path === '' ? '' : `${found.path}: `}${found.message}`);
    if (found.hint !== '') writeLine(io, `  hint: ${found.hint}`);
  }
}

function printDryRun(io: CliIO, result: TrainingDryRun, dry: KohyaDryRun): void {
  writeLine(io, 'Dry run: nothing was written and nothing was launched. <run> stands for the run folder.');
  if (result.engine.note !== undefined) writeLine(io, `note: ${result.engine.note}`);
  for (const skipped of result.skipped) writeLine(io, `note: not written: --${skipped.option} (${skipped.reason})`);
  writeLine(io);
  writeLine(io, `script   ${dry.plan.script} (options from ${dry.plan.catalogue})`);
  writeLine(io, `output   ${dry.plan.outputFile}`);
  writeLine(io, `cwd      ${dry.cwd}`);
  writeLine(io, `argv     ${dry.argv.map(shellWord).join(' ')}`);
  writeLine(io, 'env');
  for (const [key, value] of Object.entries(dry.env)) writeLine(io, `  ${key}=${value}`);
  writeLine(io, 'sandbox');
  for (const dir of dry.sandbox.readOnly) writeLine(io, `  read-only  ${dir}`);
  for (const dir of dry.sandbox.writable) writeLine(io, `  writable   ${dir}`);
  writeLine(io, '  network    none');
  writeLine(io, 'datasets');
  for (const dataset of dry.plan.datasets) {
    for (const subset of dataset.subsets) {
      writeLine(io, `  [${dataset.index}] ${subset.name}${subset.isReg ? ' (regularisation)' : ''}  ×${subset.numRepeats ?? 1}  ${subset.sourceDir}`);
    }
  }
  for (const [file, content] of Object.entries(dry.files)) {
    writeLine(io);
    writeLine(io, `--- ${file}`);
    io.stdout.write(content.endsWith('\n') ? content : `${content}\n`);
  }
}

export const trainVerb: Verb = {
  name: 'train',
  summary: 'check a run config and show its launch (train CONFIG --dry-run)',
  help: `lorasmith train CONFIG [--dry-run] [--json]

  CONFIG      a run config in lorasmith's schema, TOML or JSON, with schema = "${RUN_SCHEMA_ID}".
              Importing sd-scripts / kohya_ss / LoRA Easy Training configs arrives separately.
  --dry-run   validate the config against the workspace (models, datasets) and show the kohya launch:
              argv (without the sandbox wrapper), environment, working folder, the engine files
              (run.toml, dataset.toml, sample prompts), the sandbox binds and the plan, under the
              placeholder run folder <run>, secrets redacted. Nothing is written or launched.
              Without --dry-run: launching needs the jobs module, which is not part of this version (exit 2).

--json: {"engine","argv","env","cwd","files":{path: content},"sandbox","plan","issues":[…]};
{"issues":[…]} alone when the config has errors. An issue: {"code","severity","path","message","hint"}.
Exit codes: 0 the config is valid; 1 it has errors; 2 usage, unreadable file, or launching asked for.`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('train', args, { 'dry-run': { type: 'boolean', default: false }, from: { type: 'string' } });
    const json = flag(values, 'json');
    const [file, ...rest] = positionals;
    if (file === undefined) throw usageError('`train` needs a CONFIG file.', 'Example: lorasmith train my-run.toml --dry-run');
    if (rest.length > 0) throw usageError('Too many arguments.', 'See `lorasmith train --help`.');
    const from = option(values, 'from');
    if (from !== undefined) throw importNotYet(`--from ${from} names a foreign config format.`);
    if (!flag(values, 'dry-run')) {
      throw new LorasmithError({
        code: 'train-launch-unavailable',
        message: 'Launching a training run needs the jobs module, which is not part of this version; nothing was started.',
        hint: 'Use `lorasmith train CONFIG --dry-run` to check the config and see the launch.',
        exitCode: 2,
      });
    }
    const config = await readRunConfigFile(file);
    return withLocalStudio(io.env, async (studio) => {
      const result = await dryRunTraining({ studio, config, env: io.env });
      if (json) writeJson(io, dryRunJson(result));
      else {
        printIssues(io, result.issues);
        if (result.dryRun !== null) {
          if (result.issues.length > 0) writeLine(io);
          printDryRun(io, result, result.dryRun);
        } else writeLine(io, 'The run config has errors; fix them and run the dry run again.');
      }
      return result.ok ? 0 : 1;
    });
  },
};
