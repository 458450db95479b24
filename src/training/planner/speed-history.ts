/**
 * This machine's measured kohya step rates, which the planner scales its time estimate from (a plan with none
 * says the time is unknown). The jobs module records a rate with `recordItPerSecond` once a run has trained long
 * enough to measure it; the planner reads them with `readPlanHistory`. They live in one small JSON file in the
 * workspace's `engines/` area, because like the engines they describe this machine; no database table is
 * needed for a few hundred numbers.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { errnoCode } from '../../core/errors.ts';
import { KOHYA_FAMILIES } from '../schema/index.ts';
import type { ItPerSecondSample, PlanHistory } from './plan-run.ts';

export const SPEED_HISTORY_FILE = 'it-per-second.json';
/** The newest measurements are kept; older ones describe drivers and settings that may be gone. */
export const MAX_SPEED_SAMPLES = 200;

const side = z.number().int().min(64).max(16_384);
const sampleSchema = z.object({
  family: z.enum(KOHYA_FAMILIES),
  width: side,
  height: side,
  batchSize: z.number().int().min(1).max(4096),
  gradientAccumulationSteps: z.number().int().min(1).max(4096).optional(),
  itPerSecond: z.number().positive().max(10_000),
  gpuName: z.string().min(1).max(200).optional(),
  recordedAt: z.string().max(40).optional(),
});

export type RecordedSample = z.infer<typeof sampleSchema>;

/** `engines/it-per-second.json` of a workspace. */
export function speedHistoryFile(enginesDir: string): string {
  return path.join(enginesDir, SPEED_HISTORY_FILE);
}

async function readSamples(file: string): Promise<RecordedSample[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    // A damaged history only costs the time estimate; the next recorded run rewrites the file.
    return [];
  }
  const list = z.object({ samples: z.array(z.unknown()) }).safeParse(document);
  if (!list.success) return [];
  return list.data.samples.flatMap((entry) => {
    const parsed = sampleSchema.safeParse(entry);
    return parsed.success ? [parsed.data] : [];
  });
}

/** The history the planner takes; an absent or damaged file is an empty history. */
export async function readPlanHistory(file: string): Promise<PlanHistory> {
  const samples = await readSamples(file);
  return { itPerSecond: samples.map(({ recordedAt: _recordedAt, ...sample }) => sample) };
}

// Writes from this process are queued so two runs finishing together do not drop each other's sample.
const queues = new Map<string, Promise<void>>();

/** Add one measurement (validated; a bad one throws a RangeError) and keep the newest MAX_SPEED_SAMPLES. */
export async function recordItPerSecond(file: string, sample: ItPerSecondSample, now: () => Date = () => new Date()): Promise<void> {
  const parsed = sampleSchema.safeParse({ ...sample, recordedAt: now().toISOString() });
  if (!parsed.success) throw new RangeError(`not a step-rate measurement: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const previous = queues.get(file) ?? Promise.resolve();
  const next = previous.then(async () => {
    const samples = [...(await readSamples(file)), parsed.data].slice(-MAX_SPEED_SAMPLES);
    await writeFileAtomic(file, `${JSON.stringify({ samples }, null, 2)}\n`, 0o600);
  });
  const settled = next.catch(() => undefined);
  queues.set(file, settled);
  try {
    await next;
  } finally {
    if (queues.get(file) === settled) queues.delete(file);
  }
}
