import type { MouseEvent, ReactNode } from 'react';
import { navigate } from '../router.ts';

interface Props {
  to: string;
  children: ReactNode;
  className?: string;
  current?: boolean;
  testId?: string;
}

/** A real link (open in a new tab works) that navigates in-page on a plain click. */
export function NavLink({ to, children, className, current, testId }: Props) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} className={className} onClick={onClick} aria-current={current ? 'page' : undefined} data-testid={testId}>
      {children}
    </a>
  );
}
