import { useState, type FormEvent } from 'react';
import { api } from '../../api.ts';
import { ACTIONS, DataTable } from '../../components/DataTable.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { TextField } from '../../components/TextField.tsx';
import { formatCount } from '../../format.ts';
import { useAction } from '../../hooks/useAction.ts';
import { datasetPath } from './paths.ts';
import type { DatasetSummary, SubsetSummary } from './types.ts';

interface Props {
  summary: DatasetSummary;
  locked: string | null;
  onChanged: (summary: DatasetSummary) => void;
}

interface SubsetEdit {
  repeats?: number;
  classTokens?: string;
  isReg?: boolean;
}

function SubsetRow({ dataset, subset, locked, onChanged }: { dataset: string; subset: SubsetSummary; locked: boolean; onChanged: (summary: DatasetSummary) => void }) {
  const [repeats, setRepeats] = useState(String(subset.repeats));
  const [classTokens, setClassTokens] = useState(subset.classTokens);
  const [isReg, setIsReg] = useState(subset.isReg);
  const save = useAction(async (edit: SubsetEdit) => {
    onChanged(await api.put<DatasetSummary>(datasetPath(dataset, 'subsets', subset.name), edit));
  });

  const repeatsNumber = Number(repeats);
  const repeatsValid = /^\d+$/.test(repeats.trim()) && repeatsNumber >= 1;
  const edit: SubsetEdit = {};
  if (repeatsValid && repeatsNumber !== subset.repeats) edit.repeats = repeatsNumber;
  if (classTokens !== subset.classTokens) edit.classTokens = classTokens;
  if (isReg !== subset.isReg) edit.isReg = isReg;
  const dirty = Object.keys(edit).length > 0;
  const id = (field: string) => `subset-${field}-${subset.name}`;

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (dirty && repeatsValid && !save.pending) void save.run(edit);
  };

  return (
    <tr data-testid={`subset-row-${subset.name}`}>
      <th scope="row" className="subsets__name">
        <span className="mono table__wrap">{subset.name}</span>
      </th>
      <td className="num">{formatCount(subset.imageCount)}</td>
      <td>
        <form id={id('form')} onSubmit={onSubmit} aria-label={`Settings of subset ${subset.name}`} />
        <label className="visually-hidden" htmlFor={id('repeats')}>
          Repeats of {subset.name}
        </label>
        <input
          id={id('repeats')}
          form={id('form')}
          className="input input--number"
          type="number"
          min={1}
          step={1}
          value={repeats}
          onChange={(event) => setRepeats(event.target.value)}
          disabled={locked}
          aria-invalid={!repeatsValid}
          data-testid={`subset-repeats-${subset.name}`}
        />
      </td>
      <td>
        <label className="visually-hidden" htmlFor={id('class')}>
          Class tokens of {subset.name}
        </label>
        <input
          id={id('class')}
          form={id('form')}
          className="input subsets__class"
          value={classTokens}
          onChange={(event) => setClassTokens(event.target.value)}
          placeholder="none"
          disabled={locked}
          autoComplete="off"
          spellCheck={false}
          data-testid={`subset-class-${subset.name}`}
        />
      </td>
      <td>
        <label className="checkbox">
          <input
            type="checkbox"
            form={id('form')}
            checked={isReg}
            onChange={(event) => setIsReg(event.target.checked)}
            disabled={locked}
            data-testid={`subset-reg-${subset.name}`}
          />
          <span className="visually-hidden">{subset.name} holds </span>regularisation
        </label>
      </td>
      <td className="mono muted">{subset.captionExtension}</td>
      <td className="table__actions">
        <button type="submit" form={id('form')} className="button button--small" disabled={!dirty || !repeatsValid || save.pending || locked} data-testid={`subset-save-${subset.name}`}>
          {save.pending ? 'Saving…' : 'Save'}
        </button>
        {save.error ? (
          <div className="subsets__error">
            <ErrorBanner error={save.error} onDismiss={save.clearError} />
          </div>
        ) : null}
      </td>
    </tr>
  );
}

function AddSubset({ dataset, locked, onChanged }: { dataset: string; locked: boolean; onChanged: (summary: DatasetSummary) => void }) {
  const [name, setName] = useState('');
  const [repeats, setRepeats] = useState('1');
  const add = useAction(async (subset: string, count: number) => {
    onChanged(await api.put<DatasetSummary>(datasetPath(dataset, 'subsets', subset), { repeats: count }));
    setName('');
    setRepeats('1');
  });
  const count = Number(repeats);
  const valid = name.trim() !== '' && Number.isInteger(count) && count >= 1;
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (valid && !add.pending) void add.run(name.trim(), count);
  };
  return (
    <>
      <form className="inline-form" onSubmit={onSubmit} aria-label="Add a subset">
        <TextField
          id="subset-add-name"
          label="Add a subset"
          labelClassName="label"
          className="input"
          value={name}
          onChange={setName}
          placeholder="e.g. sks dog"
          disabled={locked}
          maxLength={100}
          testId="subset-add-name"
        />
        <label htmlFor="subset-add-repeats" className="muted">
          repeats
        </label>
        <input
          id="subset-add-repeats"
          className="input input--number"
          type="number"
          min={1}
          step={1}
          value={repeats}
          onChange={(event) => setRepeats(event.target.value)}
          disabled={locked}
          data-testid="subset-add-repeats"
        />
        <button type="submit" className="button button--small button--ghost" disabled={!valid || add.pending || locked} data-testid="subset-add">
          Add subset
        </button>
      </form>
      <ErrorBanner error={add.error} onDismiss={add.clearError} />
    </>
  );
}

/** kohya's per-folder settings: how often each subset repeats, its class tokens, and whether it is regularisation. */
export function SubsetsTable({ summary, locked, onChanged }: Props) {
  const isLocked = locked !== null;
  return (
    <div className="subsection subsection--first" data-testid="subsets">
      <h3 className="subsection__title">Subsets</h3>
      {summary.subsets.length === 0 ? (
        <p className="muted">No subsets yet: add one below, then add images to it.</p>
      ) : (
        <DataTable
          columns={['Subset', { label: 'Images', className: 'num' }, 'Repeats', 'Class tokens', 'Kind', 'Captions', ACTIONS]}
          className="table--subsets"
        >
          {summary.subsets.map((subset) => (
            // A new answer from the studio resets the row's fields.
            <SubsetRow
              key={`${subset.name}\u0000${subset.repeats}\u0000${subset.classTokens}\u0000${subset.isReg}`}
              dataset={summary.name}
              subset={subset}
              locked={isLocked}
              onChanged={onChanged}
            />
          ))}
        </DataTable>
      )}
      <AddSubset dataset={summary.name} locked={isLocked} onChanged={onChanged} />
    </div>
  );
}
