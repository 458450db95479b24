/** The studio's live stream: every task update and every security event, for the web app and scripts. */
import type { App, RouteContext } from '../context.ts';
import { openSse } from '../sse.ts';

export function eventRoutes(app: App, ctx: RouteContext): void {
  app.get('/api/events', { schema: { tags: ['studio'] } }, async (request, reply) => {
    const channel = openSse(request, reply);
    const offTasks = ctx.studio.tasks.subscribe(null, (record) => channel.send('task', record));
    const offSecurity = ctx.studio.securityEvents.subscribe((event) => channel.send('security', event));
    await channel.closed;
    offTasks();
    offSecurity();
  });
}
