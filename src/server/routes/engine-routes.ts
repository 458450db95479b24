/**
 * The training engines over HTTP, for the Settings page's Engines panel and scripts: detection (the same as
 * `lorasmith engine detect`) and the engine locations. Locations are operator paths (DESIGN.md §6.3): a
 * studio bound to loopback only takes them from its own machine (or the operator's SSH tunnel), so it accepts
 * them here, checked to be absolute and to exist; an exposed studio (`--expose`) refuses, and the CLI's
 * `lorasmith engine set` on the machine itself is the way. Installing is CLI-only: it runs pip and git for
 * minutes and asks first.
 */
import { z } from 'zod';
import { LorasmithError } from '../../core/errors.ts';
import { detectEngines, enginesSettingsSchema, setEngineLocation, type EngineId } from '../../training/engines/detect/index.ts';
import type { App, RouteContext } from '../context.ts';

const tags = ['engines'];
const engineId = z.enum(['kohya', 'fluxflow']);
const source = z.enum(['env', 'settings', 'workspace']);

const gpuProbe = z.discriminatedUnion('mode', [
  z.object({
    mode: z.literal('gpu'),
    gpus: z.array(z.object({ index: z.number(), name: z.string(), memoryTotalMiB: z.number(), memoryFreeMiB: z.number(), driverVersion: z.string() })),
  }),
  z.object({ mode: z.literal('cpu'), reason: z.string() }),
  z.object({ mode: z.literal('unknown'), reason: z.string() }),
]);

const engineStatus = z.object({
  engine: engineId,
  installed: z.boolean(),
  root: z.string().nullable(),
  python: z.string(),
  venv: z.string().nullable(),
  commit: z.string().nullable(),
  commitIsPinned: z.boolean().nullable(),
  pythonVersion: z.string().nullable(),
  torch: z.object({ version: z.string(), cuda: z.string().nullable() }).nullable(),
  packageVersion: z.string().nullable(),
  accelerateConfig: z.boolean(),
  sources: z.object({ root: source, python: source }),
  startupFiles: z.object({ dir: z.string(), missing: z.array(z.string()), missingOptional: z.array(z.string()) }),
  problems: z.array(z.string()),
});

const enginesBody = z.object({
  gpus: gpuProbe,
  engines: z.array(engineStatus),
  settings: enginesSettingsSchema,
  /** Whether this studio accepts location changes over HTTP (false when exposed beyond this machine). */
  locationsEditable: z.boolean(),
});

const locationBody = z.object({ root: z.string().max(4096).nullable().optional(), python: z.string().max(4096).nullable().optional() }).strict();

export function engineRoutes(app: App, ctx: RouteContext): void {
  const { studio } = ctx;

  const report = async (engines?: EngineId[]) => {
    const settings = (await studio.settings.get()).engines;
    const detected = await detectEngines({ env: process.env, enginesDir: studio.workspace.paths.areas.engines, settings, ...(engines === undefined ? {} : { engines }) });
    return { ...detected, settings, locationsEditable: !ctx.exposed };
  };

  app.get('/api/engines', { schema: { tags, response: { 200: enginesBody } } }, async () => report());

  app.get('/api/engines/:engine', { schema: { tags, params: z.object({ engine: engineId }), response: { 200: enginesBody } } }, async (request) => report([request.params.engine]));

  app.put(
    '/api/engines/:engine/location',
    { schema: { tags, params: z.object({ engine: engineId }), body: locationBody, response: { 200: z.object({ engines: enginesSettingsSchema }) } } },
    async (request) => {
      if (ctx.exposed) {
        throw new LorasmithError({
          code: 'engine-location-local-only',
          message: 'Engine locations are paths on the studio’s machine, and this studio is exposed beyond it: they cannot be changed over the network.',
          hint: `On the studio's machine, run \`lorasmith engine set ${request.params.engine} --python …\`.`,
          status: 403,
          exitCode: 2,
        });
      }
      const { root, python } = request.body;
      const patch = { ...(root === undefined ? {} : { root }), ...(python === undefined ? {} : { python }) };
      return { engines: await setEngineLocation({ settings: studio.settings, engine: request.params.engine, patch }) };
    },
  );
}
