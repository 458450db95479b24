import { useCallback, useState } from 'react';
import { toApiError, type ApiError } from '../api.ts';

export interface ActionState<A extends unknown[]> {
  run: (...args: A) => Promise<boolean>;
  pending: boolean;
  error: ApiError | null;
  clearError: () => void;
}

/** Wraps one mutation: tracks whether it is in flight and keeps its last error for an ErrorBanner. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>): ActionState<A> {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const run = useCallback(
    async (...args: A): Promise<boolean> => {
      setPending(true);
      setError(null);
      try {
        await action(...args);
        return true;
      } catch (cause) {
        setError(toApiError(cause));
        return false;
      } finally {
        setPending(false);
      }
    },
    [action],
  );

  const clearError = useCallback(() => setError(null), []);
  return { run, pending, error, clearError };
}
