/**
 * `pull`: the pull pipeline as a task (DESIGN.md §5). `detail` walks the download states
 * (`fetching → verifying → scanning → converting? → stored`, or `awaiting-confirmation`, or `failed`);
 * progress is in bytes with a rate/ETA message. A pull that ends `awaiting-confirmation` keeps its files
 * in `quarantine/downloads/<task-id>/`; `confirmPull` starts a follow-up `pull` task (params
 * `{ confirms: <task-id> }`) that imports them marked unverified, `discardPull` deletes them.
 */
import { z } from 'zod';
import { LorasmithError } from '../core/errors.ts';
import type { Workspace } from '../core/workspace.ts';
import type { TaskService } from '../tasks/task-service.ts';
import type { TaskKind, TaskRecord } from '../tasks/task-types.ts';
import { confirmPending, discardPending, readPending, runPull, type PullDeps, type PullReporter, type PullResult } from './pull.ts';

export const PULL_TASK_KIND = 'pull';
const MODEL_KINDS = ['checkpoint', 'lora', 'vae', 'text-encoder', 'embedding', 'tagger', 'other'] as const;

export const pullParamsSchema = z
  .object({
    source: z.string().trim().min(1).max(4096),
    kind: z.enum(MODEL_KINDS).optional(),
    include: z.array(z.string().min(1).max(256)).max(32).optional(),
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/).optional(),
    acceptUnverified: z.boolean().optional(),
    /** Set only by `confirmPull`: the task whose quarantined files the user confirmed. */
    confirms: z.string().uuid().optional(),
  })
  .strict()
  .refine((params) => !(params.sha256 !== undefined && params.acceptUnverified === true), { message: 'give either sha256 or acceptUnverified, not both' });
export type PullParams = z.infer<typeof pullParamsSchema>;

export function pullTask(deps: PullDeps, options: { concurrency?: number } = {}): TaskKind<PullParams> {
  return {
    kind: PULL_TASK_KIND,
    params: pullParamsSchema,
    // A download in flight when the studio stopped resumes under the same id (DESIGN.md §5).
    onRestart: 'requeue',
    concurrency: options.concurrency ?? 3,
    async run(params, ctx): Promise<PullResult> {
      const report: PullReporter = {
        detail: (state) => ctx.detail(state),
        progress: (update) => ctx.progress(update),
      };
      if (params.confirms !== undefined) return confirmPending({ deps, taskId: params.confirms, signal: ctx.signal, report });
      return runPull({
        request: {
          source: params.source,
          ...(params.kind === undefined ? {} : { kind: params.kind }),
          ...(params.include === undefined ? {} : { include: params.include }),
          ...(params.sha256 === undefined ? {} : { sha256: params.sha256 }),
          ...(params.acceptUnverified === undefined ? {} : { acceptUnverified: params.acceptUnverified }),
        },
        deps,
        taskId: ctx.id,
        signal: ctx.signal,
        report,
      });
    },
  };
}

function notPending(id: string): LorasmithError {
  return new LorasmithError({
    code: 'not-awaiting-confirmation',
    message: `The task ${id} is not a pull waiting for confirmation.`,
    hint: 'Only a pull in state awaiting-confirmation can be confirmed or discarded.',
    exitCode: 1,
    status: 409,
  });
}

async function pendingPull(tasks: TaskService, workspace: Workspace, taskId: string): Promise<TaskRecord> {
  const record = await tasks.get(taskId);
  if (record.kind !== PULL_TASK_KIND || record.state !== 'succeeded' || record.detail !== 'awaiting-confirmation') throw notPending(taskId);
  if ((await readPending(workspace, taskId)) === null) throw notPending(taskId);
  return record;
}

/** The user confirms an unverified pull: a follow-up task imports the quarantined files, marked unverified. */
export async function confirmPull(params: { tasks: TaskService; workspace: Workspace; taskId: string }): Promise<TaskRecord> {
  const record = await pendingPull(params.tasks, params.workspace, params.taskId);
  const original = pullParamsSchema.safeParse(record.params);
  const source = original.success ? original.data.source : 'confirmed pull';
  return params.tasks.start(PULL_TASK_KIND, { source, confirms: record.id });
}

/** The user declines: the quarantined files of the pull are deleted. */
export async function discardPull(params: { tasks: TaskService; workspace: Workspace; taskId: string }): Promise<void> {
  await pendingPull(params.tasks, params.workspace, params.taskId);
  await discardPending(params.workspace, params.taskId);
}
