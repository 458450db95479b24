/**
 * A page's state kept in the address's query (`?dataset=…`, `?tab=find`), so a reload or a shared link
 * opens the same view. Writes replace the history entry: a selection is not a step back.
 */

/** The parameter's value; null when it is absent or empty. */
export function readQueryParam(name: string): string | null {
  const value = new URLSearchParams(window.location.search).get(name);
  return value === null || value === '' ? null : value;
}

/** Sets the parameter, or removes it for null. */
export function writeQueryParam(name: string, value: string | null): void {
  const url = new URL(window.location.href);
  if (value === null) url.searchParams.delete(name);
  else url.searchParams.set(name, value);
  window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
}
