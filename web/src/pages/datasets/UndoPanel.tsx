import { useState } from 'react';
import { api } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Time } from '../../components/Time.tsx';
import { useAction } from '../../hooks/useAction.ts';
import { useJson } from '../../hooks/useJson.ts';
import { plural } from './labels.ts';
import { datasetPath } from './paths.ts';
import type { UndoEntry, UndoResult } from './types.ts';
import { useReloadOn } from './useReloadOn.ts';

interface Props {
  dataset: string;
  locked: string | null;
  version: number;
  onUndone: () => void;
}

/** The caption edits made in lorasmith, newest first; the newest can be undone exactly. */
export function UndoPanel({ dataset, locked, version, onUndone }: Props) {
  const { data, error, loading, reload } = useJson<{ entries: UndoEntry[] }>(datasetPath(dataset, 'captions', 'undo'));
  useReloadOn(version, reload);
  const [done, setDone] = useState<UndoResult | null>(null);
  const undo = useAction(async (id: string) => {
    setDone(null);
    const result = await api.post<UndoResult>(datasetPath(dataset, 'captions', 'undo'), { id });
    setDone(result);
    onUndone();
  });

  // While the list reloads after an edit, the entry shown may no longer be the newest: undo waits for it.
  const entries = [...(data?.entries ?? [])].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const latest = entries[0];

  return (
    <div className="subsection" data-testid="caption-history">
      <h3 className="subsection__title">Undo</h3>
      <ErrorBanner error={error} onRetry={reload} />
      {data === undefined ? null : latest === undefined ? (
        <p className="muted">No caption edits to undo. Edits made here (saves, bulk edits, auto-tagging) can be undone.</p>
      ) : (
        <>
          <div className="inline-form">
            <button type="button" className="button button--small button--ghost" onClick={() => void undo.run(latest.id)} disabled={undo.pending || loading || locked !== null} data-testid="caption-undo">
              {undo.pending ? 'Undoing…' : 'Undo last edit'}
            </button>
            <span className="undo__latest">
              “{latest.label}” <span className="muted">· <Time iso={latest.createdAt} /></span>
            </span>
          </div>
          {entries.length > 1 ? (
            <details className="evidence">
              <summary>Earlier edits ({entries.length - 1})</summary>
              <ol className="evidence__list undo__list">
                {entries.slice(1, 20).map((entry) => (
                  <li key={entry.id}>
                    {entry.label} <span className="muted">· <Time iso={entry.createdAt} /></span>
                  </li>
                ))}
              </ol>
            </details>
          ) : null}
        </>
      )}
      {done ? (
        <p className="ok-line" role="status" data-testid="caption-undo-result">
          Undid “{done.label}”: {plural(done.restored, 'caption')} restored
          {done.removed > 0 ? `, ${plural(done.removed, 'caption file')} that the edit had created removed` : ''}.
        </p>
      ) : null}
      <ErrorBanner error={undo.error} onDismiss={undo.clearError} />
    </div>
  );
}
