/** Client-side routing on `location.pathname` with the History API. */
import { useSyncExternalStore } from 'react';

export interface Route {
  path: string;
  label: string;
  testId: string;
}

export const LOOP_ROUTES: Route[] = [
  { path: '/models', label: 'Models', testId: 'nav-models' },
  { path: '/datasets', label: 'Datasets', testId: 'nav-datasets' },
  { path: '/train', label: 'Train', testId: 'nav-train' },
  { path: '/jobs', label: 'Jobs', testId: 'nav-jobs' },
  { path: '/generate', label: 'Generate', testId: 'nav-generate' },
  { path: '/tools', label: 'Tools', testId: 'nav-tools' },
];

export const SETTINGS_ROUTE: Route = { path: '/settings', label: 'Settings', testId: 'nav-settings' };

export const HOME_PATH = '/models';

const NAVIGATE_EVENT = 'lorasmith:navigate';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

function normalise(pathname: string): string {
  const trimmed = pathname.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

export function usePathname(): string {
  return useSyncExternalStore(subscribe, () => normalise(window.location.pathname));
}

/** One query parameter of the current URL (null when absent), kept current across `navigate` and back/forward. */
export function useSearchParam(name: string): string | null {
  return useSyncExternalStore(subscribe, () => new URLSearchParams(window.location.search).get(name));
}

export function navigate(path: string, { replace = false } = {}): void {
  if (replace) window.history.replaceState(null, '', path);
  else if (normalise(window.location.pathname) !== path) window.history.pushState(null, '', path);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}
