import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { Time } from '../../components/Time.tsx';
import { formatDuration, percentDone } from './jobFormat.ts';
import { JobStateBadge } from './JobStateBadge.tsx';
import { ACTIVE_JOB_STATES, isFinalJob, type JobRecord } from './types.ts';

interface Props {
  jobs: JobRecord[];
  selectedId: string | null;
  busy: boolean;
  onSelect: (id: string) => void;
  onMove: (job: JobRecord, position: number) => void;
  onCancel: (job: JobRecord) => void;
}

function JobButton({ job, selected, onSelect }: { job: JobRecord; selected: boolean; onSelect: (id: string) => void }) {
  const percent = percentDone(job);
  return (
    <button
      type="button"
      className={selected ? 'job-item__main job-item__main--selected' : 'job-item__main'}
      aria-current={selected ? 'true' : undefined}
      onClick={() => onSelect(job.id)}
      data-testid={`job-item-${job.name}`}
    >
      <span className="job-item__head">
        <span className="job-item__name">{job.name}</span>
        <JobStateBadge state={job.state} />
      </span>
      <span className="job-item__meta muted">
        {job.family} · {job.datasets.join(', ')}
        {job.resumedFrom !== null ? ' · resumed' : ''}
        {ACTIVE_JOB_STATES.has(job.state) && percent !== null ? ` · ${percent} %` : ''}
        {job.state === 'running' && job.progress.remainingS !== null ? ` · ${formatDuration(job.progress.remainingS)} left` : ''}
      </span>
      {ACTIVE_JOB_STATES.has(job.state) ? (
        <progress
          className={`progress__bar job-item__bar progress__bar--${job.state}`}
          max={job.progress.total ?? undefined}
          value={job.progress.total === null ? undefined : Math.min(job.progress.step, job.progress.total)}
          aria-label={`Progress of ${job.name}`}
        />
      ) : (
        <span className="job-item__time muted">
          <Time iso={job.finishedAt ?? job.createdAt} />
        </span>
      )}
    </button>
  );
}

/** The queue in its order (move, cancel), then what runs now, then what ended, newest first. */
export function JobList({ jobs, selectedId, busy, onSelect, onMove, onCancel }: Props) {
  const queued = jobs.filter((job) => job.state === 'queued').sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
  const active = jobs.filter((job) => ACTIVE_JOB_STATES.has(job.state));
  const ended = jobs.filter((job) => isFinalJob(job.state));

  return (
    <div className="job-lists">
      <div className="subsection subsection--first" data-testid="jobs-active">
        <h3 className="subsection__title">
          Running <span className="subsection__count">{active.length}</span>
        </h3>
        {active.length === 0 ? <p className="muted">No job is running.</p> : null}
        <ul className="job-items">
          {active.map((job) => (
            <li key={job.id} className="job-item">
              <JobButton job={job} selected={job.id === selectedId} onSelect={onSelect} />
            </li>
          ))}
        </ul>
      </div>

      <div className="subsection" data-testid="jobs-queue">
        <h3 className="subsection__title">
          Queue <span className="subsection__count">{queued.length}</span>
        </h3>
        {queued.length === 0 ? <p className="muted">Nothing is waiting.</p> : null}
        <ol className="job-items">
          {queued.map((job, index) => (
            <li key={job.id} className="job-item" data-testid={`queued-${job.name}`} data-position={job.position ?? ''}>
              <JobButton job={job} selected={job.id === selectedId} onSelect={onSelect} />
              <span className="job-item__actions">
                <span className="job-item__position num" aria-label={`Place ${job.position ?? index + 1} in the queue`}>
                  #{job.position ?? index + 1}
                </span>
                <button
                  type="button"
                  className="button button--small button--ghost"
                  onClick={() => onMove(job, (job.position ?? index + 1) - 1)}
                  disabled={busy || index === 0}
                  aria-label={`Move ${job.name} up`}
                  data-testid={`move-up-${job.name}`}
                >
                  ↑
                </button>
                <button
                  type="button"
                  className="button button--small button--ghost"
                  onClick={() => onMove(job, (job.position ?? index + 1) + 1)}
                  disabled={busy || index === queued.length - 1}
                  aria-label={`Move ${job.name} down`}
                  data-testid={`move-down-${job.name}`}
                >
                  ↓
                </button>
                <ConfirmButton label="Cancel" question={`Cancel ${job.name}?`} confirmLabel="Cancel job" onConfirm={() => onCancel(job)} disabled={busy} testId={`cancel-${job.name}`} />
              </span>
            </li>
          ))}
        </ol>
      </div>

      <div className="subsection" data-testid="jobs-ended">
        <h3 className="subsection__title">
          Ended <span className="subsection__count">{ended.length}</span>
        </h3>
        {ended.length === 0 ? <p className="muted">No job has ended yet.</p> : null}
        <ul className="job-items">
          {ended.map((job) => (
            <li key={job.id} className="job-item">
              <JobButton job={job} selected={job.id === selectedId} onSelect={onSelect} />
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
