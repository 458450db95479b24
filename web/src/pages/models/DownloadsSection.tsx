import { useState } from 'react';
import { api, apiPath, toApiError } from '../../api.ts';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { RichText } from '../../components/RichText.tsx';
import { Section } from '../../components/Section.tsx';
import { Time } from '../../components/Time.tsx';
import { formatBytes } from '../../format.ts';
import { useAction } from '../../hooks/useAction.ts';
import type { SecretName } from '../../types.ts';
import {
  civitaiModelUrl,
  downloadState,
  hfRepoUrl,
  isActive,
  parseSource,
  pullParams,
  pullResult,
  shortRevision,
  STATE_BADGE,
  STATE_LABELS,
  type DownloadState,
  type PullResult,
  type PullTask,
  type Resolution,
} from './hub.ts';
import { HubLink, TokenNote, type TokenState } from './HubLink.tsx';
import type { Downloads } from './useDownloads.ts';

const SHOWN = 8;

const STEPS: Array<{ id: DownloadState; label: string }> = [
  { id: 'fetching', label: 'Fetch' },
  { id: 'verifying', label: 'Verify' },
  { id: 'scanning', label: 'Scan' },
  { id: 'converting', label: 'Convert' },
  { id: 'stored', label: 'Store' },
];

const STEP_TEXT: Partial<Record<DownloadState, string>> = {
  queued: 'Waiting for a download slot.',
  fetching: 'Downloading into quarantine — nothing is loaded while it arrives.',
  verifying: 'Checking the bytes against the digest the provider lists.',
  scanning: 'Scanning the file as data — none of its code runs.',
  converting: 'Converting the checkpoint to safetensors.',
};

const FAILURE_TITLES: Record<string, string> = {
  integrity: 'Refused: the bytes do not match the provider’s digest',
  size: 'Refused: the size does not match what the provider lists',
  'redirect-refused': 'Refused: the download was redirected to a host the studio does not allow',
  unsafe: 'Refused: the file is not safe to load',
  invalid: 'Refused: not a valid model file',
  unsupported: 'Refused: this kind of file is not supported',
  'auth-required': 'A login is needed',
  gated: 'Gated model: the licence must be accepted first',
  forbidden: 'Access refused by the hub',
  'not-found': 'Not found on the hub',
  gone: 'Removed from the hub',
  'rate-limited': 'The hub is rate limiting this studio',
  network: 'Network failure',
  'disk-full': 'Not enough disk space',
  'invalid-source': 'The source was refused',
  cancelled: 'Pull cancelled',
};

function SourceLabel({ task }: { task: PullTask }) {
  const params = pullParams(task);
  const source = params.source ?? '';
  const parsed = parseSource(source);
  const result = pullResult(task);
  if (parsed.type === 'hf') {
    const folder = parsed.path === '' || parsed.path.endsWith('/');
    return (
      <span className="download__source">
        <span className="download__provider">Hugging Face</span>
        <span className="mono table__wrap">{parsed.repo}</span>
        <span className="mono muted table__wrap">
          {folder ? `${parsed.path === '' ? '/' : parsed.path} (folder)` : parsed.path} @ {shortRevision(parsed.revision)}
        </span>
        {params.include && params.include.length > 0 ? <span className="mono muted table__wrap">include {params.include.join(', ')}</span> : null}
      </span>
    );
  }
  if (parsed.type === 'civitai') {
    return (
      <span className="download__source">
        <span className="download__provider">Civitai</span>
        <span className="mono table__wrap">{result?.civitaiFile?.name ?? (parsed.fileId === null ? 'primary file' : `file ${parsed.fileId}`)}</span>
        <span className="mono muted">
          version {parsed.versionId}
          {parsed.fileId !== null && result?.civitaiFile ? ` · file ${parsed.fileId}` : ''}
        </span>
      </span>
    );
  }
  return (
    <span className="download__source">
      <span className="mono table__wrap">{source === '' ? 'unknown source' : source}</span>
    </span>
  );
}

/** The pipeline's steps while a pull runs (a failed pull reports only `failed`, not where it stopped). */
function PullSteps({ state }: { state: DownloadState }) {
  const at = STEPS.findIndex((step) => step.id === state);
  return (
    <ol className="steps steps--compact" aria-label="Pull steps">
      {STEPS.map((step, index) => {
        const s = at !== -1 && index < at ? 'done' : index === at ? 'current' : 'todo';
        return (
          <li key={step.id} className={`steps__item steps__item--${s}`} aria-current={s === 'current' ? 'step' : undefined}>
            <span className="steps__mark" aria-hidden="true">
              {s === 'done' ? '✓' : index + 1}
            </span>
            {step.label}
          </li>
        );
      })}
    </ol>
  );
}

function percent(done: number, total: number): string {
  return total <= 0 ? '100%' : `${Math.min(100, Math.floor((done / total) * 100))}%`;
}

function PullProgress({ task, state }: { task: PullTask; state: DownloadState }) {
  const { done, total, message } = task.progress;
  const active = isActive(state);
  const known = total !== null && total > 0;
  const barState = state === 'stored' ? 'succeeded' : state === 'failed' ? 'failed' : state === 'cancelled' || state === 'discarded' ? 'cancelled' : task.state;
  const label = known ? `${formatBytes(done)} / ${formatBytes(total)} · ${percent(done, total)}` : done > 0 ? formatBytes(done) : null;
  return (
    <div className="progress">
      <progress
        className={`progress__bar progress__bar--${barState}`}
        max={known ? total : active ? undefined : 1}
        value={known ? Math.min(done, total) : active ? undefined : state === 'stored' ? 1 : 0}
        aria-label="Download progress"
        aria-valuetext={label ?? STATE_LABELS[state]}
        data-testid={`download-progress-${task.id}`}
        data-done={done}
        data-total={total ?? ''}
      />
      {label ? <span className="progress__label nowrap">{label}</span> : null}
      {message && active ? (
        <span className="progress__message muted mono table__wrap" data-testid={`download-message-${task.id}`}>
          {message}
        </span>
      ) : null}
    </div>
  );
}

function FileFacts({ result }: { result: PullResult }) {
  if (result.files.length === 0) return null;
  return (
    <ul className="download__files">
      {result.files.map((file) => (
        <li key={`${file.name}:${file.sha256}`} className="download__file">
          {/* A file of a multi-file pull is named by its path in the repository. */}
          <span className="mono table__wrap">{result.files.length > 1 ? file.from : file.name}</span>
          <span className="muted nowrap">{formatBytes(file.size)}</span>
          <span className="download__hash">
            <span className="muted">SHA-256 </span>
            <code className="hash">{file.sha256}</code>
          </span>
        </li>
      ))}
    </ul>
  );
}

function licenceUrl(task: PullTask, civitaiModels: ReadonlyMap<string, number>): string | null {
  const parsed = parseSource(pullParams(task).source ?? '');
  if (parsed.type === 'hf') return hfRepoUrl(parsed.repo);
  if (parsed.type === 'civitai') {
    const modelId = civitaiModels.get(parsed.versionId);
    return modelId === undefined ? null : civitaiModelUrl(modelId, Number(parsed.versionId));
  }
  return null;
}

/** The address a hub message names (e.g. the gated file), when it carries one. */
function urlInText(text: string): string | null {
  const match = /https?:\/\/[^\s"'<>()]+/.exec(text);
  return match ? match[0].replace(/[.,;:]+$/, '') : null;
}

function Failure({ task, tokens, civitaiModels }: { task: PullTask; tokens: TokenState; civitaiModels: ReadonlyMap<string, number> }) {
  const error = task.error;
  const code = error?.code ?? task.state;
  const parsed = parseSource(pullParams(task).source ?? '');
  const hub: SecretName | null = parsed.type === 'hf' ? 'hf' : parsed.type === 'civitai' ? 'civitai' : null;
  const needsAccess = code === 'gated' || code === 'auth-required' || code === 'forbidden';
  const licence = code === 'gated' ? (licenceUrl(task, civitaiModels) ?? urlInText(error?.message ?? '')) : null;
  const title = task.state === 'cancelled' ? 'Pull cancelled' : task.state === 'interrupted' ? 'Pull interrupted' : (FAILURE_TITLES[code] ?? 'Pull failed');
  const quiet = task.state === 'cancelled';
  return (
    <div className={quiet ? 'download__note' : 'refusal refusal--compact'} role={quiet ? undefined : 'alert'} data-testid={`download-error-${task.id}`} data-code={code}>
      <div className="refusal__body">
        <p className={quiet ? 'download__note-title' : 'refusal__title'}>{title}</p>
        {error ? (
          <p className="refusal__message">
            <RichText text={error.message} />
          </p>
        ) : null}
        {error?.hint ? (
          <p className="refusal__hint">
            <RichText text={error.hint} />
          </p>
        ) : null}
        {licence !== null ? (
          <p className="refusal__hint" data-testid={`download-licence-${task.id}`}>
            Accept the licence on the model’s page, signed in with the account whose token the studio holds:{' '}
            <HubLink url={licence} />
          </p>
        ) : null}
        {needsAccess && hub !== null && tokens.present[hub] === false ? <TokenNote hub={hub} /> : null}
        {task.state === 'interrupted' ? null : <p className="refusal__note">Nothing from this pull entered the library.</p>}
      </div>
    </div>
  );
}

function Awaiting({ task, result, resolution, confirmation, onResolve, onStarted }: {
  task: PullTask;
  result: PullResult | null;
  resolution: Resolution | undefined;
  confirmation: string | undefined;
  onResolve: (resolution: Resolution) => void;
  onStarted: (task: PullTask) => void;
}) {
  const notPending = (code: string) => code === 'not-awaiting-confirmation';
  const confirm = useAction(async () => {
    try {
      onStarted(await api.post<PullTask>(apiPath('/api/pulls', task.id, '/confirm'), {}));
      onResolve('confirmed');
    } catch (cause) {
      if (notPending(toApiError(cause).code)) onResolve('gone');
      throw cause;
    }
  });
  const discard = useAction(async () => {
    try {
      await api.post(apiPath('/api/pulls', task.id, '/discard'), {});
      onResolve('discarded');
    } catch (cause) {
      if (notPending(toApiError(cause).code)) onResolve('gone');
      throw cause;
    }
  });

  if (resolution === 'confirmed') {
    return (
      <p className="download__resolved" data-testid={`download-resolved-${task.id}`}>
        Confirmed — the files are being imported, marked <strong>unverified</strong>
        {confirmation ? (
          <>
            {' '}
            (follow-up <span className="mono">{confirmation.slice(0, 8)}</span>, listed above)
          </>
        ) : null}
        .
      </p>
    );
  }
  if (resolution === 'discarded' || resolution === 'gone') {
    return (
      <p className="download__resolved muted" data-testid={`download-resolved-${task.id}`}>
        {resolution === 'discarded' ? 'Discarded — the downloaded files were deleted from quarantine.' : 'Nothing waits for confirmation any more (it was confirmed or discarded elsewhere).'}
      </p>
    );
  }
  const busy = confirm.pending || discard.pending;
  return (
    <div className="notice notice--warn" data-testid={`download-awaiting-${task.id}`}>
      <p className="notice__title">Downloaded, but its integrity could not be checked</p>
      <p>
        {result?.pendingReason ?? 'The provider lists no SHA-256 for this download.'} The bytes are held in quarantine and have
        not entered the library.
      </p>
      {result ? <FileFacts result={result} /> : null}
      <p className="muted">
        If the publisher gives a SHA-256 elsewhere, compare it with the one above. <strong>Confirm</strong> imports the files marked
        unverified — they are still scanned (and converted) like every file. <strong>Discard</strong> deletes them.
      </p>
      <div className="download__actions">
        <button type="button" className="button button--small" onClick={() => void confirm.run()} disabled={busy} data-testid={`download-confirm-${task.id}`}>
          {confirm.pending ? 'Confirming…' : 'Confirm and import'}
        </button>
        <button
          type="button"
          className="button button--small button--danger-outline"
          onClick={() => void discard.run()}
          disabled={busy}
          data-testid={`download-discard-${task.id}`}
        >
          {discard.pending ? 'Discarding…' : 'Discard'}
        </button>
      </div>
      <ErrorBanner error={confirm.error ?? discard.error} onDismiss={() => {
          confirm.clearError();
          discard.clearError();
        }} />
    </div>
  );
}

function Stored({ result, onOpenModel }: { result: PullResult; onOpenModel: (id: string) => void }) {
  return (
    <div className="download__stored">
      <p className="ok-line">
        {result.files.length > 1 ? `Stored ${result.files.length} files in the library as one entry` : 'Stored in the library'}
        {result.verified ? `, ${result.files.length > 1 ? 'each ' : ''}verified against the provider’s digest.` : ' — marked unverified (confirmed by you).'}
      </p>
      <ul className="download__models">
        {result.models.map((model) => (
          <li key={model.id}>
            <button type="button" className="link-button mono table__wrap" onClick={() => onOpenModel(model.id)}>
              {model.name}
            </button>
            {result.duplicates.includes(model.id) ? <span className="muted"> — already in the library; nothing new stored</span> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

function DownloadItem({ task, downloads, tokens, civitaiModels, onOpenModel }: {
  task: PullTask;
  downloads: Downloads;
  tokens: TokenState;
  civitaiModels: ReadonlyMap<string, number>;
  onOpenModel: (id: string) => void;
}) {
  const resolution = downloads.resolutions.get(task.id);
  const state = downloadState(task, resolution);
  const result = pullResult(task);
  const params = pullParams(task);
  const cancel = useAction(async () => {
    downloads.upsert(await api.post<PullTask>(apiPath('/api/tasks', task.id, '/cancel'), {}));
  });
  const active = isActive(state);
  return (
    <li className={`download download--${state}`} data-testid={`download-${task.id}`} data-state={task.state} data-detail={task.detail ?? ''}>
      <div className="download__head">
        <span className={`badge ${STATE_BADGE[state]}`} data-testid={`download-badge-${task.id}`} data-shown-state={state}>
          {STATE_LABELS[state]}
        </span>
        {params.confirms ? <span className="badge badge--neutral">confirmation</span> : null}
        <SourceLabel task={task} />
        <span className="download__time muted">
          <Time iso={task.createdAt} />
        </span>
        {active ? (
          <button
            type="button"
            className="button button--small button--danger-outline"
            onClick={() => void cancel.run()}
            disabled={cancel.pending}
            data-testid={`download-cancel-${task.id}`}
          >
            {cancel.pending ? 'Cancelling…' : 'Cancel'}
          </button>
        ) : null}
      </div>
      {active ? (
        <>
          <PullSteps state={state} />
          {STEP_TEXT[state] ? <p className="muted download__step">{STEP_TEXT[state]}</p> : null}
          <PullProgress task={task} state={state} />
        </>
      ) : (state === 'failed' || state === 'cancelled' || state === 'interrupted') && task.progress.done > 0 ? (
        <PullProgress task={task} state={state} />
      ) : null}
      {state === 'failed' || state === 'cancelled' || state === 'interrupted' ? <Failure task={task} tokens={tokens} civitaiModels={civitaiModels} /> : null}
      {state === 'awaiting-confirmation' || state === 'confirmed' || state === 'discarded' ? (
        <Awaiting
          task={task}
          result={result}
          resolution={resolution}
          confirmation={downloads.confirmations.get(task.id)}
          onResolve={(r) => downloads.resolve(task.id, r)}
          onStarted={downloads.upsert}
        />
      ) : null}
      {state === 'stored' && result ? <Stored result={result} onOpenModel={onOpenModel} /> : null}
      <ErrorBanner error={cancel.error} onDismiss={cancel.clearError} />
    </li>
  );
}

interface Props {
  downloads: Downloads;
  tokens: TokenState;
  /** Civitai version id → model id, for the pulls started from this page (the licence link). */
  civitaiModels: ReadonlyMap<string, number>;
  onOpenModel: (id: string) => void;
}

/** Every pull of the studio (started here, in another tab or from the CLI), with live progress. */
export function DownloadsSection({ downloads, tokens, civitaiModels, onOpenModel }: Props) {
  const { tasks, error, reload } = downloads;
  const [showAll, setShowAll] = useState(false);
  // Older finished pulls fold away; running ones and those waiting for a decision always show.
  const shown = (tasks ?? []).filter((task, index) => {
    if (showAll || index < SHOWN) return true;
    const state = downloadState(task, downloads.resolutions.get(task.id));
    return isActive(state) || state === 'awaiting-confirmation';
  });
  const hidden = (tasks?.length ?? 0) - shown.length;
  const running = (tasks ?? []).filter((t) => t.state === 'queued' || t.state === 'running').length;
  return (
    <Section
      id="model-downloads"
      title="Downloads"
      description="Pulls go to quarantine first: each file is checked against the provider’s SHA-256 (or git blob id), scanned, converted when needed, and only then stored in the library."
      actions={
        tasks && tasks.length > 0 ? (
          <span className="muted nowrap" data-testid="downloads-count">
            {running > 0 ? `${running} running · ` : ''}
            {tasks.length} {tasks.length === 1 ? 'pull' : 'pulls'}
          </span>
        ) : null
      }
      testId="downloads"
    >
      <ErrorBanner error={error} onRetry={reload} />
      {tasks === undefined ? (
        error ? null : <Loading />
      ) : tasks.length === 0 ? (
        <p className="muted" data-testid="downloads-empty">
          No pulls yet. Pick a model above and press Pull on a file; pulls started from the CLI (<code>lorasmith pull</code>) show up
          here too.
        </p>
      ) : (
        <>
          <ul className="downloads">
            {shown.map((task) => (
              <DownloadItem key={task.id} task={task} downloads={downloads} tokens={tokens} civitaiModels={civitaiModels} onOpenModel={onOpenModel} />
            ))}
          </ul>
          {hidden > 0 || (showAll && tasks.length > SHOWN) ? (
            <button type="button" className="button button--small button--ghost downloads__more" onClick={() => setShowAll(!showAll)} data-testid="downloads-more">
              {showAll ? 'Show only the latest' : `Show ${hidden} older ${hidden === 1 ? 'pull' : 'pulls'}`}
            </button>
          ) : null}
        </>
      )}
    </Section>
  );
}

