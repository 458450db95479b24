import { useState } from 'react';
import { toApiError, type ApiError } from '../../api.ts';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { NavLink } from '../../components/NavLink.tsx';
import { RichText } from '../../components/RichText.tsx';
import { Section } from '../../components/Section.tsx';
import { Time } from '../../components/Time.tsx';
import { openTrainWith } from '../train/trainDraft.ts';
import type { JsonObject } from '../train/types.ts';
import { CheckpointList } from './CheckpointList.tsx';
import { deviceLabel, formatDuration, formatLoss, formatSpeed, percentDone } from './jobFormat.ts';
import { jobsApi } from './jobsApi.ts';
import { JobStateBadge } from './JobStateBadge.tsx';
import { LogViewer } from './LogViewer.tsx';
import { RunCharts } from './RunCharts.tsx';
import { SampleGallery } from './SampleGallery.tsx';
import { StopDialog } from './StopDialog.tsx';
import { ACTIVE_JOB_STATES, RESUMABLE_JOB_STATES, isFinalJob, type JobRecord, type StopResult } from './types.ts';
import { useJobFeed } from './useJobFeed.ts';

interface Props {
  job: JobRecord;
  /** Changes when the run announces a sample or a saved file. */
  filesTick: number;
  onSelect: (id: string) => void;
  onChanged: (job: JobRecord) => void;
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="job-stat">
      <dt className="job-stat__label">{label}</dt>
      <dd className="job-stat__value num" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

function elapsed(job: JobRecord): number | null {
  if (job.startedAt === null) return null;
  const end = job.finishedAt === null ? Date.now() : Date.parse(job.finishedAt);
  return Math.max(0, (end - Date.parse(job.startedAt)) / 1000);
}

function ProgressBlock({ job }: { job: JobRecord }) {
  const { progress } = job;
  const percent = percentDone(job);
  const label = progress.total === null ? `step ${progress.step}` : `${progress.step} / ${progress.total} steps`;
  return (
    <div className="job-progress">
      <div className="progress">
        <progress
          className={`progress__bar progress__bar--${job.state}`}
          max={progress.total ?? undefined}
          value={progress.total === null ? (job.state === 'queued' ? 0 : undefined) : Math.min(progress.step, progress.total)}
          aria-label={`Progress of ${job.name}`}
          aria-valuetext={label}
          data-testid="job-progress"
          data-step={progress.step}
          data-total={progress.total ?? ''}
        />
        <span className="progress__label" data-testid="job-progress-label">
          {percent === null ? label : `${percent} %`}
        </span>
        <span className="progress__message muted">{percent === null ? null : label}</span>
      </div>
      <dl className="job-stats">
        <Stat label="Phase" value={progress.phase ?? (job.state === 'queued' ? 'waiting' : '—')} testId="job-phase" />
        <Stat label="Epoch" value={progress.epoch === null ? '—' : `${progress.epoch}${progress.epochs === null ? '' : ` / ${progress.epochs}`}`} testId="job-epoch" />
        <Stat label="Speed" value={formatSpeed(progress.itPerSec)} testId="job-speed" />
        <Stat label="Time left" value={isFinalJob(job.state) ? '—' : formatDuration(progress.remainingS)} testId="job-eta" />
        <Stat label="Loss" value={formatLoss(progress.loss)} testId="job-loss" />
        <Stat label="Elapsed" value={formatDuration(elapsed(job))} testId="job-elapsed" />
      </dl>
    </div>
  );
}

function FailureBlock({ job }: { job: JobRecord }) {
  const failure = job.failure;
  if (failure === null) return null;
  const stopped = job.state === 'cancelled';
  return (
    <div className={stopped ? 'notice job-failure' : 'refusal job-failure'} role={stopped ? 'status' : 'alert'} data-testid="job-failure" data-code={failure.code}>
      <p className="refusal__title">
        <span className="badge badge--neutral mono">{failure.code}</span> <RichText text={failure.message} />
      </p>
      {failure.hint ? (
        <p className="refusal__hint">
          <RichText text={failure.hint} />
        </p>
      ) : null}
      {failure.lastLines && failure.lastLines.length > 0 ? (
        <details className="job-failure__lines">
          <summary>The log’s last {failure.lastLines.length} lines</summary>
          <pre className="log-viewer__text log-viewer__text--short">{failure.lastLines.join('\n')}</pre>
        </details>
      ) : null}
    </div>
  );
}

/** One job: what it is doing, its curves, samples, saved files and log, and what can be done with it. */
export function JobDetail({ job, filesTick, onSelect, onChanged }: Props) {
  const feed = useJobFeed(job, filesTick);
  const [stopOpen, setStopOpen] = useState(false);
  const [pending, setPending] = useState<'stop' | 'resume' | 'cancel' | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [stopped, setStopped] = useState<StopResult | null>(null);

  const active = ACTIVE_JOB_STATES.has(job.state);
  const live = active;
  const canStop = job.state === 'starting' || job.state === 'running';
  const canResume = RESUMABLE_JOB_STATES.has(job.state) && job.resumable;
  const lastSave = feed.checkpoints.at(-1)?.name ?? null;

  const act = async (kind: 'stop' | 'resume' | 'cancel') => {
    setPending(kind);
    setError(null);
    try {
      if (kind === 'stop') {
        const result = await jobsApi.stop(job.id);
        setStopped(result);
        onChanged(result.job);
        setStopOpen(false);
      } else if (kind === 'cancel') {
        onChanged(await jobsApi.cancel(job.id));
      } else {
        const next = await jobsApi.resume(job.id);
        onChanged(next);
        onSelect(next.id);
      }
    } catch (cause) {
      setError(toApiError(cause));
      setStopOpen(false);
    } finally {
      setPending(null);
    }
  };

  const cloneAndEdit = () =>
    openTrainWith({ config: job.config as JsonObject, note: `The settings of job “${job.name}” (${job.id.slice(0, 8)}) filled the form: change what you want, then start it as a new run.` });

  return (
    <div className="stack job-detail" data-testid="job-detail" data-job-id={job.id} data-state={job.state}>
      <section className="card" aria-labelledby="job-heading">
        <header className="card__header">
          <div>
            <h2 id="job-heading" className="card__title job-detail__title" tabIndex={-1}>
              {job.name} <JobStateBadge state={job.state} testId="job-state" />
            </h2>
            <p className="card__description">
              {job.engine} · {job.family} · {job.datasets.join(', ')} · {deviceLabel(job)}
              {job.position !== null ? ` · place ${job.position} in the queue` : ''}
            </p>
          </div>
          <div className="card__actions">
            {canStop ? (
              <button type="button" className="button button--small button--danger-outline" onClick={() => setStopOpen(true)} disabled={pending !== null} data-testid="job-stop">
                Stop…
              </button>
            ) : null}
            {job.state === 'queued' ? (
              <ConfirmButton label="Cancel" question={`Cancel ${job.name}?`} confirmLabel="Cancel job" onConfirm={() => void act('cancel')} disabled={pending !== null} testId="job-cancel" />
            ) : null}
            {canResume ? (
              <button type="button" className="button button--small" onClick={() => void act('resume')} disabled={pending !== null} data-testid="job-resume">
                {pending === 'resume' ? 'Resuming…' : 'Resume'}
              </button>
            ) : null}
            <button type="button" className="button button--small button--ghost" onClick={cloneAndEdit} data-testid="job-clone">
              Clone and edit
            </button>
          </div>
        </header>
        <ErrorBanner error={error} onDismiss={() => setError(null)} />
        {job.state === 'stopping' || stopped !== null ? (
          <p className="notice" role="status" data-testid="job-stop-note">
            {stopped?.note ?? 'Stopping: the engine is asked to end, then terminated.'}
            {stopped !== null && stopped.lastSave.checkpoint !== null ? (
              <>
                {' '}
                Kept: <code>{stopped.lastSave.checkpoint}</code>
                {stopped.lastSave.state !== null ? (
                  <>
                    {' '}
                    and the state <code>{stopped.lastSave.state}</code>
                  </>
                ) : null}
                .
              </>
            ) : null}
          </p>
        ) : null}
        <ProgressBlock job={job} />
        <FailureBlock job={job} />
        <dl className="facts job-facts">
          <dt>Job</dt>
          <dd className="mono" data-testid="job-id">
            {job.id}
          </dd>
          {job.resumedFrom !== null ? (
            <>
              <dt>Resumes</dt>
              <dd>
                <button type="button" className="link-button mono" onClick={() => onSelect(job.resumedFrom as string)}>
                  {job.resumedFrom}
                </button>
              </dd>
            </>
          ) : null}
          <dt>Created</dt>
          <dd>
            <Time iso={job.createdAt} withSeconds />
            {job.startedAt !== null ? (
              <>
                {' · started '}
                <Time iso={job.startedAt} withSeconds />
              </>
            ) : null}
            {job.finishedAt !== null ? (
              <>
                {' · ended '}
                <Time iso={job.finishedAt} withSeconds />
              </>
            ) : null}
          </dd>
          <dt>Sandbox</dt>
          <dd>{job.sandbox ?? (job.state === 'queued' ? 'chosen at start' : '—')}</dd>
          <dt>Seed</dt>
          <dd>{job.seed}</dd>
          {job.outputModelId !== null ? (
            <>
              <dt>Output</dt>
              <dd>
                <NavLink to={`/models?model=${encodeURIComponent(job.outputModelId)}`} testId="job-output-link">
                  Open the LoRA in the library
                </NavLink>
              </dd>
            </>
          ) : null}
        </dl>
      </section>

      <Section id="job-curves" title="Training curves" description="Loss and learning rate per step, from the run’s TensorBoard files." testId="job-curves">
        <RunCharts jobId={job.id} live={live} />
      </Section>

      <Section id="job-samples" title="Samples" description="Images the engine generated from the run’s sample prompts, by epoch." testId="job-samples">
        <SampleGallery jobId={job.id} samples={feed.samples.samples} skipped={feed.samples.skipped} />
      </Section>

      <Section
        id="job-checkpoints"
        title="Saved files"
        description="Per-epoch files stay with the run; promote the one you like into the model library. The final file is added when the run succeeds."
        testId="job-checkpoints"
      >
        <CheckpointList jobId={job.id} checkpoints={feed.checkpoints} />
      </Section>

      <Section id="job-log" title="Log" testId="job-log-section">
        <ErrorBanner error={feed.error} />
        <LogViewer lines={feed.lines} live={!isFinalJob(job.state)} />
      </Section>

      <StopDialog job={job} open={stopOpen} lastSave={lastSave} pending={pending === 'stop'} onClose={() => setStopOpen(false)} onStop={() => void act('stop')} />
    </div>
  );
}
