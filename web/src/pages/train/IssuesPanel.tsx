import { RichText } from '../../components/RichText.tsx';
import type { RunIssue } from './types.ts';

interface Props {
  issues: RunIssue[];
  checking: boolean;
  checked: boolean;
  onGoTo: (path: string) => void;
}

const ORDER = { error: 0, warning: 1, info: 2 } as const;
const BADGE = { error: 'badge--failed', warning: 'badge--warn', info: 'badge--info' } as const;
const LABEL = { error: 'Error', warning: 'Warning', info: 'Note' } as const;

export function sortIssues(issues: RunIssue[]): RunIssue[] {
  return [...issues].sort((a, b) => (ORDER[a.severity] ?? 3) - (ORDER[b.severity] ?? 3));
}

/** Every issue the validator reports, worst first, each a link to its field. */
export function IssuesPanel({ issues, checking, checked, onGoTo }: Props) {
  const errors = issues.filter((i) => i.severity === 'error').length;
  const warnings = issues.filter((i) => i.severity === 'warning').length;
  const summary = !checked
    ? 'Checking the config…'
    : issues.length === 0
      ? 'No issues: the config is ready.'
      : [errors ? `${errors} ${errors === 1 ? 'error' : 'errors'}` : null, warnings ? `${warnings} ${warnings === 1 ? 'warning' : 'warnings'}` : null, issues.length - errors - warnings ? `${issues.length - errors - warnings} ${issues.length - errors - warnings === 1 ? 'note' : 'notes'}` : null]
          .filter(Boolean)
          .join(', ');
  return (
    <div className="train-issues">
      <p className={`train-issues__summary${checked && errors === 0 ? ' ok-line' : ''}`} role="status" aria-live="polite">
        {summary}
        {checking && checked ? <span className="muted"> · checking…</span> : null}
      </p>
      {issues.length > 0 ? (
        <ol className="train-issues__list" data-testid="train-issues">
          {issues.map((issue, index) => (
            <li key={`${issue.code}-${issue.path}-${index}`} className={`train-issue train-issue--${issue.severity}`} data-testid={`issue-${index}`} data-severity={issue.severity}>
              <div className="train-issue__head">
                <span className={`badge ${BADGE[issue.severity] ?? 'badge--neutral'}`}>{LABEL[issue.severity] ?? issue.severity}</span>
                <button type="button" className="train-issue__path" onClick={() => onGoTo(issue.path)} title="Go to the field">
                  {issue.path === '' ? 'the run' : issue.path}
                </button>
              </div>
              <p className="train-issue__message">
                <RichText text={issue.message} />
              </p>
              {issue.hint ? (
                <p className="train-issue__hint muted">
                  <RichText text={issue.hint} />
                </p>
              ) : null}
            </li>
          ))}
        </ol>
      ) : (
        <ol className="train-issues__list" data-testid="train-issues" hidden />
      )}
    </div>
  );
}
