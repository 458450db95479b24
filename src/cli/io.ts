/**
 * The CLI's output contract (DESIGN.md §7): human text by default; `--json` prints one JSON document on
 * stdout (streaming verbs print JSON Lines ending with a summary); errors are
 * `{"error": {"code", "message", "hint"}}` on stdout with `--json`, plain text on stderr without.
 * Exit codes: 0 success, 1 a check failed, 2 usage / network / I/O.
 */
import type { Readable, Writable } from 'node:stream';
import { isLorasmithError, LorasmithError, type ExitCode } from '../core/errors.ts';
import { redactString } from '../core/redact.ts';

export interface CliIO {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable;
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  env: NodeJS.ProcessEnv;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

export function writeJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

export function writeLine(io: CliIO, text = ''): void {
  io.stdout.write(`${text}\n`);
}

export function usageError(message: string, hint: string): LorasmithError {
  return new LorasmithError({ code: 'usage', message, hint, exitCode: 2 });
}

/** Print an error in the contract's shape and return its exit code. */
export function reportError(io: CliIO, json: boolean, error: unknown): ExitCode {
  const known = isLorasmithError(error)
    ? error
    : new LorasmithError({
        code: 'internal',
        message: `Unexpected error: ${error instanceof Error ? error.message : String(error)}`,
        hint: 'If this keeps happening, run `lorasmith doctor` and report the output.',
        exitCode: 2,
      });
  const body = { code: known.code, message: redactString(known.message), ...(known.hint ? { hint: known.hint } : {}) };
  if (json) writeJson(io, { error: body });
  else io.stderr.write(`error: ${body.message}\n${body.hint ? `hint: ${body.hint}\n` : ''}`);
  return known.exitCode;
}
