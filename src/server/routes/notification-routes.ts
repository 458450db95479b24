/** The job webhook (LOG-R05): saved as a secret and only ever returned masked; a test delivery on demand. */
import { z } from 'zod';
import type { App, RouteContext } from '../context.ts';
import { optionalEmptyBody, secretPutBody, secretSummary } from '../schemas.ts';

const webhookDelivery = z.object({
  delivered: z.boolean(),
  status: z.number().int().optional(),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
});

export function notificationRoutes(app: App, ctx: RouteContext): void {
  const { notifier } = ctx.studio;
  const tags = ['settings'];

  app.get('/api/notifications/webhook', { schema: { tags, response: { 200: secretSummary } } }, async () => notifier.webhook());

  app.put(
    '/api/notifications/webhook',
    // The same body as a hub token's (`{ value }`), so the Settings page edits both with one form.
    { schema: { tags, body: secretPutBody, response: { 200: secretSummary } } },
    async (request) => notifier.setWebhook(request.body.value),
  );

  app.delete('/api/notifications/webhook', { schema: { tags, response: { 200: secretSummary } } }, async () => notifier.removeWebhook());

  app.post('/api/notifications/webhook/test', { schema: { tags, body: optionalEmptyBody, response: { 200: webhookDelivery } } }, async () => notifier.test());
}
