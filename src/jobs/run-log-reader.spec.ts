/**
 * The server's log reading over real segment files and the shim's own chunk reader: reads cut anywhere give
 * the same events as one whole read, and a reader primed at a cursor continues exactly where another stopped
 * (what a restarted server does), its parser remembering what came before.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../training/engines/engine.ts';
import { KohyaTrainingEngine } from '../training/engines/kohya/engine.ts';
import type { RunConfig } from '../training/schema/index.ts';
import { coalesceProgress, RunLogReader } from './run-log-reader.ts';
import { readLogChunk } from './shim/read-log-chunk.ts';
import { segmentPath, type LogCursor } from './shim/protocol.ts';

const engine = new KohyaTrainingEngine({ workspace: { library: {} as never, datasets: { root: '/nowhere' } }, locate: async () => ({ installed: false, location: { python: '/p', venvDir: '/v', engineRoot: '/e', tokenizerCacheDir: '/t' } }) });
const config = { kind: 'kohya', name: 'dog' } as RunConfig;

const frame = (n: number) => `\rsteps:  ${String(Math.floor((n / 8) * 100)).padStart(2)}%|██        | ${n}/8 [00:0${n}<00:01,  1.00it/s, avr_loss=0.1${n}]`;
// Two segments that end on line boundaries, as the shim writes them; a multi-byte line crosses no boundary.
const SEGMENTS = [
  ['running training / 学習開始', '  total optimization steps / 学習ステップ数: 8', 'epoch 1/2', ''].join('\n') + frame(1) + frame(2) + frame(3) + frame(4) + '\n',
  ['saving checkpoint: /r/work/output/dog-000001.safetensors', 'epoch 2/2', ''].join('\n') + frame(5) + frame(6) + frame(7) + frame(8) + '\n' + ['saving checkpoint: /r/work/output/dog.safetensors', 'model saved.', ''].join('\n'),
];

let runDir: string;
beforeAll(async () => {
  runDir = await mkdtemp(path.join(tmpdir(), 'lorasmith-log-reader-'));
  await mkdir(path.join(runDir, 'logs'));
  for (const [index, text] of SEGMENTS.entries()) await writeFile(segmentPath(runDir, index + 1), text);
});
afterAll(async () => rm(runDir, { recursive: true, force: true }));

/** A runner whose reads are at most `maxBytes` long, to cut lines and characters anywhere. */
function tinyReads(maxBytes: number) {
  return { readLogChunk: (dir: string, cursor: LogCursor) => readLogChunk(dir, cursor, maxBytes) };
}

async function readAll(reader: RunLogReader): Promise<{ events: EngineEvent[]; lines: string[] }> {
  const events: EngineEvent[] = [];
  const lines: string[] = [];
  for (let batch = await reader.read(); batch !== null; batch = await reader.read()) {
    events.push(...batch.events);
    lines.push(...batch.lines);
  }
  const end = reader.end();
  return { events: [...events, ...end.events], lines: [...lines, ...end.lines] };
}

describe('RunLogReader', () => {
  it('reads cut at any size give the same events as one read, across segments', async () => {
    const whole = await readAll(new RunLogReader({ runner: tinyReads(1 << 20), runDir, parser: engine.createParser(config, 'dog'), cursor: { segment: 1, offset: 0 } }));
    expect(whole.events.filter((e) => e.kind === 'progress').map((e) => (e as { step: number }).step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(whole.events.filter((e) => e.kind === 'checkpoint')).toEqual([
      { kind: 'checkpoint', path: '/r/work/output/dog-000001.safetensors', final: false },
      { kind: 'checkpoint', path: '/r/work/output/dog.safetensors', final: true },
    ]);
    for (const size of [7, 13, 64]) {
      const cut = await readAll(new RunLogReader({ runner: tinyReads(size), runDir, parser: engine.createParser(config, 'dog'), cursor: { segment: 1, offset: 0 } }));
      expect(cut.events).toEqual(whole.events);
    }
  });

  it('a reader primed at another reader’s cursor yields exactly the events still to come, and knows the model was saved', async () => {
    const first = new RunLogReader({ runner: tinyReads(50), runDir, parser: engine.createParser(config, 'dog'), cursor: { segment: 1, offset: 0 } });
    const before: EngineEvent[] = [];
    for (let i = 0; i < 5; i++) before.push(...((await first.read())?.events ?? []));
    const cursor = first.cursor;
    expect(cursor.segment === 1 && cursor.offset > 0).toBe(true);
    const second = new RunLogReader({ runner: tinyReads(50), runDir, parser: engine.createParser(config, 'dog'), cursor });
    await second.prime();
    const after = await readAll(second);
    const whole = await readAll(new RunLogReader({ runner: tinyReads(1 << 20), runDir, parser: engine.createParser(config, 'dog'), cursor: { segment: 1, offset: 0 } }));
    expect([...before, ...after.events]).toEqual(whole.events);
    expect(second.parser.finish({ code: 0, signal: null, outputExists: true }).outcome.ok).toBe(true);
    expect(second.lastLines(2)).toEqual(['saving checkpoint: /r/work/output/dog.safetensors', 'model saved.']);
  });

  it('log lines keep every line, and a progress frame only once a line ends it', async () => {
    const reader = new RunLogReader({ runner: tinyReads(1 << 20), runDir, parser: engine.createParser(config, 'dog'), cursor: { segment: 1, offset: 0 } });
    const batch = await reader.read();
    expect(batch?.lines.slice(0, 3)).toEqual(['running training / 学習開始', '  total optimization steps / 学習ステップ数: 8', 'epoch 1/2']);
    // Each segment's last frame is ended by a newline; the frames the bar overwrote are not lines.
    expect(batch?.lines.filter((line) => line.includes('steps:')).map((line) => /\d\/8/.exec(line)?.[0])).toEqual(['4/8', '8/8']);
  });

  it('coalesceProgress keeps the newest progress event in place and everything else', () => {
    const events: EngineEvent[] = [
      { kind: 'progress', step: 1, total: 8 },
      { kind: 'epoch', epoch: 2, total: 2 },
      { kind: 'progress', step: 2, total: 8 },
    ];
    expect(coalesceProgress(events)).toEqual([events[1], events[2]]);
  });
});
