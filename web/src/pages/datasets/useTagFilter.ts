import { useEffect, useState } from 'react';
import { api, toApiError, type ApiError } from '../../api.ts';
import { datasetPath } from './paths.ts';

export interface TagFilter {
  /** Images must have every one of these tags… */
  all: string[];
  /** …and none of these. */
  none: string[];
}

export const NO_FILTER: TagFilter = { all: [], none: [] };

export function isFiltering(filter: TagFilter): boolean {
  return filter.all.length > 0 || filter.none.length > 0;
}

export type FilterResult = { state: 'off' } | { state: 'loading' } | { state: 'ready'; images: Set<string> } | { state: 'error'; error: ApiError };

/** The images (`<subset>/<file>`) that match a tag filter, asked of the studio again after every caption edit. */
export function useTagFilter(dataset: string, filter: TagFilter, version: number): FilterResult {
  const [result, setResult] = useState<FilterResult>({ state: 'off' });
  const query = isFiltering(filter) ? new URLSearchParams({ all: filter.all.join(','), none: filter.none.join(',') }).toString() : '';

  useEffect(() => {
    if (query === '') {
      setResult({ state: 'off' });
      return;
    }
    const controller = new AbortController();
    setResult((current) => (current.state === 'ready' ? current : { state: 'loading' }));
    api
      .get<{ images: string[] }>(`${datasetPath(dataset, 'filter')}?${query}`, { signal: controller.signal })
      .then((answer) => setResult({ state: 'ready', images: new Set(answer.images) }))
      .catch((cause: unknown) => {
        if (!controller.signal.aborted) setResult({ state: 'error', error: toApiError(cause) });
      });
    return () => controller.abort();
  }, [dataset, query, version]);

  return result;
}
