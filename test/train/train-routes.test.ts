/**
 * /api/train/* on a fastify instance built like app.ts builds it (zod validator and serializer, the studio's
 * error handler), over a real Studio. The test registers the routes on a bare instance: auth and origin guards
 * are app.ts's and are not exercised here.
 */
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import type { App, RouteContext } from '../../src/server/context.ts';
import { createErrorHandler } from '../../src/server/error-handler.ts';
import { trainRoutes } from '../../src/server/routes/train-routes.ts';
import { openStudio, type Studio } from '../../src/studio/studio.ts';
import { RUN_PRESETS } from '../../src/training/presets/index.ts';
import { FLUXFLOW_DEAD_FIELDS } from '../../src/training/schema/index.ts';
import { HF_CANARY, makeTrainWorkspace, type TrainWorkspace } from './train-workspace.ts';

let ws: TrainWorkspace;
let studio: Studio;
let app: App;

beforeAll(async () => {
  ws = await makeTrainWorkspace();
  studio = await openStudio({ home: ws.home, env: {}, log: createLogger({ level: 'warn' }) });
  app = Fastify().withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(createErrorHandler(studio.log));
  // Only `studio` is read by these routes; the rest of the context belongs to app.ts.
  trainRoutes(app, { studio } as unknown as RouteContext);
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app.close();
  await studio.close();
});

function run(base: string, change: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 'lorasmith/run@1',
    kind: 'kohya',
    family: 'sd1',
    name: 'sks-dog',
    model: { base },
    datasets: [{ dataset: 'dogs' }],
    resolution: { width: 512, height: 512 },
    saving: { saveState: true, everyNEpochs: 1 },
    ...change,
  };
}

describe('GET /api/train/schema and /api/train/presets', () => {
  it('serves the run config JSON Schema and the FluxFlow dead fields', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/train/schema' });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ jsonSchema: { oneOf?: unknown[]; anyOf?: unknown[] }; deadFields: unknown[] }>();
    expect(JSON.stringify(body.jsonSchema)).toContain('lorasmith/run@1');
    expect(body.deadFields).toEqual(FLUXFLOW_DEAD_FIELDS.map((dead) => ({ field: dead.field, reason: dead.reason })));
  });

  it('lists every preset', async () => {
    const body = (await app.inject({ method: 'GET', url: '/api/train/presets' })).json<{ presets: Array<{ name: string; family: string; config: Record<string, unknown> }> }>();
    expect(body.presets.map((preset) => preset.name)).toEqual(RUN_PRESETS.map((preset) => preset.name));
    expect(body.presets[0]?.config).toHaveProperty('network');
  });
});

describe('POST /api/train/validate', () => {
  it('ok for a valid run; issues with codes for a bad one', async () => {
    const good = await app.inject({ method: 'POST', url: '/api/train/validate', payload: { config: run(ws.checkpointId) } });
    expect(good.statusCode).toBe(200);
    expect(good.json()).toMatchObject({ ok: true });
    const bad = await app.inject({ method: 'POST', url: '/api/train/validate', payload: { config: run('no-such-model', { datasets: [{ dataset: 'empty' }] }) } });
    expect(bad.statusCode).toBe(200);
    const body = bad.json<{ ok: boolean; issues: Array<{ code: string; path: string }> }>();
    expect(body.ok).toBe(false);
    expect(body.issues).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'model-missing', path: 'model.base' }), expect.objectContaining({ code: 'dataset-empty' })]));
  });

  it('shape errors come back as schema issues, not a 400', async () => {
    const body = (await app.inject({ method: 'POST', url: '/api/train/validate', payload: { config: { schema: 'lorasmith/run@1', kind: 'kohya', __extra: 1 } } })).json<{ ok: boolean; issues: Array<{ code: string }> }>();
    expect(body.ok).toBe(false);
    expect(body.issues.every((found) => found.code === 'schema')).toBe(true);
  });

  it('refuses a body that is not { config: object } (strict)', async () => {
    for (const payload of [{}, { config: 'x' }, { config: {}, extra: 1 }]) {
      const response = await app.inject({ method: 'POST', url: '/api/train/validate', payload });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: { code: 'invalid-request' } });
    }
  });
});

describe('POST /api/train/dry-run', () => {
  it('returns the launch under <run>, with no token anywhere', async () => {
    const response = await app.inject({ method: 'POST', url: '/api/train/dry-run', payload: { config: run(ws.checkpointId) } });
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain(HF_CANARY);
    const body = response.json<{ issues: unknown[]; dryRun: { engine: string; argv: string[]; cwd: string; files: Record<string, string>; plan: { outputFile: string } } }>();
    expect(Object.keys(body.dryRun)).toEqual(['engine', 'argv', 'env', 'cwd', 'files', 'sandbox', 'plan']);
    expect(body.dryRun.argv.slice(-5)).toEqual(['--config_file', '<run>/run.toml', '--dataset_config', '<run>/dataset.toml', '--console_log_simple']);
    expect(body.dryRun.argv[body.dryRun.argv.length - 6]).toMatch(/\/train_network\.py$/);
    expect(body.dryRun.cwd).toBe('<run>/work');
    expect(Object.keys(body.dryRun.files)).toEqual(['<run>/run.toml', '<run>/dataset.toml']);
    expect(body.dryRun.plan.outputFile).toBe('<run>/work/output/sks-dog.safetensors');
  });

  it('carries the plan: steps, time (unknown without a measured run), disk, GPU and memory; no operator inputs over HTTP', async () => {
    const response = await app.inject({ method: 'POST', url: '/api/train/dry-run', payload: { config: run(ws.checkpointId), allowUnknownGpu: false } });
    expect(response.statusCode).toBe(200);
    const plan = response.json<{ dryRun: { plan: Record<string, unknown> & { steps: { total: number }; time: { basis: string; seconds: null }; disk: { bytes: number }; gpu: { mode: string }; vram: { estimateGb: number }; inputs: unknown[] } } }>().dryRun.plan;
    expect(plan.steps.total).toBe(320);
    expect(plan.time).toMatchObject({ basis: 'unknown', seconds: null });
    expect(plan.disk.bytes).toBeGreaterThan(0);
    expect(['gpu', 'cpu', 'unknown']).toContain(plan.gpu.mode);
    expect(plan.vram.estimateGb).toBeGreaterThan(0);
    expect(plan.inputs).toEqual([]);
  });

  it('takes library ids and dataset names only: a path, or a CLI placeholder, is never resolved', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [run('/etc/lorasmith/model.safetensors'), 'model.base', 'schema'],
      [run('../models/x.safetensors'), 'model.base', 'schema'],
      [run(ws.checkpointId, { datasets: [{ dataset: '/home/me/train' }] }), 'datasets[0].dataset', 'schema'],
      [run('operator:model.base'), 'model.base', 'model-missing'],
      [run(ws.checkpointId, { network: { initialWeights: 'C:\\loras\\old.safetensors' } }), 'network.initialWeights', 'schema'],
    ];
    for (const [config, field, code] of cases) {
      const body = (await app.inject({ method: 'POST', url: '/api/train/dry-run', payload: { config } })).json<{ issues: Array<{ code: string; path: string }>; dryRun: unknown }>();
      expect(body.dryRun, field).toBeNull();
      expect(body.issues, field).toContainEqual(expect.objectContaining({ code, path: field }));
    }
    const extra = await app.inject({ method: 'POST', url: '/api/train/dry-run', payload: { config: run(ws.checkpointId), operator: { models: {} } } });
    expect(extra.statusCode).toBe(400);
  });

  it('dryRun is null when the run has errors, with the issues saying why', async () => {
    const body = (await app.inject({ method: 'POST', url: '/api/train/dry-run', payload: { config: run(ws.loraId) } })).json<{ issues: Array<{ code: string }>; dryRun: unknown }>();
    expect(body.dryRun).toBeNull();
    expect(body.issues.map((found) => found.code)).toContain('model-kind-mismatch');
  });

  it('a FluxFlow run gets its own launch: fluxflow-train with a pipeline YAML that always has a top-level data:', async () => {
    const config = {
      schema: 'lorasmith/run@1',
      kind: 'fluxflow',
      data: { dataset: 'dogs' },
      pipeline: { steps: [{ name: 'vae', nEpochs: 1, trainVae: true, optimizers: { vae: { type: 'AdamW', lr: 1e-5 } } }] },
    };
    const answer = await app.inject({ method: 'POST', url: '/api/train/dry-run', payload: { config } });
    expect(answer.statusCode).toBe(200);
    const body = answer.json<{ issues: Array<{ code: string; severity: string }>; dryRun: { engine: string; argv: string[]; files: Record<string, string>; plan: { steps: Array<{ name: string }>; output: { family: string } } } | null }>();
    expect(body.issues.filter((found) => found.severity === 'error')).toEqual([]);
    expect(body.dryRun?.engine).toBe('fluxflow');
    expect(body.dryRun?.argv.slice(1, 4)).toEqual(['-E', '-s', '-u']);
    expect(body.dryRun?.argv.slice(-2)).toEqual(['--config', '<run>/pipeline.yaml']);
    expect(body.dryRun?.files['<run>/pipeline.yaml']).toMatch(/^data:/m);
    expect(body.dryRun?.plan).toMatchObject({ steps: [{ name: 'vae' }], output: { family: 'fluxflow' } });
  });
});
