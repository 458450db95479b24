import { useCallback, useRef, useState, type KeyboardEvent } from 'react';
import { MissingNotice } from '../components/MissingNotice.tsx';
import { useStudioEvent } from '../events.tsx';
import { useJson } from '../hooks/useJson.ts';
import { readQueryParam, writeQueryParam } from '../queryParam.ts';
import type { ModelRecord } from '../types.ts';
import { FindTab } from './models/FindTab.tsx';
import { ImportSection } from './models/ImportSection.tsx';
import { LibrarySection } from './models/LibrarySection.tsx';
import { ModelDetail } from './models/ModelDetail.tsx';

const PARAM = 'model';
const TAB_PARAM = 'tab';

type Tab = 'library' | 'find';
const TABS: Array<{ id: Tab; label: string }> = [
  { id: 'library', label: 'Library' },
  { id: 'find', label: 'Find' },
];

/** The open tab lives in `?tab=find` (the library is the default and leaves no parameter). */
const tabFromUrl = (): Tab => (readQueryParam(TAB_PARAM) === 'find' ? 'find' : 'library');

/** The selected model lives in `?model=<id>`. */
const selectionFromUrl = (): string | null => readQueryParam(PARAM);

export function ModelsPage() {
  const { data, error, reload, setData } = useJson<{ models: ModelRecord[] }>('/api/models');
  const [selectedId, setSelectedId] = useState<string | null>(selectionFromUrl);
  const [reveal, setReveal] = useState(false);
  // The entry an import just produced, shown until the refreshed list holds it too.
  const [imported, setImported] = useState<ModelRecord | null>(null);

  const [tab, setTab] = useState<Tab>(tabFromUrl);
  // The Find tab stays mounted once opened, so its search and downloads survive a look at the library.
  const [findOpened, setFindOpened] = useState(tab === 'find');
  const tabRefs = useRef(new Map<Tab, HTMLButtonElement>());

  // Imports and pulls started anywhere (the CLI, another tab) show up as soon as they finish.
  useStudioEvent('task', (task) => {
    if ((task.kind === 'model-import' || task.kind === 'pull') && task.state === 'succeeded') reload();
  });

  const openTab = useCallback((next: Tab, { focus = false } = {}) => {
    setTab(next);
    if (next === 'find') setFindOpened(true);
    writeQueryParam(TAB_PARAM, next === 'library' ? null : next);
    if (focus) tabRefs.current.get(next)?.focus();
  }, []);

  const onTabKey = (event: KeyboardEvent<HTMLButtonElement>) => {
    const index = TABS.findIndex((t) => t.id === tab);
    let next: number | null = null;
    if (event.key === 'ArrowRight') next = (index + 1) % TABS.length;
    else if (event.key === 'ArrowLeft') next = (index - 1 + TABS.length) % TABS.length;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = TABS.length - 1;
    if (next === null) return;
    event.preventDefault();
    openTab((TABS[next] as { id: Tab }).id, { focus: true });
  };

  const select = useCallback((id: string | null, { reveal: show = true } = {}) => {
    setSelectedId(id);
    setReveal(show && id !== null);
    writeQueryParam(PARAM, id);
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

  const onChanged = useCallback(
    (model: ModelRecord) => {
      setData((current) => current && { models: current.models.map((m) => (m.id === model.id ? model : m)) });
      setImported((current) => (current?.id === model.id ? model : current));
    },
    [setData],
  );

  const onDeleted = (id: string) => {
    setData((current) => current && { models: current.models.filter((m) => m.id !== id) });
    if (imported?.id === id) setImported(null);
    select(null);
    reload();
  };

  const onOpenModel = useCallback(
    (id: string) => {
      openTab('library');
      select(id);
      reload();
    },
    [openTab, select, reload],
  );

  const models = data?.models;
  const selected =
    selectedId === null ? null : (models?.find((m) => m.id === selectedId) ?? (imported?.id === selectedId ? imported : null));

  return (
    <div className="page" data-testid="page-models">
      <h1 className="page__title" tabIndex={-1}>
        Models
      </h1>
      <div className="tabs" role="tablist" aria-label="Models">
        {TABS.map((t) => (
          <button
            key={t.id}
            ref={(element) => {
              if (element) tabRefs.current.set(t.id, element);
              else tabRefs.current.delete(t.id);
            }}
            type="button"
            role="tab"
            id={`models-tab-${t.id}-button`}
            className="tabs__tab"
            aria-selected={tab === t.id}
            aria-controls={`models-panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => openTab(t.id)}
            onKeyDown={onTabKey}
            data-testid={`models-tab-${t.id}`}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div className="stack" role="tabpanel" id="models-panel-library" aria-labelledby="models-tab-library-button" hidden={tab !== 'library'} data-testid="models-panel-library">
        <ImportSection onImported={onImported} />
        <LibrarySection models={models} error={error} reload={reload} selectedId={selectedId} onSelect={(id) => select(id)} />
        {selected ? (
          <ModelDetail key={selected.id} model={selected} reveal={reveal} onClose={() => select(null)} onDeleted={onDeleted} onChanged={onChanged} />
        ) : selectedId !== null && models !== undefined ? (
          <MissingNotice title="That model is not in the library." onDismiss={() => select(null)} testId="model-missing">
            It may have been deleted. Select another one from the list.
          </MissingNotice>
        ) : null}
      </div>
      {findOpened ? (
        <div role="tabpanel" id="models-panel-find" aria-labelledby="models-tab-find-button" hidden={tab !== 'find'} data-testid="models-panel-find">
          <FindTab onOpenModel={onOpenModel} />
        </div>
      ) : null}
    </div>
  );
}
