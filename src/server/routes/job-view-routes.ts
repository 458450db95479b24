/**
 * Read-only views of a run for the Jobs page, beside the jobs API (job-routes.ts, which has the metrics): the
 * sample images a run wrote, and the studio's GPU readings.
 *
 * The run folder's `work/` belongs to the engine, which is sandboxed but not trusted (PROC-R05): samples are
 * listed without following links and served only as regular files reached without a link, inside `work/`,
 * that start with the PNG signature.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { LorasmithError, errnoCode, isLorasmithError } from '../../core/errors.ts';
import type { SampleInfo } from '../../jobs/job-api-types.ts';
import type { JobRecord } from '../../jobs/job-types.ts';
import { collectArtifacts } from '../../jobs/shim/collect-artifacts.ts';
import { openContainedFile } from '../../jobs/shim/contained-file.ts';
import { kohyaRunLayout } from '../../training/engines/kohya/layout.ts';
import type { App, RouteContext } from '../context.ts';
import { idParams } from '../schemas.ts';

const tags = ['jobs'];

// ---- samples -----------------------------------------------------------------------------------------------

/**
 * kohya's sample names (reference §outputs): `[<output_name>_]<e{epoch:06d}|{step:06d}>_<NN>_<YYYYmmddHHMMSS>[_<seed>].png`;
 * epoch 0 is `sample_at_first`.
 */
const KOHYA_SAMPLE = /^(?:.+_)?(?:e(\d{6})|(\d{6}))_(\d{2})_\d{14}(?:_(\d{1,20}))?\.png$/;
/** One name inside the sample folder: no separators, no control characters, a `.png` suffix. */
const SAMPLE_NAME = /^[^/\\\u0000-\u001f\u007f]{1,251}\.png$/;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const MAX_SAMPLES = 5000;

function parseSampleName(name: string): Pick<SampleInfo, 'epoch' | 'step' | 'prompt' | 'seed'> {
  const match = KOHYA_SAMPLE.exec(name);
  if (match === null) return { epoch: null, step: null, prompt: null, seed: null };
  const [, epoch, step, prompt, seed] = match;
  return {
    epoch: epoch === undefined ? null : Number(epoch),
    step: step === undefined ? null : Number(step),
    prompt: prompt === undefined ? null : Number(prompt),
    seed: seed === undefined || !Number.isSafeInteger(Number(seed)) ? null : Number(seed),
  };
}

interface RunView {
  job: JobRecord;
  workDir: string;
  /** Where the engine writes sample images; null for an engine without them. */
  samplesDir: string | null;
}

function sampleNotFound(id: string, name: string): LorasmithError {
  return new LorasmithError({
    code: 'sample-not-found',
    message: `Job ${id} has no sample image ${JSON.stringify(name.slice(0, 260))}.`,
    hint: 'List the run’s samples with GET /api/jobs/ID/samples; only PNG files the engine wrote in its sample folder are served.',
    status: 404,
  });
}

async function realOrNull(dir: string): Promise<string | null> {
  try {
    return await realpath(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
}

// ---- routes ------------------------------------------------------------------------------------------------

const sampleInfo = z.object({
  name: z.string(),
  epoch: z.number().nullable(),
  step: z.number().nullable(),
  prompt: z.number().nullable(),
  seed: z.number().nullable(),
  size: z.number(),
  modifiedAt: z.string(),
});
const samplesBody = z.object({ samples: z.array(sampleInfo), skipped: z.number() });
const sampleParams = z.object({ id: idParams.shape.id, name: z.string().min(1).max(255) }).strict();

const gpuStat = z.object({
  index: z.number(),
  uuid: z.string(),
  utilizationPct: z.number().nullable(),
  memoryUsedMiB: z.number().nullable(),
  memoryTotalMiB: z.number().nullable(),
  temperatureC: z.number().nullable(),
});
const gpuStatsBody = z.object({
  active: z.boolean(),
  sample: z
    .discriminatedUnion('state', [
      z.object({ state: z.literal('ok'), at: z.number(), gpus: z.array(gpuStat) }),
      z.object({ state: z.literal('unavailable'), at: z.number(), reason: z.string() }),
      z.object({ state: z.literal('error'), at: z.number(), reason: z.string() }),
    ])
    .nullable(),
});

export function jobViewRoutes(app: App, ctx: RouteContext): void {
  const { studio } = ctx;

  const runView = async (id: string): Promise<RunView> => {
    const job = await studio.jobs.get(id);
    const runDir = await studio.workspace.resolve('runs', job.id);
    if (job.engine === 'kohya') {
      const layout = kohyaRunLayout(runDir);
      return { job, workDir: layout.workDir, samplesDir: path.join(layout.outputDir, 'sample') };
    }
    return { job, workDir: path.join(runDir, 'work'), samplesDir: null };
  };

  app.get('/api/jobs/:id/samples', { schema: { tags, params: idParams, response: { 200: samplesBody } } }, async (request) => {
    const view = await runView(request.params.id);
    if (view.samplesDir === null || (await realOrNull(view.workDir)) === null) return { samples: [], skipped: 0 };
    let collected;
    try {
      // Depth 0: the engine writes its samples flat; anything in a sub-folder is not one of them.
      collected = await collectArtifacts(view.workDir, view.samplesDir, { maxDepth: 0, maxFiles: MAX_SAMPLES });
    } catch (error) {
      // The sample folder itself is a link (or leads out of work/): nothing in it is the run's.
      if (isLorasmithError(error) && error.code === 'artifacts-refused') return { samples: [], skipped: 1 };
      throw error;
    }
    const { files, skipped } = collected;
    const samples = files
      .filter((file) => SAMPLE_NAME.test(file.relative))
      .sort((a, b) => a.mtimeMs - b.mtimeMs || (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0))
      .map((file) => ({ name: file.relative, ...parseSampleName(file.relative), size: file.size, modifiedAt: new Date(file.mtimeMs).toISOString() }));
    return { samples, skipped: skipped.length };
  });

  app.get('/api/jobs/:id/samples/:name', { schema: { tags, params: sampleParams } }, async (request, reply) => {
    const { id, name } = request.params;
    if (!SAMPLE_NAME.test(name)) throw sampleNotFound(id, name);
    const view = await runView(id);
    const realWork = await realOrNull(view.workDir);
    if (view.samplesDir === null || realWork === null) throw sampleNotFound(id, name);
    // The file's real path must be exactly where its name says: no link anywhere on the way.
    const expected = path.join(realWork, path.relative(view.workDir, view.samplesDir), name);
    const opened = await openContainedFile(realWork, expected);
    if ('refused' in opened) throw sampleNotFound(id, name);
    let handedOver = false;
    try {
      const head = Buffer.alloc(PNG_SIGNATURE.length);
      const { bytesRead } = await opened.handle.read(head, 0, head.length, 0);
      if (opened.real !== expected || bytesRead !== head.length || !head.equals(PNG_SIGNATURE)) throw sampleNotFound(id, name);
      const stream = opened.handle.createReadStream({ start: 0, end: Math.max(0, opened.stats.size - 1) });
      handedOver = true;
      // Samples never change once written (their names carry a timestamp).
      return await reply.header('cache-control', 'private, max-age=3600').type('image/png').send(stream);
    } finally {
      if (!handedOver) await opened.handle.close();
    }
  });

  app.get('/api/gpus/stats', { schema: { tags, response: { 200: gpuStatsBody } } }, async () => studio.gpuStats.view());
}
