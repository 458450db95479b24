/**
 * `lorasmith engine detect|install|set`: the training engines on this machine (DESIGN.md §4, §7).
 * - `detect [kohya|fluxflow]`: where each engine is (env > settings > workspace), its commit, Python, torch and
 *   CUDA, accelerate config, start-up files, GPUs, and what is missing with the fix;
 * - `install kohya|fluxflow`: shows the plan (pinned commit, venv, torch wheel index for the driver,
 *   hash-pinned requirements, start-up files through hub/), then asks; `--yes` answers for scripts, and
 *   without it a non-terminal stdin is refused. The one exception to "no network but through hub/" (DESIGN.md
 *   §4): git, pip and the Hub fetches, each pinned by hash;
 * - `set kohya|fluxflow --root P --python P | --clear`: the engines settings (operator paths, checked to exist).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { ExitCode } from '../../core/errors.ts';
import { workspaceHome, workspacePaths } from '../../core/workspace.ts';
import {
  ENGINE_IDS,
  describeInstallPlan,
  detectEngines,
  fetchStartupFiles,
  prepareInstall,
  runInstall,
  setEngineLocation,
  type EngineId,
  type EngineReport,
  type EnginesSettings,
  type EngineLocationPatch,
  type StepEvent,
} from '../../training/engines/detect/index.ts';
import type { GpuProbe } from '../../training/planner/probe-gpus.ts';
import { usageError, writeJson, writeLine, type CliIO } from '../io.ts';
import { withLocalStudio } from '../local-studio.ts';
import { flag, option, parseVerbArgs, type Verb } from '../verb.ts';

const HELP = `lorasmith engine detect [kohya|fluxflow] [--json]
lorasmith engine install kohya|fluxflow [--yes] [--cpu] [--python PATH] [--startup-files-only] [--json]
lorasmith engine set kohya [--root PATH] [--python PATH] | fluxflow [--python PATH] | ENGINE --clear [--json]

detect    Where each engine is and whether it works: location and where that came from
          (LORASMITH_KOHYA_ROOT / LORASMITH_KOHYA_PYTHON / LORASMITH_FLUXFLOW_PYTHON, then the engines
          settings, then the workspace's engines/ folder), commit, Python, torch and CUDA, accelerate
          config, start-up files (tokenizers) in the cache, GPUs, and what is missing with the fix.
          Exit code 1 when an engine asked about is not installed.
install   Show the install plan, ask, then run it: sd-scripts fetched at its pinned commit (kohya), a venv,
          torch from the wheel index that matches the NVIDIA driver (--cpu: the CPU build), every package
          from a hash-pinned lock (pip --require-hashes), and the start-up files fetched through the hub
          module at their pinned commit and SHA-256 into engines/<engine>/cache/. Refused before anything
          runs when a lock is not hash-pinned. --yes skips the question (needed when stdin is not a
          terminal). --startup-files-only: only the start-up files, for an engine installed elsewhere.
          --python: the interpreter that creates the venv (default python3 on PATH).
set       Point lorasmith at an engine installed elsewhere (stored in the workspace's settings; the
          environment variables still win). Paths must exist; relative ones are taken from the current
          folder. --clear returns the engine to the workspace's own install.

--json: detect → {"gpus","engines":[{"engine","installed","root","python","venv","commit","commitIsPinned",
"pythonVersion","torch","packageVersion","accelerateConfig","sources","startupFiles","problems"}]};
install → JSON Lines: {"type":"plan","engine","steps","notes"}, one {"type":"step",…} per step, then
{"type":"summary","ok","steps","failed"}; set → {"engines":{"kohyaRoot","kohyaPython","fluxflowPython"}}.`;

function engineArg(value: string | undefined, verb: string): EngineId {
  if (value === 'kohya' || value === 'fluxflow') return value;
  throw usageError(value === undefined ? `\`engine ${verb}\` needs an engine: kohya or fluxflow.` : `Unknown engine ${JSON.stringify(value)}.`, `Example: lorasmith engine ${verb} kohya`);
}

/** The workspace's engines settings, without creating a workspace that does not exist yet (doctor must not). */
export async function storedEngineSettings(env: NodeJS.ProcessEnv): Promise<EnginesSettings | undefined> {
  const paths = workspacePaths(workspaceHome(env));
  const exists = await stat(paths.db).then(
    () => true,
    () => false,
  );
  return exists ? withLocalStudio(env, async (studio) => (await studio.settings.get()).engines) : undefined;
}

function gpuLine(gpus: GpuProbe): string {
  if (gpus.mode === 'gpu') return gpus.gpus.map((gpu) => `#${gpu.index} ${gpu.name}, ${gpu.memoryFreeMiB} of ${gpu.memoryTotalMiB} MiB free, driver ${gpu.driverVersion}`).join('; ');
  return `${gpus.mode === 'cpu' ? 'none' : 'unknown'}: ${gpus.reason}`;
}

function printStatus(io: CliIO, status: EngineReport): void {
  const label = status.engine === 'kohya' ? 'kohya sd-scripts' : 'FluxFlow';
  writeLine(io, `${label}: ${status.installed ? 'installed' : 'not installed'}`);
  const row = (name: string, value: string) => writeLine(io, `  ${name.padEnd(12)} ${value}`);
  row('location', `${status.root ?? '—'} (${status.sources.root})`);
  row('python', `${status.python} (${status.sources.python})${status.pythonVersion === null ? '' : `, Python ${status.pythonVersion}`}`);
  if (status.venv !== null) row('venv', status.venv);
  if (status.engine === 'kohya') row('commit', status.commit === null ? 'unknown' : `${status.commit}${status.commitIsPinned === true ? ' (pinned)' : ' (not the pinned one)'}`);
  else row('package', status.packageVersion === null ? 'fluxflow-training not found' : `fluxflow-training ${status.packageVersion}`);
  row('torch', status.torch === null ? 'not importable' : `${status.torch.version} (${status.torch.cuda === null ? 'CPU build' : `CUDA ${status.torch.cuda}`})`);
  row('accelerate', status.accelerateConfig ? 'a default config exists (lorasmith passes its flags explicitly)' : 'no default config (none needed)');
  const files = status.startupFiles;
  row('start-up', `${files.dir}: ${files.missing.length === 0 ? 'complete' : `missing ${files.missing.join(', ')}`}${files.missingOptional.length === 0 ? '' : `; optional, not fetched: ${files.missingOptional.join(', ')}`}`);
  for (const problem of status.problems) writeLine(io, `  → ${problem}`);
}

async function detect(io: CliIO, positionals: string[], json: boolean): Promise<ExitCode> {
  if (positionals.length > 1) throw usageError('Too many arguments.', 'Run `lorasmith engine detect [kohya|fluxflow]`.');
  const engines = positionals[0] === undefined ? ENGINE_IDS : [engineArg(positionals[0], 'detect')];
  const settings = await storedEngineSettings(io.env);
  const report = await detectEngines({ env: io.env, enginesDir: workspacePaths(workspaceHome(io.env)).areas.engines, engines, ...(settings === undefined ? {} : { settings }) });
  if (json) writeJson(io, report);
  else {
    writeLine(io, `GPUs: ${gpuLine(report.gpus)}`);
    for (const status of report.engines) {
      writeLine(io);
      printStatus(io, status);
    }
  }
  return report.engines.every((status) => status.installed) ? 0 : 1;
}

/** The question on a terminal; `--yes` for scripts; otherwise refused, since nobody could answer. */
function confirmer(io: CliIO, yes: boolean): () => Promise<boolean> {
  return async () => {
    if (yes) return true;
    if (io.stdin.isTTY !== true) {
      throw usageError('The install needs a confirmation, and stdin is not a terminal.', 'Read the plan above, then run the same command with --yes.');
    }
    const rl = createInterface({ input: io.stdin, output: io.stderr });
    try {
      return /^y(es)?$/i.test((await rl.question('Run this install? [y/N] ')).trim());
    } finally {
      rl.close();
    }
  };
}

async function install(io: CliIO, positionals: string[], values: Record<string, unknown>, json: boolean): Promise<ExitCode> {
  if (positionals.length !== 1) throw usageError('`engine install` takes one engine: kohya or fluxflow.', 'Example: lorasmith engine install kohya');
  const engine = engineArg(positionals[0], 'install');
  const python = option(values, 'python');
  return withLocalStudio<ExitCode>(io.env, async (studio) => {
    const prepared = await prepareInstall({
      engine,
      env: io.env,
      enginesDir: studio.workspace.paths.areas.engines,
      settings: (await studio.settings.get()).engines,
      cpu: flag(values, 'cpu'),
      startupFilesOnly: flag(values, 'startup-files-only'),
      ...(python === undefined ? {} : { python: path.resolve(python) }),
    });
    if (json) writeJson(io, { type: 'plan', engine, steps: prepared.steps, notes: prepared.notes });
    else {
      writeLine(io, `Install plan for ${engine === 'kohya' ? 'kohya sd-scripts' : 'FluxFlow'} into ${path.join(studio.workspace.paths.areas.engines, engine)}:`);
      for (const note of prepared.notes) writeLine(io, `note: ${note}`);
      writeLine(io, describeInstallPlan(prepared.steps));
      writeLine(io);
    }
    const onStep = (event: StepEvent): void => {
      if (event.phase === 'start') {
        if (!json) writeLine(io, `[${event.index + 1}/${event.total}] ${event.step.id} …`);
        return;
      }
      if (json) writeJson(io, { type: 'step', ...event.outcome });
      else writeLine(io, `[${event.index + 1}/${event.total}] ${event.step.id} ${event.outcome.status}${event.outcome.seconds === undefined ? '' : ` (${event.outcome.seconds} s)`}${event.outcome.message === undefined ? '' : `: ${event.outcome.message}`}`);
    };
    const result = await runInstall({
      steps: prepared.steps,
      confirm: confirmer(io, flag(values, 'yes')),
      fetchStartupFiles: async (fetch, signal) => fetchStartupFiles({ fetch, hub: await studio.hubContext(), quarantineDir: studio.workspace.paths.areas.quarantine, ...(signal === undefined ? {} : { signal }) }),
      onStep,
    });
    if (json) writeJson(io, { type: 'summary', ...result });
    else if (result.ok) writeLine(io, `Installed. Check it with \`lorasmith engine detect ${engine}\`.`);
    else {
      const done = result.steps.filter((step) => step.status === 'done').map((step) => step.id);
      writeLine(io, `The install stopped at ${result.failed?.id}: ${result.failed?.message}`);
      writeLine(io, `Done before it: ${done.length === 0 ? 'nothing' : done.join(', ')}. Fix the cause and run the install again; finished steps are safe to repeat.`);
    }
    return result.ok ? 0 : 1;
  });
}

async function set(io: CliIO, positionals: string[], values: Record<string, unknown>, json: boolean): Promise<ExitCode> {
  if (positionals.length !== 1) throw usageError('`engine set` takes one engine: kohya or fluxflow.', 'Example: lorasmith engine set kohya --root /opt/sd-scripts --python /opt/sd-scripts/venv/bin/python');
  const engine = engineArg(positionals[0], 'set');
  const root = option(values, 'root');
  const python = option(values, 'python');
  const clear = flag(values, 'clear');
  if (clear === (root !== undefined || python !== undefined)) {
    throw usageError(clear ? '--clear cannot be combined with --root or --python.' : 'Nothing to set.', `Give --root and/or --python, or --clear. See \`lorasmith engine --help\`.`);
  }
  // Operator paths from the command line: relative ones mean "from here", as a shell user expects.
  const patch: EngineLocationPatch = clear
    ? { python: null, ...(engine === 'kohya' ? { root: null } : {}) }
    : { ...(root === undefined ? {} : { root: path.resolve(root) }), ...(python === undefined ? {} : { python: path.resolve(python) }) };
  const engines = await withLocalStudio(io.env, (studio) => setEngineLocation({ settings: studio.settings, engine, patch }));
  if (json) writeJson(io, { engines });
  else {
    const shown = engine === 'kohya' ? { root: engines.kohyaRoot, python: engines.kohyaPython } : { python: engines.fluxflowPython };
    for (const [name, value] of Object.entries(shown)) writeLine(io, `${engine} ${name}: ${value ?? '(the workspace’s own install)'}`);
    writeLine(io, `Check it with \`lorasmith engine detect ${engine}\`.`);
  }
  return 0;
}

export const engineVerb: Verb = {
  name: 'engine',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('engine', args, {
      yes: { type: 'boolean', short: 'y', default: false },
      cpu: { type: 'boolean', default: false },
      'startup-files-only': { type: 'boolean', default: false },
      python: { type: 'string' },
      root: { type: 'string' },
      clear: { type: 'boolean', default: false },
    });
    const json = flag(values, 'json');
    const [sub, ...rest] = positionals;
    const misplaced = (names: string[]) => {
      const given = names.filter((name) => values[name] !== undefined && values[name] !== false);
      if (given.length > 0) throw usageError(`--${given[0]} does not apply to \`engine ${sub}\`.`, 'See `lorasmith engine --help`.');
    };
    switch (sub) {
      case 'detect':
        misplaced(['yes', 'cpu', 'startup-files-only', 'python', 'root', 'clear']);
        return detect(io, rest, json);
      case 'install':
        misplaced(['root', 'clear']);
        return install(io, rest, values, json);
      case 'set':
        misplaced(['yes', 'cpu', 'startup-files-only']);
        return set(io, rest, values, json);
      default:
        throw usageError(sub === undefined ? '`engine` needs a subcommand: detect, install or set.' : `Unknown subcommand ${JSON.stringify(sub)}.`, 'See `lorasmith engine --help`.');
    }
  },
};
