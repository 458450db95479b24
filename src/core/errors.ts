/**
 * The one error type of lorasmith. Every failure a user can meet carries a stable `code` (for scripts and
 * tests), a message that says what went wrong and where, and a `hint` that says how to fix it.
 * Messages never carry secrets or internals (DESIGN.md §6.6): callers pass only what a user may see.
 */
export type ExitCode = 0 | 1 | 2;

export interface LorasmithErrorInit {
  code: string;
  message: string;
  hint?: string;
  /** CLI exit code (DESIGN.md §7): 1 a check failed, 2 usage / network / I/O. */
  exitCode?: ExitCode;
  /** HTTP status the server answers with. */
  status?: number;
  /** Structured, secret-free detail for `--json` and API clients. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class LorasmithError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(init: LorasmithErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'LorasmithError';
    this.code = init.code;
    this.hint = init.hint;
    this.exitCode = init.exitCode ?? 2;
    this.status = init.status ?? 400;
    this.details = init.details;
  }

  toJSON(): { code: string; message: string; hint?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function isLorasmithError(value: unknown): value is LorasmithError {
  return value instanceof LorasmithError;
}

/** Narrow Node's system errors (`ENOENT`, `EEXIST`, …) without `any`. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
