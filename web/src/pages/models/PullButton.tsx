import { api } from '../../api.ts';
import type { Column } from '../../components/DataTable.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { useAction } from '../../hooks/useAction.ts';
import { downloadState, isActive, STATE_BADGE, STATE_LABELS, type PullRequestBody, type PullTask } from './hub.ts';
import type { Downloads } from './useDownloads.ts';

interface Props {
  body: PullRequestBody;
  downloads: Downloads;
  /** What is pulled, for the button's accessible name. */
  what: string;
  label?: string;
  disabled?: boolean;
  testId: string;
  /** Called with the new task (e.g. to remember which Civitai model a version belongs to). */
  onStarted?: (task: PullTask) => void;
}

/** Scrolls the Downloads panel's entry for a task into view and moves focus there. */
/** The header of the column of pull buttons in a hub's file tables. */
export const PULL_COLUMN: Column = { label: 'Pull', hidden: true };

export function showDownload(taskId: string): void {
  const item = document.querySelector<HTMLElement>(`[data-testid="download-${CSS.escape(taskId)}"]`);
  if (!item) return;
  item.scrollIntoView({ behavior: 'smooth', block: 'center' });
  item.setAttribute('tabindex', '-1');
  item.focus({ preventScroll: true });
}

/** Starts a pull (`POST /api/pulls`); afterwards shows the latest pull of the same source, live. */
export function PullButton({ body, downloads, what, label = 'Pull', disabled, testId, onStarted }: Props) {
  const latest = body.include === undefined ? downloads.latestFor(body.source) : undefined;
  const state = latest ? downloadState(latest, downloads.resolutions.get(latest.id)) : null;
  const running = state !== null && isActive(state);
  const pull = useAction(async () => {
    const task = await api.post<PullTask>('/api/pulls', body);
    downloads.upsert(task);
    onStarted?.(task);
  });
  const percent =
    latest && running && latest.progress.total !== null && latest.progress.total > 0
      ? ` ${Math.min(100, Math.floor((latest.progress.done / latest.progress.total) * 100))}%`
      : '';
  return (
    <div className="pull">
      <div className="pull__row">
        {latest && state ? (
          <button
            type="button"
            className={`badge ${STATE_BADGE[state]} pull__state`}
            onClick={() => showDownload(latest.id)}
            title="Show in Downloads"
            data-testid={`${testId}-state`}
            data-state={state}
          >
            {STATE_LABELS[state]}
            {percent}
          </button>
        ) : null}
        <button
          type="button"
          className={latest ? 'button button--small button--ghost' : 'button button--small'}
          onClick={() => void pull.run()}
          disabled={disabled || pull.pending || running}
          aria-label={`${label} ${what}`}
          data-testid={testId}
        >
          {pull.pending ? 'Starting…' : running ? 'Pulling…' : latest ? `${label} again` : label}
        </button>
      </div>
      <ErrorBanner error={pull.error} onDismiss={pull.clearError} />
    </div>
  );
}
