import { lazy, Suspense, useEffect, useRef, type ComponentType, type RefObject } from 'react';
import { AppHeader } from './components/AppHeader.tsx';
import { ConnectionStatus } from './components/ConnectionStatus.tsx';
import { Sidebar } from './components/Sidebar.tsx';
import { StudioEventsProvider } from './events.tsx';
import { EMPTY_PAGES } from './pages/emptyPages.ts';
import { EmptyPage } from './pages/EmptyPage.tsx';
import { JobsProvider } from './pages/jobs/JobsProvider.tsx';
import { NotFoundPage } from './pages/NotFoundPage.tsx';
import { HOME_PATH, LOOP_ROUTES, navigate, SETTINGS_ROUTE, usePathname } from './router.ts';

/**
 * Each page is its own chunk, loaded when first opened (the whole app in one file was 543 kB, past
 * Vite's 500 kB warning); the shell, the jobs provider and the small placeholder pages stay in the
 * entry. Once the shell is up, the other pages are fetched in the background so a click does not wait.
 */
const PAGE_MODULES: Record<string, () => Promise<{ default: ComponentType }>> = {
  '/settings': () => import('./pages/SettingsPage.tsx').then((module) => ({ default: module.SettingsPage })),
  '/models': () => import('./pages/ModelsPage.tsx').then((module) => ({ default: module.ModelsPage })),
  '/datasets': () => import('./pages/DatasetsPage.tsx').then((module) => ({ default: module.DatasetsPage })),
  '/train': () => import('./pages/TrainPage.tsx').then((module) => ({ default: module.TrainPage })),
  '/jobs': () => import('./pages/JobsPage.tsx').then((module) => ({ default: module.JobsPage })),
};

const LAZY_PAGES: Record<string, ComponentType | undefined> = Object.fromEntries(Object.entries(PAGE_MODULES).map(([pathname, load]) => [pathname, lazy(load)]));

function titleFor(pathname: string): string {
  const route = [...LOOP_ROUTES, SETTINGS_ROUTE].find((r) => r.path === pathname);
  return route ? `${route.label} · lorasmith` : 'lorasmith';
}

function Page({ pathname }: { pathname: string }) {
  const Lazy = LAZY_PAGES[pathname];
  if (Lazy !== undefined) return <Lazy />;
  const spec = EMPTY_PAGES[pathname];
  return spec ? <EmptyPage spec={spec} /> : <NotFoundPage pathname={pathname} />;
}

/**
 * After an in-page navigation, moves focus to the new page's heading (as a page load would). It sits
 * inside the page's Suspense boundary, so its effect runs once the page itself has rendered, not while
 * its chunk is still loading.
 */
function FocusHeading({ main, enabled }: { main: RefObject<HTMLElement | null>; enabled: boolean }) {
  // Decided when this page mounts (it is keyed by path): later re-renders of the shell never move focus.
  const focusOnMount = useRef(enabled);
  useEffect(() => {
    if (focusOnMount.current) main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [main]);
  return null;
}

function PageLoading() {
  return (
    <p className="page__loading" role="status" data-testid="page-loading">
      Loading…
    </p>
  );
}

/** The paired app: header, navigation, the page for the current path, and the jobs every page watches. */
export function Shell() {
  const pathname = usePathname();
  const main = useRef<HTMLElement>(null);
  const firstRender = useRef(true);

  useEffect(() => {
    if (pathname === '/') navigate(HOME_PATH, { replace: true });
  }, [pathname]);

  useEffect(() => {
    document.title = titleFor(pathname);
  }, [pathname]);

  useEffect(() => {
    firstRender.current = false;
    // The other pages' chunks, fetched while the person looks at the first one.
    const preload = (): void => {
      for (const load of Object.values(PAGE_MODULES)) void load().catch(() => undefined);
    };
    const timer = setTimeout(preload, 1000);
    return () => clearTimeout(timer);
  }, []);

  return (
    <StudioEventsProvider>
      <JobsProvider>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <div className="app">
          <AppHeader>
            <ConnectionStatus />
          </AppHeader>
          <Sidebar pathname={pathname} />
          <main className="main" id="main" ref={main}>
            {pathname === '/' ? null : (
              <Suspense fallback={<PageLoading />}>
                <Page pathname={pathname} />
                <FocusHeading key={pathname} main={main} enabled={!firstRender.current} />
              </Suspense>
            )}
          </main>
        </div>
      </JobsProvider>
    </StudioEventsProvider>
  );
}
