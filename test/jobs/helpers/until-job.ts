/** Wait, through the job service's own updates, until a job satisfies `done` (one helper for the jobs tests). */
import type { JobService, JobUpdate } from '../../../src/jobs/job-service.ts';
import type { JobRecord } from '../../../src/jobs/job-types.ts';

export function untilJob(jobs: JobService, id: string, done: (job: JobRecord) => boolean, timeoutMs = 60_000): Promise<JobRecord> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      void jobs.get(id).then((job) => reject(new Error(`job ${id} still ${job.state}: ${JSON.stringify(job.failure)}`)));
    }, timeoutMs);
    const check = (job: JobRecord) => {
      if (!done(job)) return;
      clearTimeout(timer);
      off();
      resolve(job);
    };
    const off = jobs.subscribe(id, (update: JobUpdate) => {
      if (update.type === 'job') check(update.job);
    });
    void jobs.get(id).then(check);
  });
}

export const ended = (job: JobRecord): boolean => ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(job.state);
