/**
 * `selftest`: a task that exercises the whole task path — progress, SSE, the CLI's bar, cancel and
 * restart — without touching anything else. `lorasmith selftest` and Settings → Self-test start it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { TaskKind } from './task-types.ts';

export const selftestParamsSchema = z
  .object({
    steps: z.number().int().min(1).max(10_000).default(20),
    intervalMs: z.number().int().min(0).max(10_000).default(100),
  })
  .strict();
export type SelftestParams = z.infer<typeof selftestParamsSchema>;

export const selftestTask: TaskKind<SelftestParams> = {
  kind: 'selftest',
  params: selftestParamsSchema,
  concurrency: 2,
  async run(params, ctx) {
    ctx.progress({ done: 0, total: params.steps, message: 'starting' });
    for (let step = 1; step <= params.steps; step++) {
      await sleep(params.intervalMs, undefined, { signal: ctx.signal });
      ctx.progress({ done: step, message: `step ${step} of ${params.steps}` });
    }
    return { steps: params.steps };
  },
};
