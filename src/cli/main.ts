/**
 * `lorasmith <verb>`: one file per verb under verbs/, the output and exit-code contract of DESIGN.md §7.
 */
import type { ExitCode } from '../core/errors.ts';
import { LORASMITH_VERSION } from '../core/version.ts';
import { processIO, reportError, usageError, writeLine, type CliIO } from './io.ts';
import type { Verb } from './verb.ts';
import { convertVerb } from './verbs/convert.ts';
import { datasetVerb } from './verbs/dataset.ts';
import { doctorVerb } from './verbs/doctor.ts';
import { engineVerb } from './verbs/engine.ts';
import { inspectVerb } from './verbs/inspect.ts';
import { jobsVerb } from './verbs/jobs.ts';
import { loginVerb } from './verbs/login.ts';
import { modelsVerb } from './verbs/models.ts';
import { pairVerb } from './verbs/pair.ts';
import { pullVerb } from './verbs/pull.ts';
import { scanVerb } from './verbs/scan.ts';
import { searchVerb } from './verbs/search.ts';
import { selftestVerb } from './verbs/selftest.ts';
import { serveVerb } from './verbs/serve.ts';
import { tasksVerb } from './verbs/tasks.ts';
import { tokenVerb } from './verbs/token.ts';
import { trainVerb } from './verbs/train.ts';

export const VERBS: readonly Verb[] = [serveVerb, pairVerb, scanVerb, inspectVerb, convertVerb, modelsVerb, pullVerb, searchVerb, datasetVerb, trainVerb, jobsVerb, engineVerb, tokenVerb, loginVerb, doctorVerb, tasksVerb, selftestVerb];

function overview(): string {
  const width = Math.max(...VERBS.map((verb) => verb.name.length));
  return [
    `lorasmith ${LORASMITH_VERSION} — a local-first studio for training LoRA adapters, safely`,
    '',
    'Usage: lorasmith <verb> [options]     (lorasmith <verb> --help for details)',
    '',
    ...VERBS.map((verb) => `  ${verb.name.padEnd(width)}  ${verb.summary}`),
    '',
    'Common options: --json (machine-readable output), --help',
    'Exit codes: 0 success, 1 a check failed, 2 usage, network or I/O error.',
    'Workspace: $LORASMITH_HOME (default ~/.lorasmith).',
  ].join('\n');
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<ExitCode> {
  const [name, ...rest] = argv;
  const json = rest.includes('--json');
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      writeLine(io, overview());
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-v') {
      writeLine(io, LORASMITH_VERSION);
      return 0;
    }
    const verb = VERBS.find((candidate) => candidate.name === name);
    if (verb === undefined) throw usageError(`Unknown verb ${JSON.stringify(name)}.`, 'Run `lorasmith --help` for the list of verbs.');
    if (rest.includes('--help') || rest.includes('-h')) {
      writeLine(io, verb.help);
      return 0;
    }
    return await verb.run(rest, io);
  } catch (error) {
    return reportError(io, json, error);
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
}
