import { useCallback, useEffect, useMemo, useState } from 'react';
import { toApiError, type ApiError } from '../api.ts';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { Loading } from '../components/Loading.tsx';
import { NavLink } from '../components/NavLink.tsx';
import { Section } from '../components/Section.tsx';
import { navigate, useSearchParam } from '../router.ts';
import { GpuStatsPanel } from './jobs/GpuStatsPanel.tsx';
import { JobDetail } from './jobs/JobDetail.tsx';
import { JobList } from './jobs/JobList.tsx';
import { jobsApi } from './jobs/jobsApi.ts';
import { JOB_PARAM, jobsPagePath, useJobNotificationChoice, useStudioJobs } from './jobs/JobsProvider.tsx';
import { NotificationToggle } from './jobs/NotificationToggle.tsx';
import { ACTIVE_JOB_STATES, type JobRecord } from './jobs/types.ts';

export function JobsPage() {
  const { jobs, error, reload, merge, filesTick } = useStudioJobs();
  // The open job lives in the URL, so a notification clicked on any page (or Back) can change it.
  const selectedId = useSearchParam(JOB_PARAM) || null;
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const notify = useJobNotificationChoice();

  const select = useCallback((id: string | null) => navigate(jobsPagePath(id), { replace: true }), []);

  // With nothing chosen, the page opens the job that runs (or else the newest one).
  useEffect(() => {
    if (selectedId !== null || jobs === undefined || jobs.length === 0) return;
    const running = jobs.find((job) => ACTIVE_JOB_STATES.has(job.state));
    select((running ?? jobs[0] as JobRecord).id);
  }, [jobs, selectedId, select]);

  const act = useCallback(
    async (work: () => Promise<JobRecord>) => {
      setBusy(true);
      setActionError(null);
      try {
        merge(await work());
        reload();
      } catch (cause) {
        setActionError(toApiError(cause));
      } finally {
        setBusy(false);
      }
    },
    [merge, reload],
  );

  const selected = useMemo(() => jobs?.find((job) => job.id === selectedId) ?? null, [jobs, selectedId]);
  const activeCount = jobs?.filter((job) => ACTIVE_JOB_STATES.has(job.state)).length ?? 0;

  return (
    <div className="page page--wide" data-testid="page-jobs">
      <h1 className="page__title" tabIndex={-1}>
        Jobs
      </h1>
      <ErrorBanner error={error} onRetry={reload} />
      <div className="jobs-layout">
        <div className="jobs-layout__side stack">
          <Section
            id="jobs-list"
            title="Runs"
            description="Runs take the GPUs in queue order; a run keeps going when this page is closed."
            testId="jobs-list"
          >
            <NotificationToggle choice={notify} />
            <ErrorBanner error={actionError} onDismiss={() => setActionError(null)} />
            {jobs === undefined ? (
              error ? null : <Loading label="Loading jobs…" />
            ) : jobs.length === 0 ? (
              <p className="muted" data-testid="jobs-empty">
                No runs yet. Configure one on the <NavLink to="/train">Train</NavLink> page, or run <code>lorasmith train CONFIG</code>.
              </p>
            ) : (
              <JobList
                jobs={jobs}
                selectedId={selectedId}
                busy={busy}
                onSelect={select}
                onMove={(job, position) => void act(() => jobsApi.move(job.id, position))}
                onCancel={(job) => void act(() => jobsApi.cancel(job.id))}
              />
            )}
          </Section>
          <GpuStatsPanel activeJobs={activeCount} />
        </div>
        <div className="jobs-layout__main">
          {selected !== null ? (
            <JobDetail key={selected.id} job={selected} filesTick={filesTick[selected.id] ?? 0} onSelect={select} onChanged={merge} />
          ) : selectedId !== null && jobs !== undefined ? (
            <p className="empty" data-testid="job-missing">
              There is no job {selectedId} here any more.
            </p>
          ) : null}
        </div>
      </div>
    </div>
  );
}
