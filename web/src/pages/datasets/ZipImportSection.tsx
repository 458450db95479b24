import { useRef, useState, type FormEvent } from 'react';
import { Refusal } from '../../components/Refusal.tsx';
import { Section } from '../../components/Section.tsx';
import { UploadProgress, type UploadState } from '../../components/UploadProgress.tsx';
import { useFollowedTask } from '../../hooks/useFollowedTask.ts';
import { useTaskUpload } from '../../hooks/useTaskUpload.ts';
import type { TaskRecord } from '../../types.ts';
import { datasetNameFromFile } from './labels.ts';
import { TaskPanel } from './TaskPanel.tsx';
import type { ImportReport } from './types.ts';

const UPLOAD_MESSAGES: Record<UploadState['state'], string> = {
  sending: 'Uploading — keep this page open until the upload finishes; the import then runs in the studio.',
  done: 'Uploaded.',
  cancelled: 'Upload cancelled — nothing was created.',
  failed: 'Upload failed — see below.',
};

const PHASES: Record<string, string> = {
  checking: 'Checking every entry of the archive before anything is extracted.',
  extracting: 'Extracting the images and captions.',
  images: 'Checking and storing the images, and making thumbnails.',
};

interface Failure {
  dataset: string;
  file: string;
  phase: 'upload' | 'import';
  state: TaskRecord['state'] | null;
  code: string;
  message: string;
  hint: string | null;
}

function reportOf(task: TaskRecord): ImportReport | null {
  const result = task.result;
  if (typeof result !== 'object' || result === null || !('report' in result)) return null;
  const report = (result as { report: unknown }).report;
  if (typeof report !== 'object' || report === null) return null;
  const r = report as Partial<ImportReport>;
  return typeof r.dataset === 'string' && Array.isArray(r.images) && Array.isArray(r.skipped) && Array.isArray(r.subsets)
    ? (report as ImportReport)
    : null;
}

function failureTitle(failure: Failure): string {
  if (failure.state === 'cancelled') return 'Import cancelled';
  if (failure.state === 'interrupted') return 'Import interrupted';
  if (failure.phase === 'upload') return 'Upload failed';
  if (failure.code.startsWith('archive.')) return 'Refused: the archive is not safe to extract';
  if (failure.code === 'dataset-import-empty') return 'Nothing to import';
  if (failure.code === 'dataset-exists') return 'That dataset name is taken';
  return 'Import failed';
}

interface Props {
  /** Called once when an import started here succeeds, with the new dataset's name and the import's report. */
  onImported: (dataset: string, report: ImportReport | null) => void;
  /** A new import started: the page drops the previous report. */
  onStarted: () => void;
}

/** A zip of kohya-style subset folders becomes a new dataset; the report says what was left out and why. */
export function ZipImportSection({ onImported, onStarted }: Props) {
  const form = useRef<HTMLFormElement>(null);
  const { upload, send, cancel } = useTaskUpload();
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [nameEdited, setNameEdited] = useState(false);
  const [failure, setFailure] = useState<Failure | null>(null);
  const target = useRef({ dataset: '', file: '' });

  const followed = useFollowedTask((task) => {
    const { dataset, file: fileName } = target.current;
    if (task.state === 'succeeded') {
      const report = reportOf(task);
      onImported(report?.dataset ?? dataset, report);
      return;
    }
    setFailure({
      dataset,
      file: fileName,
      phase: 'import',
      state: task.state,
      code: task.error?.code ?? task.state,
      message: task.error?.message ?? `The import was ${task.state}.`,
      hint: task.error?.hint ?? null,
    });
  });

  const uploading = upload?.state === 'sending';
  const busy = uploading || followed.following;

  const start = async (chosen: File, dataset: string) => {
    target.current = { dataset, file: chosen.name };
    setFailure(null);
    onStarted();
    followed.reset();
    const outcome = await send({ file: chosen, kind: 'zip', target: { dataset }, noTaskMessage: 'The studio took the archive but did not start an import task.' });
    form.current?.reset();
    setFile(null);
    setName('');
    setNameEdited(false);
    if (outcome === null) return;
    if ('taskId' in outcome) followed.follow(outcome.taskId);
    else setFailure({ dataset, file: chosen.name, phase: 'upload', state: null, code: outcome.error.code, message: outcome.error.message, hint: outcome.error.hint });
  };

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (file && name.trim() !== '' && !busy) void start(file, name.trim());
  };

  return (
    <Section
      id="dataset-import"
      title="Import a zip"
      description={
        <>
          One folder per subset, named the kohya way (<code>10_sks dog/</code> = 10 repeats, class “sks dog”), with a{' '}
          <code>.txt</code> caption beside each image. Every entry is checked before anything is extracted.
        </>
      }
    >
      <form ref={form} className="form-grid" onSubmit={onSubmit} aria-label="Import a zip archive as a new dataset">
        <label htmlFor="dataset-zip-input" className="label">
          Archive
        </label>
        <input
          id="dataset-zip-input"
          type="file"
          className="file-input"
          accept=".zip,application/zip"
          disabled={busy}
          onChange={(event) => {
            const chosen = event.currentTarget.files?.[0] ?? null;
            setFile(chosen);
            if (chosen && !nameEdited) setName(datasetNameFromFile(chosen.name));
          }}
          data-testid="dataset-zip-input"
        />
        <label htmlFor="dataset-zip-name" className="label">
          New dataset
        </label>
        <input
          id="dataset-zip-name"
          className="input input--mono"
          value={name}
          disabled={busy}
          onChange={(event) => {
            setName(event.target.value);
            setNameEdited(true);
          }}
          placeholder="named after the archive"
          autoComplete="off"
          spellCheck={false}
          maxLength={64}
          data-testid="dataset-zip-name"
        />
        <span />
        <button type="submit" className="button form-grid__submit" disabled={file === null || name.trim() === '' || busy} data-testid="dataset-zip-import">
          {uploading ? 'Uploading…' : followed.following ? 'Importing…' : 'Import zip'}
        </button>
      </form>

      {upload ? (
        <UploadProgress
          upload={upload}
          messages={UPLOAD_MESSAGES}
          onCancel={cancel}
          testId="dataset-zip-upload"
          cancelTestId="dataset-zip-upload-cancel"
        />
      ) : null}

      {followed.taskId ? (
        <TaskPanel
          taskId={followed.taskId}
          task={followed.task}
          title={`Import into ${target.current.dataset}`}
          stepText={(detail) => PHASES[detail] ?? detail}
          testId="dataset-import-task"
        />
      ) : null}

      {failure ? (
        <Refusal
          title={failureTitle(failure)}
          subject="Archive"
          name={failure.file}
          code={failure.code}
          phase={failure.phase}
          message={failure.message}
          hint={failure.hint}
          note={
            <>
              Nothing was created: no dataset <span className="mono">{failure.dataset}</span> was added, and no existing
              dataset was changed.
            </>
          }
          onDismiss={() => setFailure(null)}
          testId="dataset-import-error"
        />
      ) : null}
    </Section>
  );
}
