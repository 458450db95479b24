import type { z } from 'zod';
import type { Logger } from '../core/logger.ts';

/** DESIGN.md §5: every long piece of work is a task; a task carries its kind's detailed state in `detail`. */
export const TASK_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const FINAL_TASK_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

export interface TaskProgress {
  done: number;
  total: number | null;
  message: string | null;
}

export interface TaskError {
  code: string;
  message: string;
  hint?: string;
}

export interface TaskRecord {
  id: string;
  kind: string;
  state: TaskState;
  detail: string | null;
  params: unknown;
  progress: TaskProgress;
  result: unknown;
  error: TaskError | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface TaskContext {
  readonly id: string;
  readonly signal: AbortSignal;
  readonly log: Logger;
  progress(update: { done: number; total?: number | null; message?: string | null }): void;
  /** The kind's detailed state, e.g. a download's `verifying`. */
  detail(detail: string): void;
}

/** The abort reason a task sees when the studio stops (not a user's cancel): work worth resuming is kept. */
export class StudioStopping extends Error {
  constructor() {
    super('studio stopping');
    this.name = 'StudioStopping';
  }
}

export interface TaskKind<P> {
  kind: string;
  params: z.ZodType<P>;
  /** How many tasks of this kind may run at once. */
  concurrency: number;
  /**
   * After a restart, a task the previous process was running or holding is `interrupted` (the default)
   * or queued again under the same id (`requeue`: downloads resume where they stopped, DESIGN.md §5).
   */
  onRestart?: 'interrupt' | 'requeue';
  run(params: P, ctx: TaskContext): Promise<unknown>;
}
