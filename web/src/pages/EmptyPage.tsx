import type { EmptyPageSpec } from './emptyPages.ts';

/** A loop step whose feature has not landed yet: says so, and names the CLI verb. */
export function EmptyPage({ spec }: { spec: EmptyPageSpec }) {
  return (
    <div className="page" data-testid={`page-${spec.id}`}>
      <h1 className="page__title" tabIndex={-1}>
        {spec.title}
      </h1>
      <div className="empty" data-testid="empty-state">
        <p className="empty__line">{spec.line}</p>
        <p className="empty__cli">
          From the CLI: <code>{spec.cli}</code>
        </p>
      </div>
    </div>
  );
}
