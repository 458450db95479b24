import { Worker } from 'node:worker_threads';
import { LorasmithError } from '../../core/errors.ts';
import type { RegexJob, RegexReply } from './regex-worker.ts';

export const DEFAULT_REGEX_BUDGET_MS = 2000;
const MAX_REGEX_BUDGET_MS = 30_000;
const MAX_PATTERN_LENGTH = 1000;
/** `g` is always added (replace every match); `y` and `d` make no sense for a replace over whole captions. */
const ALLOWED_FLAGS = /^[imsuv]*$/;

export interface RegexReplaceParams {
  pattern: string;
  /** Any of `i m s u v`. */
  flags?: string;
  /** JavaScript replacement syntax: `$1`, `$<name>`, `$&`, `$$`. */
  replacement: string;
  inputs: readonly string[];
  /** Wall time for the whole batch once the worker runs; past it the worker is terminated. */
  timeBudgetMs?: number;
}

function invalid(pattern: string, reason: string): LorasmithError {
  return new LorasmithError({
    code: 'caption-regex-invalid',
    message: `The regular expression ${JSON.stringify(pattern.slice(0, 200))} cannot be used: ${reason}.`,
    hint: 'Fix the pattern (JavaScript syntax), or use a literal replace.',
  });
}

/** Check the pattern and flags here, so a typo gets a plain error without starting a thread. */
function compileFlags(params: RegexReplaceParams): string {
  const flags = params.flags ?? '';
  if (!ALLOWED_FLAGS.test(flags)) throw invalid(params.pattern, `the flags "${flags}" are not among i, m, s, u, v`);
  if (params.pattern.length === 0) throw invalid(params.pattern, 'it is empty');
  if (params.pattern.length > MAX_PATTERN_LENGTH) throw invalid(params.pattern, `it is longer than ${MAX_PATTERN_LENGTH} characters`);
  try {
    new RegExp(params.pattern, `${flags}g`);
  } catch (error) {
    throw invalid(params.pattern, error instanceof Error ? error.message : String(error));
  }
  return `${flags}g`;
}

/**
 * Replace every match in every input, in a worker thread with a time budget. A catastrophic pattern such
 * as `(a+)+$` on a long caption cannot be interrupted inside V8's regex engine, so the only way to keep the
 * studio responsive is to run it elsewhere and terminate that thread.
 */
export async function replaceWithRegex(params: RegexReplaceParams): Promise<string[]> {
  const flags = compileFlags(params);
  const budget = params.timeBudgetMs ?? DEFAULT_REGEX_BUDGET_MS;
  if (!Number.isFinite(budget) || budget <= 0 || budget > MAX_REGEX_BUDGET_MS) {
    throw invalid(params.pattern, `the time budget ${budget} ms is outside 1–${MAX_REGEX_BUDGET_MS} ms`);
  }
  if (params.inputs.length === 0) return [];
  const job: RegexJob = { pattern: params.pattern, flags, replacement: params.replacement, inputs: [...params.inputs] };
  // A memory cap too: a replacement that multiplies every caption must fail, not swell the studio.
  const worker = new Worker(new URL('./regex-worker.ts', import.meta.url), {
    workerData: job,
    resourceLimits: { maxOldGenerationSizeMb: 256 },
  });
  return new Promise<string[]>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: () => void): void => {
      clearTimeout(timer);
      worker.removeAllListeners();
      // Swallow the late 'error' a terminated worker may still emit.
      worker.on('error', () => undefined);
      void worker.terminate();
      outcome();
    };
    // The budget starts once the thread runs, so a slow thread start is not blamed on the pattern.
    worker.once('online', () => {
      timer = setTimeout(() => {
        finish(() =>
          reject(
            new LorasmithError({
              code: 'caption-regex-timeout',
              message: `The regular expression ${JSON.stringify(params.pattern.slice(0, 200))} ran longer than ${budget} ms over ${params.inputs.length} caption(s) and was stopped; no caption was changed.`,
              hint: 'The pattern probably backtracks catastrophically (nested quantifiers such as "(a+)+"). Simplify it, anchor it, or use a literal replace.',
              status: 422,
            }),
          ),
        );
      }, budget);
    });
    worker.once('message', (reply: RegexReply) => {
      finish(() => ('outputs' in reply ? resolve(reply.outputs) : reject(invalid(params.pattern, reply.error))));
    });
    worker.once('error', (error) => {
      finish(() =>
        reject(
          new LorasmithError({
            code: 'caption-regex-failed',
            message: `The regular expression ${JSON.stringify(params.pattern.slice(0, 200))} failed while replacing: ${error.message}.`,
            hint: 'A replacement that makes captions very large can exhaust the memory allowed; simplify the pattern or replacement.',
            cause: error,
          }),
        ),
      );
    });
    worker.once('exit', (code) => {
      finish(() => reject(new LorasmithError({ code: 'caption-regex-failed', message: `The regular expression worker stopped early (exit code ${code}); no caption was changed.`, hint: 'Try again; if it repeats, simplify the pattern.' })));
    });
  });
}
