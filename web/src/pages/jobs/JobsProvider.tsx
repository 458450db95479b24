/**
 * The studio's jobs, live, for the whole app: one jobs stream opened once the browser is paired, whatever
 * page is shown, so a run that ends while the user is on Datasets or Models still raises its notification.
 * The Jobs page reads the same list and the same notification choice from here rather than opening a
 * second stream (and a second copy of the choice its toggle would change behind the watcher's back).
 */
import { createContext, useCallback, useContext, type ReactNode } from 'react';
import { navigate } from '../../router.ts';
import { useJobEndNotifications, useNotificationChoice, type NotificationChoice } from './notifications.ts';
import { useJobs, type JobsState } from './useJobs.ts';

export const JOBS_PATH = '/jobs';
export const JOB_PARAM = 'job';

/** The Jobs page with `id` open (`?job=<id>`, so a reload or a shared link opens the same one). */
export function jobsPagePath(id: string | null): string {
  return id === null ? JOBS_PATH : `${JOBS_PATH}?${new URLSearchParams({ [JOB_PARAM]: id }).toString()}`;
}

const JobsContext = createContext<JobsState | null>(null);
const NotificationChoiceContext = createContext<NotificationChoice | null>(null);

export function JobsProvider({ children }: { children: ReactNode }) {
  const jobs = useJobs();
  const notify = useNotificationChoice();
  // From another page a click is like following a link (Back returns there); on the Jobs page it only
  // changes the open job, as choosing one in the list does.
  const openJob = useCallback((id: string) => navigate(jobsPagePath(id), { replace: window.location.pathname === JOBS_PATH }), []);
  useJobEndNotifications(jobs.jobs, notify.enabled, openJob);
  return (
    <JobsContext value={jobs}>
      <NotificationChoiceContext value={notify}>{children}</NotificationChoiceContext>
    </JobsContext>
  );
}

export function useStudioJobs(): JobsState {
  const jobs = useContext(JobsContext);
  if (!jobs) throw new Error('useStudioJobs needs a JobsProvider above it');
  return jobs;
}

export function useJobNotificationChoice(): NotificationChoice {
  const choice = useContext(NotificationChoiceContext);
  if (!choice) throw new Error('useJobNotificationChoice needs a JobsProvider above it');
  return choice;
}
