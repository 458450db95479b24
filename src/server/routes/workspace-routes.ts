/** Health, workspace facts, settings and hub secrets (always masked, LOG-R01). */
import { statfs } from 'node:fs/promises';
import { z } from 'zod';
import { parseSecretName } from '../../core/secret-store.ts';
import { settingsPatchSchema, settingsSchema } from '../../core/settings.ts';
import { LORASMITH_VERSION } from '../../core/version.ts';
import type { App, RouteContext } from '../context.ts';
import { checkHubToken } from '../../hub/check-token.ts';
import { healthBody, optionalEmptyBody, secretParams, secretPutBody, secretSummary, workspaceBody } from '../schemas.ts';

export function workspaceRoutes(app: App, ctx: RouteContext): void {
  const { studio } = ctx;

  app.get('/api/health', { schema: { tags: ['studio'], response: { 200: healthBody } } }, async () => ({
    ok: true as const,
    version: LORASMITH_VERSION,
    pid: process.pid,
    startedAt: ctx.startedAt,
  }));

  app.get('/api/workspace', { schema: { tags: ['studio'], response: { 200: workspaceBody } } }, async () => {
    const paths = studio.workspace.paths;
    const fs = await statfs(paths.home);
    return {
      home: paths.home,
      version: LORASMITH_VERSION,
      node: process.version,
      dbFile: paths.db,
      freeDiskBytes: Number(fs.bavail) * Number(fs.bsize),
      serverUrl: ctx.origins.baseUrl,
      exposed: ctx.exposed,
    };
  });

  app.get('/api/settings', { schema: { tags: ['settings'], response: { 200: settingsSchema } } }, async () => studio.settings.get());

  app.patch('/api/settings', { schema: { tags: ['settings'], body: settingsPatchSchema, response: { 200: settingsSchema } } }, async (request) =>
    studio.settings.update(request.body),
  );

  app.get('/api/secrets', { schema: { tags: ['settings'], response: { 200: z.object({ secrets: z.array(secretSummary) }) } } }, async () => ({
    secrets: await studio.secrets.list(),
  }));

  app.put('/api/secrets/:name', { schema: { tags: ['settings'], params: secretParams, body: secretPutBody, response: { 200: secretSummary } } }, async (request) =>
    studio.secrets.set(parseSecretName(request.params.name), request.body.value),
  );

  app.delete('/api/secrets/:name', { schema: { tags: ['settings'], params: secretParams, response: { 200: secretSummary } } }, async (request) =>
    studio.secrets.delete(parseSecretName(request.params.name)),
  );

  // Is the stored token any good? The hub is asked (whoami / me); the answer names the account only.
  app.post(
    '/api/secrets/:name/check',
    {
      schema: {
        tags: ['settings'],
        params: secretParams,
        body: optionalEmptyBody,
        response: { 200: z.object({ provider: z.enum(['hf', 'civitai']), ok: z.boolean(), account: z.string().nullable(), message: z.string(), hint: z.string().optional() }) },
      },
    },
    async (request) => checkHubToken(await studio.hubContext(), parseSecretName(request.params.name)),
  );
}
