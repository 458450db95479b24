/** `lorasmith train`'s human output: issues, the import report, the launch and its plan. */
import type { TrainingDryRun, TrainingDryRunView, TrainingPlan } from '../../training/dry-run.ts';
import type { FluxflowDryRun } from '../../training/engines/fluxflow/index.ts';
import type { FluxflowPlan } from '../../training/engines/fluxflow/launch.ts';
import type { OperatorInput } from '../../training/import/operator-inputs.ts';
import type { ImportSuccess, UnmappedKey } from '../../training/import/types.ts';
import type { ValidationIssue } from '../../training/validate/index.ts';
import { writeLine, type CliIO } from '../io.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export function bytes(value: number): string {
  return value >= GiB ? `${(value / GiB).toFixed(1)} GiB` : `${(value / MiB).toFixed(1)} MiB`;
}

export function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min` : `${seconds} s`;
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=<>@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function printIssues(io: CliIO, issues: readonly ValidationIssue[]): void {
  for (const found of issues) {
    writeLine(io, `${found.severity}: ${found.path === '' ? '' : `${found.path}: `}${found.message}`);
    if (found.hint !== '') writeLine(io, `  hint: ${found.hint}`);
  }
}

function value(item: unknown): string {
  const text = typeof item === 'string' ? item : JSON.stringify(item);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** What the importer made of the file: its format, what it noted, and every key it could not map. */
export function printImportReport(io: CliIO, file: string, imported: Pick<ImportSuccess, 'format' | 'notes'>, unmapped: readonly UnmappedKey[]): void {
  writeLine(io, `Imported ${file} as a ${imported.format} config.`);
  for (const note of imported.notes) writeLine(io, `note: ${note}`);
  if (unmapped.length === 0) writeLine(io, 'Every key was mapped.');
  else {
    writeLine(io, `Not mapped (${unmapped.length}; not part of the run):`);
    for (const entry of unmapped) writeLine(io, `  ${entry.key} = ${value(entry.value)}: ${entry.reason}`);
  }
  writeLine(io);
}

function inputLine(input: OperatorInput): string {
  const what =
    input.use === 'convert'
      ? `${input.verdict} ${input.format}, converted to ${input.enginePath}`
      : input.use === 'bind'
        ? `${input.verdict} ${input.format}, bound read-only`
        : input.use === 'copy-prompts'
          ? 'prompts copied into the run’s prompt file'
          : input.use === 'read'
            ? 'read'
            : 'images linked into the run';
  return `  ${input.field}  ${input.path}  (${input.source}: ${what})`;
}

function printPlan(io: CliIO, plan: TrainingPlan): void {
  writeLine(io, 'plan');
  writeLine(io, `  steps    ${plan.steps.total} (${plan.steps.epochs} epoch${plan.steps.epochs === 1 ? '' : 's'} × ${plan.steps.perEpoch} steps, ${plan.steps.processes} process${plan.steps.processes === 1 ? '' : 'es'})`);
  writeLine(io, `  time     ${plan.time.seconds === null ? plan.time.note : `about ${duration(plan.time.seconds)} at ${plan.time.itPerSecond} it/s. ${plan.time.note}`}`);
  const items = plan.disk.items.map((item) => `${item.what} ${item.count} × ${bytes(item.bytesEach)}`).join(', ');
  writeLine(io, `  disk     up to ${bytes(plan.disk.bytes)}${plan.disk.freeBytes === null ? '' : ` of ${bytes(plan.disk.freeBytes)} free`} (${items})`);
  const gpu = plan.gpu.mode === 'gpu' ? plan.gpu.devices.map((device) => `${device.index}: ${device.name}`).join(', ') : `${plan.gpu.mode === 'cpu' ? 'none (CPU mode)' : 'unknown'}: ${plan.gpu.reason}`;
  writeLine(io, `  gpu      ${gpu}`);
  writeLine(io, `  memory   ${plan.vram.fit}: ${plan.vram.message}`);
  for (const fix of plan.vram.fixes) writeLine(io, `           fix: ${fix}`);
  if (plan.inputs.length > 0) {
    writeLine(io, 'operator inputs (outside the workspace)');
    for (const input of plan.inputs) {
      writeLine(io, inputLine(input));
      for (const subset of input.subsets ?? []) writeLine(io, `    ${subset.name}${subset.isReg ? ' (regularisation)' : ''}  ${subset.images} image${subset.images === 1 ? '' : 's'} ×${subset.repeats}`);
    }
  }
}

/** The launch facts both engines share: argv, environment, working folder and sandbox binds. */
function printLaunch(io: CliIO, dry: TrainingDryRunView | FluxflowDryRun): void {
  writeLine(io, `cwd      ${dry.cwd}`);
  writeLine(io, `argv     ${dry.argv.map(shellWord).join(' ')}`);
  writeLine(io, 'env');
  for (const [key, entry] of Object.entries(dry.env)) writeLine(io, `  ${key}=${entry}`);
  writeLine(io, 'sandbox');
  for (const dir of dry.sandbox.readOnly) writeLine(io, `  read-only  ${dir}`);
  for (const dir of dry.sandbox.writable) writeLine(io, `  writable   ${dir}`);
  writeLine(io, '  network    none');
}

function printFiles(io: CliIO, files: Record<string, string>): void {
  for (const [file, content] of Object.entries(files)) {
    writeLine(io);
    writeLine(io, `--- ${file}`);
    io.stdout.write(content.endsWith('\n') ? content : `${content}\n`);
  }
}

function printFluxflowPlan(io: CliIO, plan: FluxflowPlan): void {
  writeLine(io, `output   ${plan.output.file} (a fluxflow checkpoint; text encoder ${plan.output.textEncoder})`);
  writeLine(io, `start    ${plan.start}${plan.fineTune ? ` from ${plan.fineTune.checkpoint}` : ''}${plan.resume ? ` from ${plan.resume.from} (epoch ${plan.resume.epoch}, step ${plan.resume.globalStep})` : ''}`);
  writeLine(io, 'datasets');
  for (const dataset of plan.datasets) writeLine(io, `  ${dataset.name}  ${dataset.images} image${dataset.images === 1 ? '' : 's'}${dataset.skipped > 0 ? `, ${dataset.skipped} without a caption skipped` : ''}  ${dataset.dir}`);
  writeLine(io, 'pipeline');
  for (const step of plan.steps) {
    writeLine(io, `  ${step.name}  ${step.nEpochs} epoch${step.nEpochs === 1 ? '' : 's'}${step.maxSteps === undefined ? '' : `, at most ${step.maxSteps} steps`}  on ${step.dataset}  (${step.modes.join(', ') || 'flow'})`);
  }
  for (const note of plan.notes) writeLine(io, `note: ${note}`);
}

export function printDryRun(io: CliIO, result: TrainingDryRun, dry: TrainingDryRunView | FluxflowDryRun): void {
  writeLine(io, 'Dry run: nothing was written and nothing was launched. <run> stands for the run folder.');
  if (result.engine.note !== undefined) writeLine(io, `note: ${result.engine.note}`);
  for (const skipped of result.skipped) writeLine(io, `note: not written: --${skipped.option} (${skipped.reason})`);
  writeLine(io);
  if (dry.engine === 'fluxflow') {
    writeLine(io, 'engine   fluxflow-train (pipeline mode)');
    printLaunch(io, dry);
    printFluxflowPlan(io, dry.plan);
    printFiles(io, dry.files);
    return;
  }
  writeLine(io, `script   ${dry.plan.script} (options from ${dry.plan.catalogue})`);
  writeLine(io, `output   ${dry.plan.outputFile}`);
  printLaunch(io, dry);
  writeLine(io, 'datasets');
  for (const dataset of dry.plan.datasets) {
    for (const subset of dataset.subsets) {
      writeLine(io, `  [${dataset.index}] ${subset.name}${subset.isReg ? ' (regularisation)' : ''}  ×${subset.numRepeats ?? 1}  ${subset.sourceDir}`);
    }
  }
  printPlan(io, dry.plan);
  printFiles(io, dry.files);
}
