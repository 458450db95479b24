import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ExitCode } from '../core/errors.ts';
import { usageError, type CliIO } from './io.ts';

/** A verb's module (verbs/NAME.ts); its one-line summary is in verb-list.ts, which loads it when it runs. */
export interface Verb {
  name: string;
  /** Full help text, printed by `lorasmith VERB --help`. */
  help: string;
  run(args: string[], io: CliIO): Promise<ExitCode>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON: Options = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

/** parseArgs with the common flags, strict, and usage errors in the CLI's shape. */
export function parseVerbArgs<O extends Options>(verb: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(`${error instanceof Error ? error.message : String(error)}`, `See \`lorasmith ${verb} --help\`.`);
  }
}

export function flag(values: Record<string, unknown>, name: string): boolean {
  return values[name] === true;
}

export function option(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}
