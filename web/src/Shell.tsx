import { useEffect, useRef } from 'react';
import { AppHeader } from './components/AppHeader.tsx';
import { ConnectionStatus } from './components/ConnectionStatus.tsx';
import { Sidebar } from './components/Sidebar.tsx';
import { StudioEventsProvider } from './events.tsx';
import { DatasetsPage } from './pages/DatasetsPage.tsx';
import { EMPTY_PAGES } from './pages/emptyPages.ts';
import { EmptyPage } from './pages/EmptyPage.tsx';
import { JobsProvider } from './pages/jobs/JobsProvider.tsx';
import { JobsPage } from './pages/JobsPage.tsx';
import { ModelsPage } from './pages/ModelsPage.tsx';
import { NotFoundPage } from './pages/NotFoundPage.tsx';
import { SettingsPage } from './pages/SettingsPage.tsx';
import { TrainPage } from './pages/TrainPage.tsx';
import { HOME_PATH, LOOP_ROUTES, navigate, SETTINGS_ROUTE, usePathname } from './router.ts';

function titleFor(pathname: string): string {
  const route = [...LOOP_ROUTES, SETTINGS_ROUTE].find((r) => r.path === pathname);
  return route ? `${route.label} · lorasmith` : 'lorasmith';
}

function Page({ pathname }: { pathname: string }) {
  if (pathname === SETTINGS_ROUTE.path) return <SettingsPage />;
  if (pathname === '/models') return <ModelsPage />;
  if (pathname === '/datasets') return <DatasetsPage />;
  if (pathname === '/train') return <TrainPage />;
  if (pathname === '/jobs') return <JobsPage />;
  const spec = EMPTY_PAGES[pathname];
  return spec ? <EmptyPage spec={spec} /> : <NotFoundPage pathname={pathname} />;
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
    // After an in-page navigation, move focus to the new page's heading (as a page load would).
    if (firstRender.current) firstRender.current = false;
    else main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [pathname]);

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
            {pathname === '/' ? null : <Page pathname={pathname} />}
          </main>
        </div>
      </JobsProvider>
    </StudioEventsProvider>
  );
}
