/**
 * Training over HTTP, before launching exists: the run-config schema for the form, the presets, validation
 * against the workspace, and the dry run (the kohya launch under the placeholder run folder `<run>`, secrets
 * redacted; nothing is written or launched).
 */
import { z } from 'zod';
import { dryRunTraining } from '../../training/dry-run.ts';
import { RUN_PRESETS } from '../../training/presets/index.ts';
import { FLUXFLOW_DEAD_FIELDS, runConfigJsonSchema } from '../../training/schema/index.ts';
import { studioRunResolver } from '../../training/resolve-run.ts';
import { validateRun } from '../../training/validate/index.ts';
import type { App, RouteContext } from '../context.ts';

const tags = ['train'];

/** The config itself is checked by `validateRun`, which reports every shape error as an issue. */
export const trainConfigBody = z.object({ config: z.record(z.string(), z.unknown()) }).strict();

const validationIssue = z.object({
  code: z.string(),
  severity: z.enum(['error', 'warning', 'info']),
  path: z.string(),
  message: z.string(),
  hint: z.string(),
});

const schemaBody = z.object({
  jsonSchema: z.record(z.string(), z.unknown()),
  deadFields: z.array(z.object({ field: z.string(), reason: z.string() })),
});

const presetsBody = z.object({
  presets: z.array(
    z.object({
      name: z.string(),
      title: z.string(),
      description: z.string(),
      family: z.string(),
      vramGb: z.number(),
      config: z.record(z.string(), z.unknown()),
    }),
  ),
});

const validateBody = z.object({ ok: z.boolean(), issues: z.array(validationIssue) });

const dryRunView = z.object({
  engine: z.literal('kohya'),
  argv: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  cwd: z.string(),
  files: z.record(z.string(), z.string()),
  sandbox: z.object({ readOnly: z.array(z.string()), writable: z.array(z.string()), network: z.literal(false) }),
  plan: z.object({
    script: z.string(),
    catalogue: z.string(),
    gpus: z.number(),
    mixedPrecision: z.string(),
    outputName: z.string(),
    outputFile: z.string(),
    datasets: z.array(
      z.object({
        index: z.number(),
        subsets: z.array(
          z.object({ name: z.string(), sourceDir: z.string(), linkDir: z.string(), isReg: z.boolean(), numRepeats: z.number().optional(), captionExtension: z.string() }),
        ),
      }),
    ),
    samplePrompts: z.number(),
    modelPaths: z.array(z.string()),
  }),
});

const dryRunBody = z.object({ issues: z.array(validationIssue), dryRun: dryRunView.nullable() });

export function trainRoutes(app: App, ctx: RouteContext): void {
  const { studio } = ctx;

  app.get('/api/train/schema', { schema: { tags, response: { 200: schemaBody } } }, async () => ({
    jsonSchema: runConfigJsonSchema() as Record<string, unknown>,
    deadFields: FLUXFLOW_DEAD_FIELDS.map((dead) => ({ field: dead.field, reason: dead.reason })),
  }));

  app.get('/api/train/presets', { schema: { tags, response: { 200: presetsBody } } }, async () => ({
    presets: RUN_PRESETS.map((preset) => ({ ...preset, config: preset.config as Record<string, unknown> })),
  }));

  app.post('/api/train/validate', { schema: { tags, body: trainConfigBody, response: { 200: validateBody } } }, async (request) => {
    const report = await validateRun({ config: request.body.config, resolve: studioRunResolver(studio) });
    return { ok: report.ok, issues: report.issues };
  });

  app.post('/api/train/dry-run', { schema: { tags, body: trainConfigBody, response: { 200: dryRunBody } } }, async (request) => {
    const result = await dryRunTraining({ studio, config: request.body.config });
    return { issues: result.issues, dryRun: result.dryRun };
  });
}
