/**
 * `lorasmith <verb>`: one file per verb under verbs/, the output and exit-code contract of DESIGN.md §7.
 */
import type { ExitCode } from '../core/errors.ts';
import { LORASMITH_VERSION } from '../core/version.ts';
import { processIO, reportError, usageError, writeLine, type CliIO } from './io.ts';
import { VERBS } from './verb-list.ts';

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
    const entry = VERBS.find((candidate) => candidate.name === name);
    if (entry === undefined) throw usageError(`Unknown verb ${JSON.stringify(name)}.`, 'Run `lorasmith --help` for the list of verbs.');
    const verb = await entry.load();
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
  (await import('../core/compile-cache.ts')).enableLorasmithCompileCache();
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
}
