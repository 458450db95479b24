import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeParsedCursor } from './parsed-cursor.ts';
import { LOG_START, segmentPath } from './protocol.ts';
import { readLogChunk } from './read-log-chunk.ts';
import { SegmentLog, maxLineLength } from './segment-log.ts';

let runDir: string;
beforeEach(async () => {
  runDir = await mkdtemp(path.join(tmpdir(), 'lorasmith-segments-'));
});
afterEach(async () => {
  await rm(runDir, { recursive: true, force: true });
});

const segments = (): number[] =>
  readdirSync(path.join(runDir, 'logs'))
    .map((name) => Number(name.slice(0, 6)))
    .sort((a, b) => a - b);

async function readAll(from = LOG_START, maxBytes = 1 << 20): Promise<{ text: string; cursor: typeof LOG_START }> {
  let cursor = { ...from };
  let text = '';
  for (;;) {
    const chunk = await readLogChunk(runDir, cursor, maxBytes);
    if (chunk.text === '' && chunk.cursor.segment === cursor.segment && chunk.cursor.offset === cursor.offset) return { text, cursor };
    text += chunk.text;
    cursor = chunk.cursor;
  }
}

describe('SegmentLog', () => {
  it('rotates at the cap without splitting a line; segments are 0600 and numbered from 000001', () => {
    const log = new SegmentLog({ runDir, segmentBytes: 100, keepSegments: 100 });
    for (let i = 0; i < 10; i++) log.write(`line ${i} ${'x'.repeat(30)}\n`);
    log.close();
    expect(segments()).toEqual([1, 2, 3, 4, 5]);
    for (const n of segments()) {
      const text = readFileSync(segmentPath(runDir, n), 'utf8');
      expect(text.length).toBeLessThanOrEqual(100);
      expect(text.endsWith('\n')).toBe(true);
      expect(statSync(segmentPath(runDir, n)).mode & 0o777).toBe(0o600);
    }
  });

  it('never deletes a segment the server has not parsed; deletes old parsed ones beyond keepSegments', async () => {
    const log = new SegmentLog({ runDir, segmentBytes: 50, keepSegments: 2 });
    const line = (i: number): string => `${String(i).padStart(3, '0')} ${'y'.repeat(40)}\n`;
    for (let i = 0; i < 6; i++) log.write(line(i));
    expect(segments()).toEqual([1, 2, 3, 4, 5, 6]);
    // The server has read segment 1 whole and half of segment 2.
    await writeParsedCursor(runDir, { segment: 2, offset: 10 });
    log.write(line(6));
    expect(segments()).toEqual([2, 3, 4, 5, 6, 7]);
    await writeParsedCursor(runDir, { segment: 4, offset: 45 });
    log.write(line(7));
    // 2 and 3 are behind the cursor; 4 is read to its end (45 bytes): all three go; 5–8 stay (5 unparsed).
    expect(segments()).toEqual([5, 6, 7, 8]);
    log.close();
    const rest = await readAll({ segment: 4, offset: 45 });
    expect(rest.text).toBe([4, 5, 6, 7].map(line).join(''));
  });

  it('maxLineLength keeps the longest possible line inside one segment', () => {
    expect(Buffer.byteLength('€'.repeat(maxLineLength(100)) + '\r\n')).toBeLessThanOrEqual(100);
    expect(maxLineLength(1 << 30)).toBe(64 * 1024);
  });
});

describe('readLogChunk', () => {
  it('returns nothing (and the same cursor) when there is no log yet', async () => {
    expect(await readLogChunk(runDir, LOG_START, 100)).toEqual({ text: '', cursor: LOG_START });
  });

  it('reads across segments and never ends inside a UTF-8 character', async () => {
    const log = new SegmentLog({ runDir, segmentBytes: 64, keepSegments: 100 });
    const lines = ['héllo wörld — ünïcödé ✓\n', 'steps: 10%|█▌ | 1/10\r', '第二行 日本語のテキスト\n', 'end\n'];
    for (const line of lines) log.write(line);
    log.close();
    let cursor = { ...LOG_START };
    const pieces: string[] = [];
    for (let i = 0; i < 100; i++) {
      const chunk = await readLogChunk(runDir, cursor, 5);
      if (chunk.text === '' && chunk.cursor.offset === cursor.offset && chunk.cursor.segment === cursor.segment) break;
      expect(chunk.text).not.toContain('\uFFFD');
      pieces.push(chunk.text);
      cursor = chunk.cursor;
    }
    expect(pieces.join('')).toBe(lines.join(''));
    expect(cursor.segment).toBe(segments().at(-1));
  });

  it('a cursor on a removed segment moves on to the next one there is', async () => {
    const log = new SegmentLog({ runDir, segmentBytes: 20, keepSegments: 1 });
    await writeParsedCursor(runDir, { segment: 3, offset: 0 });
    for (let i = 0; i < 4; i++) log.write(`segment ${i} ....\n`);
    log.close();
    expect(existsSync(segmentPath(runDir, 1))).toBe(false);
    expect((await readAll({ segment: 1, offset: 0 })).text).toBe('segment 2 ....\nsegment 3 ....\n');
  });

  it('property: whatever the line sizes, segment size and read size, the chunks put together are exactly the lines written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constantFrom('\n', '\r', '\r\n')), { maxLength: 40 }),
        fc.integer({ min: 256, max: 600 }),
        fc.integer({ min: 1, max: 300 }),
        async (lines, segmentBytes, maxBytes) => {
          await rm(path.join(runDir, 'logs'), { recursive: true, force: true });
          const log = new SegmentLog({ runDir, segmentBytes, keepSegments: 1000 });
          const written = lines.map(([text, end]) => text.replace(/[\r\n]/g, ' ') + end);
          for (const line of written) log.write(line);
          log.close();
          expect((await readAll(LOG_START, maxBytes)).text).toBe(written.join(''));
        },
      ),
      { numRuns: 60 },
    );
  });
});
