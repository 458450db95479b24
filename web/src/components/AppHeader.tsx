import type { ReactNode } from 'react';
import { HOME_PATH } from '../router.ts';
import { NavLink } from './NavLink.tsx';

/** The bar across the top: the app's name, and on the right whatever state the caller shows. */
export function AppHeader({ children }: { children?: ReactNode }) {
  return (
    <header className="app-header" data-testid="app-header">
      <NavLink to={HOME_PATH} className="brand" testId="brand">
        <img className="brand__mark" src="/favicon.svg" alt="" width={24} height={24} />
        <span className="brand__name">lorasmith</span>
        <span className="brand__tag">studio</span>
      </NavLink>
      <div className="app-header__status">{children}</div>
    </header>
  );
}
