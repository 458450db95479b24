import { useState, type FormEvent } from 'react';
import { api, type ApiError } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Section } from '../../components/Section.tsx';
import { SelectableRow } from '../../components/SelectableRow.tsx';
import { Time } from '../../components/Time.tsx';
import { formatCount } from '../../format.ts';
import { useAction } from '../../hooks/useAction.ts';
import { plural } from './labels.ts';
import type { DatasetSummary } from './types.ts';

interface Props {
  datasets: DatasetSummary[] | undefined;
  error: ApiError | null;
  reload: () => void;
  selected: string | null;
  onSelect: (name: string) => void;
  onCreated: (summary: DatasetSummary) => void;
}

function CreateForm({ onCreated }: { onCreated: (summary: DatasetSummary) => void }) {
  const [name, setName] = useState('');
  const create = useAction(async (value: string) => {
    const summary = await api.post<DatasetSummary>('/api/datasets', { name: value });
    setName('');
    onCreated(summary);
  });
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (name.trim() !== '' && !create.pending) void create.run(name.trim());
  };
  return (
    <>
      <form className="inline-form" onSubmit={onSubmit} aria-label="Create an empty dataset">
        <label htmlFor="dataset-create-name" className="label">
          New dataset
        </label>
        <input
          id="dataset-create-name"
          className="input input--mono"
          value={name}
          onChange={(event) => setName(event.target.value)}
          placeholder="e.g. my-dog-v2"
          autoComplete="off"
          spellCheck={false}
          maxLength={64}
          data-testid="dataset-create-name"
        />
        <button type="submit" className="button" disabled={name.trim() === '' || create.pending} data-testid="dataset-create">
          {create.pending ? 'Creating…' : 'Create'}
        </button>
      </form>
      <ErrorBanner error={create.error} onDismiss={create.clearError} />
    </>
  );
}

function SubsetChips({ dataset }: { dataset: DatasetSummary }) {
  if (dataset.subsets.length === 0) return <span className="muted">none yet</span>;
  return (
    <ul className="subset-chips">
      {dataset.subsets.map((subset) => (
        <li key={subset.name} className="subset-chips__item" title={`${subset.name}: ${subset.imageCount} images, ${subset.repeats} repeats`}>
          <span className="subset-chips__name">{subset.name}</span>
          <span className="muted">×{subset.repeats}</span>
          {subset.isReg ? <span className="badge badge--neutral">reg</span> : null}
        </li>
      ))}
    </ul>
  );
}

/** Every dataset in the workspace; a row opens it below. */
export function DatasetListSection({ datasets, error, reload, selected, onSelect, onCreated }: Props) {
  return (
    <Section
      id="dataset-list"
      title="Datasets"
      description="Folders of images and caption files, laid out the way kohya reads them: one folder per subset."
      actions={
        datasets && datasets.length > 0 ? (
          <span className="muted nowrap" data-testid="datasets-count">
            {plural(datasets.length, 'dataset')}
          </span>
        ) : null
      }
    >
      <CreateForm onCreated={onCreated} />
      <ErrorBanner error={error} onRetry={reload} />
      <div data-testid="datasets-list">
        {datasets === undefined ? (
          error ? null : <Loading />
        ) : datasets.length === 0 ? (
          <div className="empty empty--inset" data-testid="datasets-empty">
            <p className="empty__line">No datasets yet.</p>
            <p>
              Create an empty one above and add images to it, or import a zip of kohya-style folders (<code>10_sks dog/</code>).
            </p>
            <p className="empty__cli">
              From the CLI: <code>lorasmith dataset import SOURCE</code>
            </p>
          </div>
        ) : (
          <div className="table-scroll">
            <table className="table table--datasets">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col" className="num">
                    Images
                  </th>
                  <th scope="col">Subsets</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {datasets.map((dataset) => {
                  const current = dataset.name === selected;
                  return (
                    <SelectableRow
                      key={dataset.name}
                      selected={current}
                      onSelect={() => onSelect(dataset.name)}
                      testId={`dataset-row-${dataset.name}`}
                      nameClassName="datasets__name"
                      name={dataset.name}
                      sub={
                        dataset.locked ? (
                          <div className="table__sub">
                            <span className="badge badge--warn" title={dataset.locked}>
                              in use
                            </span>
                          </div>
                        ) : null
                      }
                    >
                      <td className="num">{formatCount(dataset.imageCount)}</td>
                      <td>
                        <SubsetChips dataset={dataset} />
                      </td>
                      <td className="nowrap">
                        <Time iso={dataset.createdAt} />
                      </td>
                    </SelectableRow>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </Section>
  );
}
