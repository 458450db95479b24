import { useEffect, useRef, useState, type FormEvent } from 'react';
import { toApiError } from '../../api.ts';
import { RichText } from '../../components/RichText.tsx';
import { Section } from '../../components/Section.tsx';
import { UploadProgress, type UploadState } from '../../components/UploadProgress.tsx';
import { useFollowedTask } from '../../hooks/useFollowedTask.ts';
import { useSession } from '../../session.tsx';
import type { TaskRecord } from '../../types.ts';
import { uploadFile } from '../../upload.ts';
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

function taskIdOf(result: unknown): string | null {
  if (typeof result !== 'object' || result === null || !('taskId' in result)) return null;
  const id = (result as { taskId: unknown }).taskId;
  return typeof id === 'string' && id !== '' ? id : null;
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
  const { csrfToken } = useSession();
  const form = useRef<HTMLFormElement>(null);
  const controller = useRef<AbortController | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [nameEdited, setNameEdited] = useState(false);
  const [upload, setUpload] = useState<UploadState | null>(null);
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

  useEffect(() => () => controller.current?.abort(), []);

  const start = async (chosen: File, dataset: string) => {
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    target.current = { dataset, file: chosen.name };
    setFailure(null);
    onStarted();
    followed.reset();
    setUpload({ name: chosen.name, sent: 0, total: chosen.size, state: 'sending' });
    try {
      const result = await uploadFile({
        file: chosen,
        kind: 'zip',
        target: { dataset },
        csrfToken,
        signal: abort.signal,
        onProgress: (sent, total) => setUpload((current) => current && { ...current, sent, total }),
      });
      setUpload((current) => current && { ...current, sent: current.total, state: 'done' });
      const id = taskIdOf(result);
      if (id === null) throw new Error('The studio took the archive but did not start an import task.');
      followed.follow(id);
    } catch (cause) {
      if (abort.signal.aborted) {
        setUpload((current) => current && { ...current, state: 'cancelled' });
        return;
      }
      const error = toApiError(cause);
      setUpload((current) => current && { ...current, state: 'failed' });
      setFailure({ dataset, file: chosen.name, phase: 'upload', state: null, code: error.code, message: error.message, hint: error.hint });
    } finally {
      if (controller.current === abort) controller.current = null;
      form.current?.reset();
      setFile(null);
      setName('');
      setNameEdited(false);
    }
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
          onCancel={() => controller.current?.abort()}
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
        <div className="refusal" role="alert" data-testid="dataset-import-error" data-code={failure.code} data-phase={failure.phase}>
          <div className="refusal__body">
            <p className="refusal__title">{failureTitle(failure)}</p>
            <p className="refusal__file">
              <span className="muted">Archive </span>
              <span className="mono">{failure.file}</span>
            </p>
            <p className="refusal__message">
              <RichText text={failure.message} />
            </p>
            {failure.hint ? (
              <p className="refusal__hint">
                <RichText text={failure.hint} />
              </p>
            ) : null}
            <p className="refusal__note">
              Nothing was created: no dataset <span className="mono">{failure.dataset}</span> was added, and no existing
              dataset was changed.
            </p>
          </div>
          <button type="button" className="button button--small button--ghost" onClick={() => setFailure(null)} data-testid="dataset-import-error-dismiss">
            Dismiss
          </button>
        </div>
      ) : null}
    </Section>
  );
}
