import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, apiPath } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Refusal } from '../../components/Refusal.tsx';
import { Section } from '../../components/Section.tsx';
import { StateBadge } from '../../components/StateBadge.tsx';
import { UploadProgress, type UploadState } from '../../components/UploadProgress.tsx';
import { useStudioEvent } from '../../events.tsx';
import { formatBytes } from '../../format.ts';
import { useAction } from '../../hooks/useAction.ts';
import { useTaskEvents } from '../../hooks/useTaskEvents.ts';
import { useTaskUpload } from '../../hooks/useTaskUpload.ts';
import { laterRecord } from '../../tasks.ts';
import { isFinalState, type ModelRecord, type TaskRecord, type TaskState } from '../../types.ts';

const ACCEPT = '.safetensors,.ckpt,.pt,.pth,.bin,.gguf,.onnx';

const STEPS: Array<{ id: string; label: string }> = [
  { id: 'scanning', label: 'Scan' },
  { id: 'converting', label: 'Convert' },
  { id: 'fingerprinting', label: 'Identify' },
  { id: 'hashing', label: 'Hash' },
  { id: 'storing', label: 'Store' },
];

const STEP_TEXT: Record<string, string> = {
  scanning: 'Scanning the file as data — none of its code runs.',
  converting: 'Converting the checkpoint to safetensors.',
  fingerprinting: 'Working out the model’s kind and family from its tensors.',
  hashing: 'Computing SHA-256 and the AutoV1/AutoV2 hashes.',
  storing: 'Adding the model to the library.',
};

const UPLOAD_MESSAGES: Record<UploadState['state'], string> = {
  sending: 'Uploading — keep this page open until the upload finishes; the import then runs in the studio.',
  done: 'Uploaded.',
  cancelled: 'Upload cancelled — nothing was imported.',
  failed: 'Upload failed — see below.',
};

interface Failure {
  name: string;
  phase: 'upload' | 'import';
  code: string;
  message: string;
  hint: string | null;
  state: TaskState | null;
}

interface Imported {
  model: ModelRecord;
  /** The same bytes were already in the library: nothing new was stored. */
  duplicate: boolean;
}

function importedOf(task: TaskRecord): Imported | null {
  const result = task.result;
  if (typeof result !== 'object' || result === null || !('model' in result)) return null;
  const { model, duplicate } = result as { model: unknown; duplicate?: unknown };
  return typeof model === 'object' && model !== null && typeof (model as { id?: unknown }).id === 'string'
    ? { model: model as ModelRecord, duplicate: duplicate === true }
    : null;
}

function failureTitle(failure: Failure): string {
  if (failure.state === 'cancelled') return 'Import cancelled';
  if (failure.state === 'interrupted') return 'Import interrupted';
  if (failure.phase === 'upload') return 'Upload failed';
  switch (failure.code) {
    case 'unsafe':
      return 'Refused: the file is not safe to load';
    case 'invalid':
      return 'Refused: not a valid model file';
    case 'unsupported':
      return 'Refused: this kind of model file is not supported';
    default:
      return 'Import failed';
  }
}

function ImportSteps({ task }: { task: TaskRecord }) {
  const current = STEPS.findIndex((step) => step.id === task.detail);
  const succeeded = task.state === 'succeeded';
  return (
    <ol className="steps" data-testid="import-steps" data-step={task.detail ?? ''}>
      {STEPS.map((step, index) => {
        const state = succeeded || index < current ? 'done' : index === current ? (isFinalState(task.state) ? 'stopped' : 'current') : 'todo';
        return (
          <li key={step.id} className={`steps__item steps__item--${state}`} aria-current={state === 'current' ? 'step' : undefined}>
            <span className="steps__mark" aria-hidden="true">
              {state === 'done' ? '✓' : state === 'stopped' ? '✕' : index + 1}
            </span>
            {step.label}
          </li>
        );
      })}
    </ol>
  );
}

/** The import reports bytes while it hashes; before that only its step is known. */
function ImportProgress({ task }: { task: TaskRecord }) {
  const { done, total, message } = task.progress;
  const final = isFinalState(task.state);
  const known = total !== null && total > 0;
  const label = !known ? null : message === 'hashing' ? `${formatBytes(done)} / ${formatBytes(total)}` : `${done} / ${total}`;
  return (
    <div className="progress">
      <progress
        className={`progress__bar progress__bar--${task.state}`}
        max={known ? total : final ? 1 : undefined}
        value={known ? Math.min(done, total) : final ? (task.state === 'succeeded' ? 1 : 0) : undefined}
        aria-label="Import progress"
        aria-valuetext={label ?? task.detail ?? task.state}
        data-testid="import-progress"
        data-done={done}
        data-total={total ?? ''}
      />
      {label ? <span className="progress__label">{label}</span> : null}
    </div>
  );
}

function ImportFailure({ failure, onDismiss }: { failure: Failure; onDismiss: () => void }) {
  return (
    <Refusal
      title={failureTitle(failure)}
      subject="File"
      name={failure.name}
      code={failure.code}
      phase={failure.phase}
      message={failure.message}
      hint={failure.hint}
      note={
        <>
          Nothing from this file entered the library.
          {failure.code === 'unsafe' ? ' The file was read as data only; none of its code ran.' : null}
        </>
      }
      onDismiss={onDismiss}
      testId="import-error"
    />
  );
}

interface Props {
  /** Called once when an import started here succeeds, with the new library entry. */
  onImported: (model: ModelRecord) => void;
}

/** Upload a model file in chunks, then follow the studio's import task (scan, convert, identify, hash, store). */
export function ImportSection({ onImported }: Props) {
  const form = useRef<HTMLFormElement>(null);
  const { upload, send, cancel: cancelUpload } = useTaskUpload();
  const [file, setFile] = useState<File | null>(null);
  const [taskId, setTaskId] = useState<string | null>(null);
  const [task, setTask] = useState<TaskRecord | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [imported, setImported] = useState<Imported | null>(null);
  const reported = useRef<string | null>(null);

  const uploading = upload?.state === 'sending';
  const following = taskId !== null && (task === null || !isFinalState(task.state));
  const busy = uploading || following;

  const onRecord = (record: TaskRecord) => {
    if (record.id !== taskId) return;
    setTask((current) => (current === null ? record : laterRecord(current, record)));
  };
  useTaskEvents(following ? taskId : null, onRecord);
  useStudioEvent('task', onRecord);

  useEffect(() => {
    if (task === null || !isFinalState(task.state) || reported.current === task.id) return;
    reported.current = task.id;
    const name = upload?.name ?? 'the file';
    if (task.state === 'succeeded') {
      const result = importedOf(task);
      if (result) {
        setImported(result);
        onImported(result.model);
      } else {
        setFailure({ name, phase: 'import', code: 'client', message: 'The import finished but did not name the new model.', hint: 'Reload the page; the library list shows what the studio holds.', state: null });
      }
      return;
    }
    const error = task.error;
    setFailure({
      name,
      phase: 'import',
      code: error?.code ?? task.state,
      message: error?.message ?? (task.state === 'failed' ? 'The import failed.' : `The import was ${task.state}.`),
      hint: error?.hint ?? null,
      state: task.state,
    });
  }, [task, upload?.name, onImported]);

  const cancel = useAction(async (id: string) => {
    await api.post(apiPath('/api/tasks', id, '/cancel'), {});
  });

  const start = async (chosen: File) => {
    setFailure(null);
    setImported(null);
    setTask(null);
    setTaskId(null);
    const outcome = await send({ file: chosen, kind: 'model', noTaskMessage: 'The studio took the file but did not start an import task.' });
    form.current?.reset();
    setFile(null);
    if (outcome === null) return;
    if ('taskId' in outcome) setTaskId(outcome.taskId);
    else setFailure({ name: chosen.name, phase: 'upload', code: outcome.error.code, message: outcome.error.message, hint: outcome.error.hint, state: null });
  };

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (file && !busy) void start(file);
  };

  return (
    <Section
      id="model-import"
      title="Import a model"
      description={
        <>
          Checkpoints, LoRAs, VAEs, text encoders, embeddings and taggers. PyTorch pickles (<code>.ckpt</code>,{' '}
          <code>.pt</code>, <code>.pth</code>, <code>.bin</code>) are scanned without running any of their code and
          converted to safetensors; a file that fails the scan never enters the library.
        </>
      }
    >
      <form ref={form} className="inline-form" onSubmit={onSubmit} aria-label="Import a model file">
        <label htmlFor="model-upload-input" className="label">
          Model file
        </label>
        <input
          id="model-upload-input"
          type="file"
          className="file-input"
          accept={ACCEPT}
          disabled={busy}
          onChange={(event) => setFile(event.currentTarget.files?.[0] ?? null)}
          data-testid="model-upload-input"
        />
        <button type="submit" className="button" disabled={file === null || busy} data-testid="model-import">
          {uploading ? 'Uploading…' : following ? 'Importing…' : 'Import model'}
        </button>
      </form>

      {upload ? (
        <UploadProgress
          upload={upload}
          messages={UPLOAD_MESSAGES}
          onCancel={cancelUpload}
          testId="upload-progress"
          cancelTestId="upload-cancel"
        />
      ) : null}

      {taskId ? (
        <div className="task-panel" data-testid="import-task" data-task-id={taskId} data-state={task?.state ?? 'queued'}>
          {task ? (
            <>
              <div className="task-panel__head">
                <StateBadge state={task.state} testId="import-state" />
                <span className="import-task__title">Import</span>
                <span className="mono muted">{task.id}</span>
                {!isFinalState(task.state) ? (
                  <button
                    type="button"
                    className="button button--small button--danger-outline task-panel__action"
                    onClick={() => void cancel.run(task.id)}
                    disabled={cancel.pending}
                    data-testid="import-cancel"
                  >
                    Cancel import
                  </button>
                ) : null}
              </div>
              <ImportSteps task={task} />
              {!isFinalState(task.state) && task.detail ? (
                <p className="muted" data-testid="import-step">
                  {STEP_TEXT[task.detail] ?? task.detail}
                </p>
              ) : null}
              <ImportProgress task={task} />
              {task.state === 'succeeded' && imported ? (
                <p className="import-task__done" data-testid="import-done" data-duplicate={imported.duplicate}>
                  <span className="mono">{imported.model.name}</span>
                  {imported.duplicate
                    ? ' was already in the library; nothing new was stored — its details are shown below.'
                    : ' is in the library — its details are shown below.'}
                </p>
              ) : null}
            </>
          ) : (
            <Loading label="Starting the import…" />
          )}
        </div>
      ) : null}

      {failure ? <ImportFailure failure={failure} onDismiss={() => setFailure(null)} /> : null}
      <ErrorBanner error={cancel.error} onDismiss={cancel.clearError} />
    </Section>
  );
}
