import { useCallback, useState } from 'react';
import { useStudioEvent } from '../events.tsx';
import { useJson } from '../hooks/useJson.ts';
import type { ModelRecord } from '../types.ts';
import { ImportSection } from './models/ImportSection.tsx';
import { LibrarySection } from './models/LibrarySection.tsx';
import { ModelDetail } from './models/ModelDetail.tsx';

const PARAM = 'model';

/** The selected model lives in `?model=<id>`, so a reload or a shared link opens the same one. */
function selectionFromUrl(): string | null {
  const id = new URLSearchParams(window.location.search).get(PARAM);
  return id === null || id === '' ? null : id;
}

function writeSelection(id: string | null): void {
  const url = new URL(window.location.href);
  if (id === null) url.searchParams.delete(PARAM);
  else url.searchParams.set(PARAM, id);
  window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
}

export function ModelsPage() {
  const { data, error, reload, setData } = useJson<{ models: ModelRecord[] }>('/api/models');
  const [selectedId, setSelectedId] = useState<string | null>(selectionFromUrl);
  const [reveal, setReveal] = useState(false);
  // The entry an import just produced, shown until the refreshed list holds it too.
  const [imported, setImported] = useState<ModelRecord | null>(null);

  // Imports started anywhere (the CLI, another tab) show up as soon as they finish.
  useStudioEvent('task', (task) => {
    if (task.kind === 'model-import' && task.state === 'succeeded') reload();
  });

  const select = useCallback((id: string | null, { reveal: show = true } = {}) => {
    setSelectedId(id);
    setReveal(show && id !== null);
    writeSelection(id);
  }, []);

  const onImported = useCallback(
    (model: ModelRecord) => {
      setImported(model);
      // Selected without scrolling away from the import's own report, which points down to it.
      select(model.id, { reveal: false });
      reload();
    },
    [reload, select],
  );

  const onDeleted = (id: string) => {
    setData((current) => current && { models: current.models.filter((m) => m.id !== id) });
    if (imported?.id === id) setImported(null);
    select(null);
    reload();
  };

  const models = data?.models;
  const selected =
    selectedId === null ? null : (models?.find((m) => m.id === selectedId) ?? (imported?.id === selectedId ? imported : null));

  return (
    <div className="page" data-testid="page-models">
      <h1 className="page__title" tabIndex={-1}>
        Models
      </h1>
      <div className="stack">
        <ImportSection onImported={onImported} />
        <LibrarySection models={models} error={error} reload={reload} selectedId={selectedId} onSelect={(id) => select(id)} />
        {selected ? (
          <ModelDetail key={selected.id} model={selected} reveal={reveal} onClose={() => select(null)} onDeleted={onDeleted} />
        ) : selectedId !== null && models !== undefined ? (
          <div className="notice" role="status" data-testid="model-missing">
            <p className="notice__title">That model is not in the library.</p>
            <p>It may have been deleted. Select another one from the list.</p>
            <button type="button" className="button button--small button--ghost notice__action" onClick={() => select(null)}>
              Dismiss
            </button>
          </div>
        ) : null}
      </div>
    </div>
  );
}
