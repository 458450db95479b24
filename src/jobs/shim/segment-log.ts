/**
 * The shim's log writer: engine output lines (already redacted) appended to `logs/NNNNNN.log` segments of at
 * most `segmentBytes` bytes each, a line never split across two segments. When a new segment starts, older
 * segments beyond the newest `keepSegments` are deleted — but only those the server's cursor (parsed.json)
 * has passed, so nothing it has not parsed is ever lost. Writes are synchronous: the shim is single-threaded,
 * lines stay in order across both pipes, and a line is in the page cache before the next event is handled.
 */
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../../core/errors.ts';
import { parseCursorText } from './parsed-cursor.ts';
import { LOG_START, PARSED_CURSOR_FILE, SHIM_LOG_DIR, segmentNumber, segmentPath, type LogCursor } from './protocol.ts';

export interface SegmentLogOptions {
  runDir: string;
  segmentBytes: number;
  keepSegments: number;
}

/** The longest line (in UTF-16 units) that always fits one segment: 3 bytes per unit at worst, plus `\r\n`. */
export function maxLineLength(segmentBytes: number): number {
  return Math.max(1, Math.min(64 * 1024, Math.floor((segmentBytes - 2) / 3)));
}

export class SegmentLog {
  readonly #runDir: string;
  readonly #segmentBytes: number;
  readonly #keepSegments: number;
  #segment: number;
  #fd: number;
  #size: number;
  /** Bytes that could not be written (disk full, I/O error), reported in the log once writing works again. */
  #lost = 0;
  #lostCode = '';

  constructor(options: SegmentLogOptions) {
    this.#runDir = options.runDir;
    this.#segmentBytes = options.segmentBytes;
    this.#keepSegments = Math.max(1, options.keepSegments);
    const dir = path.join(options.runDir, SHIM_LOG_DIR);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const existing = readdirSync(dir).map(segmentNumber).filter((n): n is number => n !== null);
    this.#segment = existing.length === 0 ? 1 : Math.max(...existing);
    this.#fd = openSync(segmentPath(this.#runDir, this.#segment), 'a', 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  get segment(): number {
    return this.#segment;
  }

  /** Append one line, terminator included. */
  write(line: string): void {
    const bytes = Buffer.from(line);
    if (this.#lost > 0) {
      const note = `[lorasmith-shim] ${this.#lost} bytes of engine output could not be written (${this.#lostCode}).\n`;
      if (!this.#append(Buffer.from(note))) {
        this.#lost += bytes.length;
        return;
      }
      this.#lost = 0;
    }
    if (!this.#append(bytes)) this.#lost += bytes.length;
  }

  /** Flush to disk and close; the log is complete after this. */
  close(): void {
    try {
      fsyncSync(this.#fd);
    } finally {
      closeSync(this.#fd);
    }
  }

  #append(bytes: Buffer): boolean {
    try {
      if (this.#size > 0 && this.#size + bytes.length > this.#segmentBytes) this.#rotate();
      let written = 0;
      while (written < bytes.length) written += writeSync(this.#fd, bytes, written);
      this.#size += bytes.length;
      return true;
    } catch (error) {
      this.#lostCode = errnoCode(error) ?? 'I/O error';
      return false;
    }
  }

  /** The next segment is opened before this one is closed: if it cannot be, this one simply grows. */
  #rotate(): void {
    let next: number;
    try {
      next = openSync(segmentPath(this.#runDir, this.#segment + 1), 'a', 0o600);
    } catch {
      return;
    }
    fsyncSync(this.#fd);
    closeSync(this.#fd);
    this.#fd = next;
    this.#segment += 1;
    this.#size = fstatSync(next).size;
    try {
      this.#prune();
    } catch {
      // Pruning is housekeeping: a segment that could not be removed now is tried again at the next rotation.
    }
  }

  /** Delete segments older than the newest `keepSegments` that the server has parsed to their end. */
  #prune(): void {
    const cursor = this.#cursor();
    const dir = path.join(this.#runDir, SHIM_LOG_DIR);
    for (const name of readdirSync(dir)) {
      const n = segmentNumber(name);
      if (n === null || n > this.#segment - this.#keepSegments) continue;
      const file = path.join(dir, name);
      const parsed = cursor.segment > n || (cursor.segment === n && cursor.offset >= statSync(file).size);
      if (parsed) unlinkSync(file);
    }
  }

  #cursor(): LogCursor {
    try {
      return parseCursorText(readFileSync(path.join(this.#runDir, PARSED_CURSOR_FILE), 'utf8'));
    } catch {
      return { ...LOG_START };
    }
  }
}
