import { NavLink } from '../components/NavLink.tsx';
import { HOME_PATH } from '../router.ts';

export function NotFoundPage({ pathname }: { pathname: string }) {
  return (
    <div className="page" data-testid="page-not-found">
      <h1 className="page__title" tabIndex={-1}>
        Page not found
      </h1>
      <div className="empty">
        <p className="empty__line">
          There is no page at <code>{pathname}</code>.
        </p>
        <p>
          <NavLink to={HOME_PATH}>Go to Models</NavLink>
        </p>
      </div>
    </div>
  );
}
