/**
 * Errors of the download pipeline: a `LorasmithError` whose `code` is one of the reason codes of
 * DESIGN.md §5, with the exit code that code implies (1: a check failed; 2: network, rate limit, disk).
 * Messages name hosts and paths only (`urlForLog`), never a query string, a token or a signed URL.
 */
import { LorasmithError } from '../core/errors.ts';

export type DownloadReason =
  | 'integrity'
  | 'size'
  | 'redirect-refused'
  | 'unsafe'
  | 'invalid'
  | 'unsupported'
  | 'auth-required'
  | 'gated'
  | 'forbidden'
  | 'not-found'
  | 'gone'
  | 'rate-limited'
  | 'network'
  | 'disk-full'
  | 'cancelled';

const EXIT_2: ReadonlySet<DownloadReason> = new Set<DownloadReason>(['rate-limited', 'network', 'disk-full']);

const STATUS: Record<DownloadReason, number> = {
  integrity: 422,
  size: 422,
  'redirect-refused': 502,
  unsafe: 422,
  invalid: 422,
  unsupported: 422,
  'auth-required': 401,
  gated: 403,
  forbidden: 403,
  'not-found': 404,
  gone: 410,
  'rate-limited': 429,
  network: 502,
  'disk-full': 507,
  cancelled: 409,
};

export interface HubErrorInit {
  code: DownloadReason;
  message: string;
  hint?: string;
  /** Secret-free detail: the rule (`DL-R02`), a host, a status. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export function hubError(init: HubErrorInit): LorasmithError {
  return new LorasmithError({
    code: init.code,
    message: init.message,
    ...(init.hint === undefined ? {} : { hint: init.hint }),
    exitCode: EXIT_2.has(init.code) ? 2 : 1,
    status: STATUS[init.code],
    ...(init.details === undefined ? {} : { details: init.details }),
    ...(init.cause === undefined ? {} : { cause: init.cause }),
  });
}

export function isHubError(error: unknown, code?: DownloadReason): error is LorasmithError {
  return error instanceof LorasmithError && (code === undefined || error.code === code);
}
