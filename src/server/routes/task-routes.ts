/** Tasks: list, show, cancel, the per-task SSE stream, and the self-test task. */
import { z } from 'zod';
import { selftestParamsSchema } from '../../tasks/selftest-task.ts';
import { FINAL_TASK_STATES } from '../../tasks/task-types.ts';
import type { App, RouteContext } from '../context.ts';
import { optionalEmptyBody, idParams, taskListQuery, taskRecord } from '../schemas.ts';
import { openSse } from '../sse.ts';

const tags = ['tasks'];

export function taskRoutes(app: App, ctx: RouteContext): void {
  const { tasks } = ctx.studio;

  app.get('/api/tasks', { schema: { tags, querystring: taskListQuery, response: { 200: z.object({ tasks: z.array(taskRecord) }) } } }, async (request) => ({
    tasks: await tasks.list(request.query.kind === undefined ? { limit: request.query.limit } : { limit: request.query.limit, kind: request.query.kind }),
  }));

  app.get('/api/tasks/:id', { schema: { tags, params: idParams, response: { 200: taskRecord } } }, async (request) => tasks.get(request.params.id));

  app.post('/api/tasks/:id/cancel', { schema: { tags, params: idParams, body: optionalEmptyBody, response: { 200: taskRecord } } }, async (request) =>
    tasks.cancel(request.params.id),
  );

  app.post('/api/tasks/selftest', { schema: { tags, body: selftestParamsSchema, response: { 200: taskRecord } } }, async (request) =>
    tasks.start('selftest', request.body),
  );

  // The stream starts with the current record and ends after a final state.
  app.get('/api/tasks/:id/events', { schema: { tags, params: idParams } }, async (request, reply) => {
    const first = await tasks.get(request.params.id);
    const channel = openSse(request, reply);
    const send = (record: typeof first) => {
      channel.send('task', record);
      if (FINAL_TASK_STATES.has(record.state)) channel.close();
    };
    const off = tasks.subscribe(first.id, send);
    // Re-read after subscribing so an update between the first read and the subscription is not lost.
    send(await tasks.get(first.id));
    await channel.closed;
    off();
  });
}
