import type { ReactNode } from 'react';

interface Props {
  id: string;
  title: string;
  description?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  testId?: string;
  /** Lets the page move focus to the heading (tabIndex -1), e.g. when the card opens on a click. */
  focusableHeading?: boolean;
}

/** A titled card on a page; its heading labels the region for assistive technology. */
export function Section({ id, title, description, actions, children, testId, focusableHeading }: Props) {
  const headingId = `${id}-heading`;
  return (
    <section className="card" id={id} aria-labelledby={headingId} data-testid={testId}>
      <header className="card__header">
        <div>
          <h2 id={headingId} className="card__title" tabIndex={focusableHeading ? -1 : undefined}>
            {title}
          </h2>
          {description ? <p className="card__description">{description}</p> : null}
        </div>
        {actions ? <div className="card__actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}
