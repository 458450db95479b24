import { appendFile, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFluxflowMetrics } from './read-metrics.ts';

/** A pipeline-mode record (fluxflow.md §1.4): losses only, NaN written as null, local time without a zone. */
function record(step: number, metrics: Record<string, number | null>): string {
  return `${JSON.stringify({ timestamp: '2025-12-07T18:40:01.123456', session_id: '20251207_183704', epoch: 0, batch: step - 1, global_step: step, metrics })}\n`;
}

let runDir: string;
let graph: string;

beforeEach(async () => {
  runDir = await realpath(await mkdtemp(path.join(tmpdir(), 'lorasmith-fluxflow-metrics-')));
  graph = path.join(runDir, 'work', 'output', 'graph');
  await mkdir(graph, { recursive: true });
});

afterEach(async () => {
  await rm(runDir, { recursive: true, force: true });
});

describe('readFluxflowMetrics', () => {
  it('reads every step\'s JSONL file into points keyed by global_step, skipping nulls', async () => {
    await writeFile(path.join(graph, 'training_metrics_vae.jsonl'), record(1, { vae_loss: 0.5, kl_loss: null }) + record(11, { vae_loss: 0.4, kl_loss: 1.1 }));
    await writeFile(path.join(graph, 'training_metrics_flow.jsonl'), record(21, { flow_loss: 0.3 }));
    await writeFile(path.join(graph, 'session_vae.json'), '{}');
    const { points, cursor } = await readFluxflowMetrics(runDir, {});
    const wallTime = new Date(2025, 11, 7, 18, 40, 1, 123).getTime() / 1000;
    expect(points).toEqual([
      { tag: 'flow_loss', step: 21, value: 0.3, wallTime },
      { tag: 'vae_loss', step: 1, value: 0.5, wallTime },
      { tag: 'vae_loss', step: 11, value: 0.4, wallTime },
      { tag: 'kl_loss', step: 11, value: 1.1, wallTime },
    ]);
    expect(Object.keys(cursor).sort()).toEqual(['training_metrics_flow.jsonl', 'training_metrics_vae.jsonl']);
  });

  it('resumes from its cursor, leaving a line still being written for next time', async () => {
    const file = path.join(graph, 'training_metrics_vae.jsonl');
    await writeFile(file, record(1, { vae_loss: 0.5 }));
    const first = await readFluxflowMetrics(runDir, {});
    const line = record(2, { vae_loss: 0.45 });
    await appendFile(file, line.slice(0, 20));
    const second = await readFluxflowMetrics(runDir, first.cursor);
    expect(second.points).toEqual([]);
    expect(second.cursor).toEqual(first.cursor);
    await appendFile(file, line.slice(20));
    const third = await readFluxflowMetrics(runDir, second.cursor);
    expect(third.points.map((point) => [point.step, point.value])).toEqual([[2, 0.45]]);
    expect((await readFluxflowMetrics(runDir, third.cursor)).points).toEqual([]);
  });

  it('catches up on a long file over several calls, and rereads a file that was replaced', async () => {
    const file = path.join(graph, 'training_metrics_vae.jsonl');
    await writeFile(file, Array.from({ length: 50 }, (_, index) => record(index + 1, { vae_loss: index })).join(''));
    let cursor = {};
    const seen: number[] = [];
    for (let call = 0; call < 60 && seen.length < 50; call += 1) {
      const batch = await readFluxflowMetrics(runDir, cursor, { chunkBytes: 400 });
      seen.push(...batch.points.map((point) => point.step));
      cursor = batch.cursor;
    }
    expect(seen).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
    await writeFile(file, record(1, { vae_loss: 9 }));
    expect((await readFluxflowMetrics(runDir, cursor)).points.map((point) => point.value)).toEqual([9]);
  });

  it('reads nothing when there is no graph folder yet, and never follows a link', async () => {
    await symlink('/etc/hostname', path.join(graph, 'training_metrics_evil.jsonl'));
    expect((await readFluxflowMetrics(runDir, {})).points).toEqual([]);
    await rm(graph, { recursive: true });
    expect(await readFluxflowMetrics(runDir, {})).toEqual({ points: [], cursor: {} });
  });
});
