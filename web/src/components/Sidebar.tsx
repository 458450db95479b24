import { LOOP_ROUTES, SETTINGS_ROUTE, type Route } from '../router.ts';
import { NavLink } from './NavLink.tsx';

function Item({ route, pathname, step }: { route: Route; pathname: string; step?: number }) {
  const current = pathname === route.path;
  return (
    <li>
      <NavLink to={route.path} className={current ? 'nav__link nav__link--current' : 'nav__link'} current={current} testId={route.testId}>
        <span className="nav__step" aria-hidden="true">
          {step ?? '⚙'}
        </span>
        {route.label}
      </NavLink>
    </li>
  );
}

export function Sidebar({ pathname }: { pathname: string }) {
  return (
    <nav className="sidebar" aria-label="Main" data-testid="nav">
      <p className="sidebar__heading" id="nav-loop-heading">
        Workflow
      </p>
      <ul className="nav" aria-labelledby="nav-loop-heading">
        {LOOP_ROUTES.map((route, index) => (
          <Item key={route.path} route={route} pathname={pathname} step={index + 1} />
        ))}
      </ul>
      <ul className="nav nav--bottom">
        <Item route={SETTINGS_ROUTE} pathname={pathname} />
      </ul>
    </nav>
  );
}
