import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../api.ts';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { RichText } from '../../components/RichText.tsx';
import { Section } from '../../components/Section.tsx';
import { Time } from '../../components/Time.tsx';
import { useAction } from '../../hooks/useAction.ts';
import { ImageUploadForm } from './ImageUploadForm.tsx';
import { plural } from './labels.ts';
import { datasetPath } from './paths.ts';
import { SubsetsTable } from './SubsetsTable.tsx';
import type { DatasetSummary } from './types.ts';

interface Props {
  summary: DatasetSummary;
  /** Scroll the card to the top and focus its heading (it opened on a click), once the dataset has loaded. */
  reveal: boolean;
  ready: boolean;
  onClose: () => void;
  onChanged: (summary: DatasetSummary) => void;
  onRenamed: (previous: string, summary: DatasetSummary) => void;
  onDeleted: (name: string) => void;
  onImagesChanged: () => void;
}

function RenameForm({ name, onRenamed, onCancel }: { name: string; onRenamed: (summary: DatasetSummary) => void; onCancel: () => void }) {
  const [value, setValue] = useState(name);
  const rename = useAction(async (next: string) => {
    onRenamed(await api.patch<DatasetSummary>(datasetPath(name), { name: next }));
  });
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const next = value.trim();
    if (next !== '' && next !== name && !rename.pending) void rename.run(next);
  };
  return (
    <>
      <form className="inline-form" onSubmit={onSubmit} aria-label={`Rename ${name}`}>
        <label htmlFor="dataset-rename-name" className="label">
          New name
        </label>
        <input
          id="dataset-rename-name"
          className="input input--mono"
          value={value}
          onChange={(event) => setValue(event.target.value)}
          autoComplete="off"
          spellCheck={false}
          maxLength={64}
          autoFocus
          data-testid="dataset-rename-name"
        />
        <button type="submit" className="button button--small" disabled={rename.pending || value.trim() === '' || value.trim() === name} data-testid="dataset-rename-save">
          {rename.pending ? 'Renaming…' : 'Rename'}
        </button>
        <button type="button" className="button button--small button--ghost" onClick={onCancel}>
          Cancel
        </button>
      </form>
      <ErrorBanner error={rename.error} onDismiss={rename.clearError} />
    </>
  );
}

/** The selected dataset's card: name, counts, rename and delete, subsets, and adding images. */
export function DatasetHeader({ summary, reveal, ready, onClose, onChanged, onRenamed, onDeleted, onImagesChanged }: Props) {
  const [renaming, setRenaming] = useState(false);
  const remove = useAction(async () => {
    await api.delete(datasetPath(summary.name));
    onDeleted(summary.name);
  });

  useEffect(() => {
    if (!reveal || !ready) return;
    document.getElementById('dataset-detail')?.scrollIntoView({ block: 'start' });
    document.getElementById('dataset-detail-heading')?.focus({ preventScroll: true });
  }, [reveal, ready, summary.name]);

  const locked = summary.locked;
  return (
    <Section
      id="dataset-detail"
      testId="dataset-detail"
      focusableHeading
      title={summary.name}
      description={
        <>
          {plural(summary.imageCount, 'image')} · {plural(summary.subsets.length, 'subset')} · created <Time iso={summary.createdAt} />
        </>
      }
      actions={
        <>
          <button
            type="button"
            className="button button--small button--ghost"
            onClick={() => setRenaming((r) => !r)}
            disabled={locked !== null}
            aria-expanded={renaming}
            data-testid="dataset-rename"
          >
            Rename
          </button>
          <ConfirmButton
            label="Delete"
            question={`Delete ${summary.name} and all its images?`}
            onConfirm={() => void remove.run()}
            disabled={remove.pending || locked !== null}
            testId="dataset-delete"
          />
          <button type="button" className="button button--small button--ghost" onClick={onClose} data-testid="dataset-detail-close">
            Close
          </button>
        </>
      }
    >
      {locked ? (
        <div className="notice notice--warn" role="status" data-testid="dataset-locked">
          <p className="notice__title">Edits are paused for this dataset.</p>
          <p>
            <RichText text={locked} />
          </p>
        </div>
      ) : null}
      {renaming ? (
        <RenameForm
          name={summary.name}
          onCancel={() => setRenaming(false)}
          onRenamed={(next) => {
            setRenaming(false);
            onRenamed(summary.name, next);
          }}
        />
      ) : null}
      <ErrorBanner error={remove.error} onDismiss={remove.clearError} />
      <SubsetsTable summary={summary} locked={locked} onChanged={onChanged} />
      <ImageUploadForm summary={summary} locked={locked} onUploaded={onImagesChanged} />
    </Section>
  );
}
