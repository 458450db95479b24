import { LorasmithError, isLorasmithError } from '../../core/errors.ts';

/** An abort (from the task's signal) surfaces as the `cancelled` error the task service records. */
export function asCancelled(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted !== true || (isLorasmithError(error) && error.code !== 'cancelled')) return error;
  return isLorasmithError(error) ? error : new LorasmithError({ code: 'cancelled', message: 'The import was cancelled; nothing was kept.', cause: signal.reason });
}
