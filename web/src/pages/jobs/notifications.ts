/**
 * Browser notifications when a job the open studio tab watched ends, on whichever page it shows (the
 * watching lives in JobsProvider, above the pages). The choice is kept in localStorage (it is a preference,
 * not a secret); the browser's own permission is asked only when the user turns it on.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { JobRecord, JobState } from './types.ts';
import { isFinalJob } from './types.ts';

const PREFERENCE_KEY = 'lorasmith.jobs.notify';

export type NotifyPermission = NotificationPermission | 'unsupported';

function permissionNow(): NotifyPermission {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

function storedChoice(): boolean {
  try {
    return window.localStorage.getItem(PREFERENCE_KEY) === 'on';
  } catch {
    return false;
  }
}

function storeChoice(on: boolean): void {
  try {
    if (on) window.localStorage.setItem(PREFERENCE_KEY, 'on');
    else window.localStorage.removeItem(PREFERENCE_KEY);
  } catch {
    // Storage refused (private mode): the choice lasts as long as the page.
  }
}

export interface NotificationChoice {
  permission: NotifyPermission;
  /** On, and the browser allows it. */
  enabled: boolean;
  /** The user's choice, whatever the browser allows. */
  wanted: boolean;
  setWanted: (on: boolean) => Promise<void>;
}

export function useNotificationChoice(): NotificationChoice {
  const [wanted, setWantedState] = useState(storedChoice);
  const [permission, setPermission] = useState<NotifyPermission>(permissionNow);

  const setWanted = useCallback(async (on: boolean) => {
    storeChoice(on);
    setWantedState(on);
    if (on && typeof Notification !== 'undefined' && Notification.permission === 'default') {
      setPermission(await Notification.requestPermission());
    } else {
      setPermission(permissionNow());
    }
  }, []);

  // The same object until something changes: it is shared through context with every page.
  return useMemo(() => ({ permission, enabled: wanted && permission === 'granted', wanted, setWanted }), [permission, wanted, setWanted]);
}

/** What a notification says; none for a cancelled job (someone cancelled or stopped it on purpose). */
function message(job: JobRecord): { title: string; body: string } | null {
  switch (job.state) {
    case 'succeeded':
      return { title: `Training finished: ${job.name}`, body: 'The LoRA was checked and added to the model library.' };
    case 'failed':
      return { title: `Training failed: ${job.name}`, body: job.failure?.message ?? 'See the job for the reason.' };
    case 'interrupted':
      return { title: `Training interrupted: ${job.name}`, body: job.failure?.message ?? 'See the job for the reason.' };
    default:
      return null;
  }
}

/**
 * Notifies once for each job that the app saw queued or running and then saw succeed, fail or be
 * interrupted. Jobs that had already ended when the app first saw them never notify.
 */
export function useJobEndNotifications(jobs: readonly JobRecord[] | undefined, enabled: boolean, onOpen: (id: string) => void): void {
  const seen = useRef(new Map<string, JobState>());
  const latestOpen = useRef(onOpen);
  useEffect(() => {
    latestOpen.current = onOpen;
  });

  useEffect(() => {
    if (jobs === undefined) return;
    for (const job of jobs) {
      const before = seen.current.get(job.id);
      seen.current.set(job.id, job.state);
      if (!enabled || before === undefined || isFinalJob(before) || !isFinalJob(job.state)) continue;
      const said = message(job);
      if (said === null) continue;
      const { title, body } = said;
      const notification = new Notification(title, { body, tag: `lorasmith-job-${job.id}` });
      notification.onclick = () => {
        window.focus();
        latestOpen.current(job.id);
        notification.close();
      };
    }
  }, [jobs, enabled]);
}
