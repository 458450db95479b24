/**
 * Training over HTTP, before launching exists: the run-config schema for the form, the presets, validation
 * against the workspace, and the dry run (the kohya launch under the placeholder run folder `<run>`, secrets
 * redacted, with its plan; nothing is written or launched). The API takes library ids and dataset names only:
 * the schema's id and name fields refuse paths, and no operator inputs are ever passed from here (DESIGN.md
 * §6.3), so importing another tool's config with its paths is the CLI's.
 */
import { z } from 'zod';
import { dryRunTraining } from '../../training/dry-run.ts';
import { probeGpus, type GpuProbe } from '../../training/planner/probe-gpus.ts';
import { RUN_PRESETS } from '../../training/presets/index.ts';
import { FLUXFLOW_DEAD_FIELDS, runConfigJsonSchema } from '../../training/schema/index.ts';
import { studioRunResolver } from '../../training/resolve-run.ts';
import { validateRun } from '../../training/validate/index.ts';
import type { App, RouteContext } from '../context.ts';

const tags = ['train'];

/** The config itself is checked by `validateRun`, which reports every shape error as an issue. */
export const trainConfigBody = z.object({ config: z.record(z.string(), z.unknown()) }).strict();

/** The dry run also takes the form's "Start without a GPU check" override (`--allow-unknown-gpu`). */
export const trainDryRunBody = z.object({ config: z.record(z.string(), z.unknown()), allowUnknownGpu: z.boolean().optional() }).strict();

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

/** What both engines' launches show: argv, environment, working folder, files and sandbox binds. */
const launchFields = {
  argv: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  cwd: z.string(),
  files: z.record(z.string(), z.string()),
  sandbox: z.object({ readOnly: z.array(z.string()), writable: z.array(z.string()), network: z.literal(false) }),
};

const dryRunView = z.object({
  engine: z.literal('kohya'),
  ...launchFields,
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
    inputs: z.array(
      z.object({
        field: z.string(),
        role: z.string(),
        source: z.string(),
        path: z.string(),
        use: z.string(),
        verdict: z.string().optional(),
        format: z.string().optional(),
        enginePath: z.string().optional(),
        subsets: z.array(z.object({ name: z.string(), dir: z.string(), images: z.number(), repeats: z.number(), isReg: z.boolean() })).optional(),
      }),
    ),
    steps: z.object({
      total: z.number(),
      epochs: z.number(),
      perEpoch: z.number(),
      batchesPerEpoch: z.number(),
      processes: z.number(),
      datasets: z.array(
        z.object({
          buckets: z.array(z.object({ width: z.number(), height: z.number(), count: z.number() })),
          batches: z.number(),
          trainImages: z.number(),
          trainImagesWithRepeats: z.number(),
          regImagesWithRepeats: z.number(),
          regImagesUsed: z.number(),
          regImagesUsedWithRepeats: z.number(),
        }),
      ),
    }),
    time: z.object({ seconds: z.number().nullable(), basis: z.enum(['history', 'unknown']), itPerSecond: z.number().nullable(), startupSeconds: z.number(), cachingSeconds: z.number(), note: z.string() }),
    disk: z.object({ bytes: z.number(), freeBytes: z.number().nullable(), items: z.array(z.object({ what: z.string(), count: z.number(), bytesEach: z.number(), bytes: z.number() })) }),
    gpu: z.object({
      mode: z.enum(['gpu', 'cpu', 'unknown']),
      reason: z.string().optional(),
      devices: z.array(z.object({ index: z.number(), name: z.string(), memoryTotalMiB: z.number(), memoryFreeMiB: z.number(), driverVersion: z.string() })),
    }),
    vram: z.object({
      estimateGb: z.number(),
      freeGb: z.number().nullable(),
      totalGb: z.number().nullable(),
      fit: z.enum(['fits', 'tight', 'too-big', 'unknown']),
      fixes: z.array(z.string()),
      breakdown: z.object({ cudaContextGb: z.number(), baseModelGb: z.number(), textEncodersGb: z.number(), vaeGb: z.number(), networkGb: z.number(), activationsGb: z.number() }),
      margin: z.number(),
      refuse: z.boolean(),
      needsOverride: z.boolean(),
      gpuIndices: z.array(z.number()),
      message: z.string(),
    }),
  }),
});

/** A FluxFlow run's launch: the same launch facts, with the adapter's own plan (pipeline steps, datasets, output). */
const fluxflowDryRunView = z.object({
  engine: z.literal('fluxflow'),
  ...launchFields,
  plan: z.object({
    output: z.object({ kind: z.literal('checkpoint'), family: z.literal('fluxflow'), file: z.string(), textEncoder: z.string() }),
    start: z.enum(['fresh', 'fine-tune', 'resume']),
    gpus: z.number(),
    steps: z.array(z.object({ name: z.string(), nEpochs: z.number(), maxSteps: z.number().optional(), dataset: z.string(), modes: z.array(z.string()), optimizers: z.array(z.string()), transition: z.string() })),
    datasets: z.array(z.object({ name: z.string(), dir: z.string(), captionsFile: z.string(), images: z.number(), skipped: z.number() })),
    skipped: z.array(z.object({ dataset: z.string(), image: z.string(), reason: z.string() })),
    modelPaths: z.array(z.string()),
    notes: z.array(z.string()),
  }),
});

const dryRunBody = z.object({ issues: z.array(validationIssue), dryRun: z.discriminatedUnion('engine', [dryRunView, fluxflowDryRunView]).nullable() });

/** Answers from nvidia-smi for a few seconds: the form dry-runs on every pause in typing. */
const PROBE_TTL_MS = 5_000;

function cachedGpuProbe(now: () => number = Date.now): () => Promise<GpuProbe> {
  let last: { at: number; probe: Promise<GpuProbe> } | null = null;
  return () => {
    if (last === null || now() - last.at > PROBE_TTL_MS) last = { at: now(), probe: probeGpus({ path: process.env.PATH ?? '' }) };
    return last.probe;
  };
}

export function trainRoutes(app: App, ctx: RouteContext): void {
  const { studio } = ctx;
  const probe = cachedGpuProbe();

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

  app.post('/api/train/dry-run', { schema: { tags, body: trainDryRunBody, response: { 200: dryRunBody } } }, async (request) => {
    const result = await dryRunTraining({ studio, config: request.body.config, probe, allowUnknownGpu: request.body.allowUnknownGpu === true });
    return { issues: result.issues, dryRun: result.dryRun };
  });
}
