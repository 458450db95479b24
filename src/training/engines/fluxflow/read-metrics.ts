/**
 * FluxFlow's metrics (fluxflow.md §1.4): one JSON Lines file per pipeline step,
 * `<output_path>/graph/training_metrics_<step>.jsonl`, a record every `log_interval` batches with the losses
 * only (`vae_loss`, `kl_loss`, `g_loss`, `d_loss`, `lpips_loss`, `color_stats`, `hist_loss`, `contrast_loss`,
 * `flow_loss`; NaN/Inf written as null), `global_step` cumulative across steps, `timestamp` in local time
 * without a zone. Read incrementally: the cursor holds each file's byte offset after its last complete line,
 * so a line still being written is read next time and a record is never reported twice.
 */
import { lstat, open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../../../core/errors.ts';
import type { MetricBatch, MetricPoint, MetricsCursor } from '../engine.ts';
import { fluxflowRunLayout } from './layout.ts';

const METRICS_FILE = /^training_metrics(?:_[A-Za-z0-9_-]+)?\.jsonl$/;
/** Bytes read per file per call, so a long file is caught up on over several calls. */
const DEFAULT_CHUNK = 4 * 1024 * 1024;

function pointsOf(line: string): MetricPoint[] {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return [];
  }
  if (typeof record !== 'object' || record === null) return [];
  const { global_step: step, metrics, timestamp } = record as Record<string, unknown>;
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || typeof metrics !== 'object' || metrics === null) return [];
  const at = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN;
  const points: MetricPoint[] = [];
  for (const [tag, value] of Object.entries(metrics)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    points.push(Number.isNaN(at) ? { tag, step, value } : { tag, step, value, wallTime: at / 1000 });
  }
  return points;
}

async function readNew(file: string, from: number, chunk: number): Promise<{ text: string; consumed: number }> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(chunk);
    const { bytesRead } = await handle.read(buffer, 0, chunk, from);
    const end = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
    // A line longer than a whole chunk is not a record FluxFlow writes: skip it rather than stall on it.
    if (end < 0) return { text: '', consumed: bytesRead === chunk ? bytesRead : 0 };
    return { text: buffer.subarray(0, end + 1).toString('utf8'), consumed: end + 1 };
  } finally {
    await handle.close();
  }
}

/** New metric points of a run since `since` (`{}` for all), and the cursor to pass next time. */
export async function readFluxflowMetrics(runDir: string, since: MetricsCursor, options: { chunkBytes?: number } = {}): Promise<MetricBatch> {
  const { metricsDir } = fluxflowRunLayout(runDir);
  const chunk = options.chunkBytes ?? DEFAULT_CHUNK;
  const cursor: MetricsCursor = { ...since };
  const points: MetricPoint[] = [];
  let names: string[];
  try {
    names = (await readdir(metricsDir)).filter((name) => METRICS_FILE.test(name)).sort();
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { points, cursor };
    throw error;
  }
  for (const name of names) {
    const file = path.join(metricsDir, name);
    const info = await lstat(file);
    // Only regular files written in work/: a link there is never followed.
    if (!info.isFile()) continue;
    // A file shorter than the cursor was replaced: read it from the start.
    const from = (cursor[name] ?? 0) > info.size ? 0 : (cursor[name] ?? 0);
    if (from === info.size) continue;
    const { text, consumed } = await readNew(file, from, chunk);
    for (const line of text.split('\n')) if (line.trim() !== '') points.push(...pointsOf(line));
    cursor[name] = from + consumed;
  }
  return { points, cursor };
}
