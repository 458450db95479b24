/**
 * The server's reading of one run's log segments (DESIGN.md §5): from the persisted cursor, split into lines
 * (tqdm's `\r` frames included), parsed into engine events. A parser remembers what it saw (the phase,
 * `model saved.`, errors), so after a restart `prime` feeds it everything before the cursor again and throws
 * those events away: the parser and the partial last line are then as they were, and what is read next
 * yields exactly the events that were not recorded yet.
 */
import { open } from 'node:fs/promises';
import { errnoCode } from '../core/errors.ts';
import type { EngineEvent, EngineOutputParser } from '../training/engines/engine.ts';
import { LineSplitter, type SplitLine } from '../training/engines/kohya/line-splitter.ts';
import type { JobRunner } from './job-runner.ts';
import { segmentPath, type LogCursor } from './shim/protocol.ts';

/** Bytes per read of the live log. */
const CHUNK_BYTES = 256 * 1024;
/** Lines kept for a failure's "last lines". */
const TAIL_LINES = 40;

export interface LogBatch {
  events: EngineEvent[];
  /** Complete lines, plus the newest `\r` frame when the batch ended on one (what a log view shows). */
  lines: string[];
  cursor: LogCursor;
}

export class RunLogReader {
  readonly #runner: Pick<JobRunner, 'readLogChunk'>;
  readonly #runDir: string;
  readonly #parser: EngineOutputParser;
  readonly #splitter = new LineSplitter();
  readonly #tail: string[] = [];
  #cursor: LogCursor;

  constructor(params: { runner: Pick<JobRunner, 'readLogChunk'>; runDir: string; parser: EngineOutputParser; cursor: LogCursor }) {
    this.#runner = params.runner;
    this.#runDir = params.runDir;
    this.#parser = params.parser;
    this.#cursor = params.cursor;
  }

  /** The run's parser: after `end()`, it gives the verdict. */
  get parser(): EngineOutputParser {
    return this.#parser;
  }

  get cursor(): LogCursor {
    return this.#cursor;
  }

  /** The log's last lines (progress frames left out), oldest first. */
  lastLines(count = 20): string[] {
    return this.#tail.slice(-count);
  }

  #feed(lines: readonly SplitLine[], out: LogBatch | null): void {
    let frame: string | null = null;
    for (const line of lines) {
      const events = this.#parser.parse(line.text);
      if (line.end === '\r') {
        frame = line.text;
      } else {
        frame = null;
        if (line.text.trim() !== '') {
          this.#tail.push(line.text);
          if (this.#tail.length > TAIL_LINES) this.#tail.shift();
        }
        out?.lines.push(line.text);
      }
      out?.events.push(...events);
    }
    if (frame !== null) out?.lines.push(frame);
  }

  /**
   * Replay everything before the cursor through the splitter and parser, discarding the events. Segments the
   * shim already rotated away are skipped (the parser then knows less of the early log; what follows is exact).
   */
  async prime(): Promise<void> {
    const target = this.#cursor;
    for (let segment = 1; segment <= target.segment; segment++) {
      let handle;
      try {
        handle = await open(segmentPath(this.#runDir, segment), 'r');
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') continue;
        throw error;
      }
      try {
        const size = (await handle.stat()).size;
        const end = segment < target.segment ? size : Math.min(size, target.offset);
        for (let offset = 0; offset < end; ) {
          const buffer = Buffer.alloc(Math.min(CHUNK_BYTES * 4, end - offset));
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
          this.#feed(this.#splitter.push(buffer.subarray(0, bytesRead)), null);
        }
      } finally {
        await handle.close();
      }
    }
  }

  /** What was added since the last read; null when nothing was. */
  async read(): Promise<LogBatch | null> {
    const chunk = await this.#runner.readLogChunk(this.#runDir, this.#cursor, CHUNK_BYTES);
    const moved = chunk.cursor.segment !== this.#cursor.segment || chunk.cursor.offset !== this.#cursor.offset;
    if (chunk.text === '' && !moved) return null;
    const batch: LogBatch = { events: [], lines: [], cursor: chunk.cursor };
    this.#feed(this.#splitter.push(chunk.text), batch);
    this.#cursor = chunk.cursor;
    return batch;
  }

  /** The log is complete (the engine exited and the shim flushed): the partial last line is a line. */
  end(): LogBatch {
    const batch: LogBatch = { events: [], lines: [], cursor: this.#cursor };
    this.#feed(this.#splitter.end(), batch);
    return batch;
  }
}

/** Keep one progress event per batch, the newest: tqdm frames replace each other, and the log keeps them all. */
export function coalesceProgress(events: readonly EngineEvent[]): EngineEvent[] {
  const lastProgress = events.findLastIndex((event) => event.kind === 'progress');
  return events.filter((event, index) => event.kind !== 'progress' || index === lastProgress);
}
