import { useCallback, useState } from 'react';
import { MissingNotice } from '../components/MissingNotice.tsx';
import { useStudioEvent } from '../events.tsx';
import { useJson } from '../hooks/useJson.ts';
import { readQueryParam, writeQueryParam } from '../queryParam.ts';
import { isFinalState } from '../types.ts';
import { DatasetDetail } from './datasets/DatasetDetail.tsx';
import { DatasetListSection } from './datasets/DatasetListSection.tsx';
import { ImportReportView } from './datasets/ImportReportView.tsx';
import type { DatasetSummary, ImportReport } from './datasets/types.ts';
import { ZipImportSection } from './datasets/ZipImportSection.tsx';

const PARAM = 'dataset';

/** The selected dataset lives in `?dataset=<name>`. */
const selectionFromUrl = (): string | null => readQueryParam(PARAM);

const DATASET_TASKS = new Set(['dataset-import', 'dataset-tag']);

export function DatasetsPage() {
  const { data, error, reload, setData } = useJson<{ datasets: DatasetSummary[] }>('/api/datasets');
  const [selected, setSelected] = useState<string | null>(selectionFromUrl);
  const [reveal, setReveal] = useState(false);
  // The last zip import's report, shown across the page until dismissed or another import starts.
  const [report, setReport] = useState<ImportReport | null>(null);

  // Imports and tagging started anywhere (the CLI, another tab) change counts and captions.
  useStudioEvent('task', (task) => {
    if (DATASET_TASKS.has(task.kind) && isFinalState(task.state)) reload();
  });

  const select = useCallback((name: string | null, { reveal: show = true } = {}) => {
    setSelected(name);
    setReveal(show && name !== null);
    writeQueryParam(PARAM, name);
  }, []);

  /** A dataset the server just answered with (created, renamed, edited) replaces the list's copy. */
  const upsert = useCallback(
    (summary: DatasetSummary, previousName: string = summary.name) => {
      setData((current) => {
        if (!current) return current;
        const others = current.datasets.filter((d) => d.name !== previousName && d.name !== summary.name);
        return { datasets: [...others, summary].sort((a, b) => a.name.localeCompare(b.name)) };
      });
    },
    [setData],
  );

  const onCreated = useCallback(
    (summary: DatasetSummary) => {
      upsert(summary);
      select(summary.name);
      reload();
    },
    [upsert, select, reload],
  );

  const onImported = useCallback(
    (name: string, imported: ImportReport | null) => {
      setReport(imported);
      select(name, { reveal: false });
      reload();
    },
    [select, reload],
  );

  const onRenamed = (previous: string, summary: DatasetSummary) => {
    upsert(summary, previous);
    select(summary.name, { reveal: false });
    reload();
  };

  const onDeleted = (name: string) => {
    setData((current) => current && { datasets: current.datasets.filter((d) => d.name !== name) });
    select(null);
    reload();
  };

  const datasets = data?.datasets;
  const summary = selected === null ? null : (datasets?.find((d) => d.name === selected) ?? null);

  return (
    <div className="page page--wide" data-testid="page-datasets">
      <h1 className="page__title" tabIndex={-1}>
        Datasets
      </h1>
      <div className="stack">
        <div className="datasets-top">
          <DatasetListSection
            datasets={datasets}
            error={error}
            reload={reload}
            selected={selected}
            onSelect={(name) => select(name)}
            onCreated={onCreated}
          />
          <ZipImportSection onImported={onImported} onStarted={() => setReport(null)} />
        </div>
        {report ? <ImportReportView report={report} onDismiss={() => setReport(null)} /> : null}
        {summary ? (
          <DatasetDetail
            key={summary.name}
            summary={summary}
            reveal={reveal}
            onClose={() => select(null)}
            onChanged={(next) => upsert(next)}
            onRenamed={onRenamed}
            onDeleted={onDeleted}
            reloadList={reload}
          />
        ) : selected !== null && datasets !== undefined ? (
          <MissingNotice title={`There is no dataset named “${selected}”.`} onDismiss={() => select(null)} testId="dataset-missing">
            It may have been renamed or deleted. Select another one from the list.
          </MissingNotice>
        ) : null}
      </div>
    </div>
  );
}
