/**
 * A streaming line splitter for an engine's pipes (kohya-sd-scripts.md §5.1, §5.3).
 *
 * tqdm redraws its bar with `\r` and never a `\n` until it closes, so `\r`, `\n` and `\r\n` all end a
 * line. Reads cut anywhere: in the middle of a frame, between the `\r` and `\n` of one line ending, or inside
 * a multi-byte UTF-8 character; none of that changes the lines that come out. A line longer than `maxLength`
 * is cut into pieces (a runaway frame cannot grow without bound).
 */
export interface SplitLine {
  text: string;
  /** What ended it: `\r` marks a progress frame (overwritten on a terminal); '' only from `end()` or a cut. */
  end: '\n' | '\r' | '\r\n' | '';
}

export interface LineSplitterOptions {
  /** Characters; longer lines are emitted in pieces. Default 64 KiB. */
  maxLength?: number;
  /** Keep lines that are empty once their terminator is removed (default false for `\r` frames, true for `\n`). */
  keepEmptyFrames?: boolean;
}

export class LineSplitter {
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  private readonly maxLength: number;
  private readonly keepEmptyFrames: boolean;
  private buffer = '';
  /** A `\r` at the very end of the last read: it may be the first half of `\r\n`. */
  private pendingCr = false;

  constructor(options: LineSplitterOptions = {}) {
    this.maxLength = options.maxLength ?? 64 * 1024;
    this.keepEmptyFrames = options.keepEmptyFrames ?? false;
  }

  /** Feed one read (bytes or already-decoded text); returns the lines it completed. */
  push(chunk: Uint8Array | string): SplitLine[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    return this.scan(text, false);
  }

  /** The stream closed: flush what is left. */
  end(): SplitLine[] {
    const rest = this.decoder.decode();
    return this.scan(rest, true);
  }

  private scan(text: string, final: boolean): SplitLine[] {
    const out: SplitLine[] = [];
    let input = text;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (input.startsWith('\n')) {
        this.emit(out, this.buffer, '\r\n');
        input = input.slice(1);
      } else {
        this.emit(out, this.buffer, '\r');
      }
      this.buffer = '';
    }
    let start = 0;
    for (let i = 0; i < input.length; i++) {
      const c = input.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const piece = this.buffer + input.slice(start, i);
      this.buffer = '';
      if (c === 10) {
        this.emit(out, piece, '\n');
      } else if (i + 1 < input.length) {
        if (input.charCodeAt(i + 1) === 10) {
          this.emit(out, piece, '\r\n');
          i++;
        } else {
          this.emit(out, piece, '\r');
        }
      } else if (final) {
        this.emit(out, piece, '\r');
      } else {
        this.buffer = piece;
        this.pendingCr = true;
        start = input.length;
        return out;
      }
      start = i + 1;
    }
    this.buffer += input.slice(start);
    while (this.buffer.length > this.maxLength) {
      this.emit(out, this.buffer.slice(0, this.maxLength), '');
      this.buffer = this.buffer.slice(this.maxLength);
    }
    if (final && this.buffer.length > 0) {
      this.emit(out, this.buffer, '');
      this.buffer = '';
    }
    return out;
  }

  private emit(out: SplitLine[], text: string, end: SplitLine['end']): void {
    if (text.length === 0 && end === '\r' && !this.keepEmptyFrames) return;
    for (let i = 0; i < text.length; i += this.maxLength) {
      const last = i + this.maxLength >= text.length;
      out.push({ text: text.slice(i, i + this.maxLength), end: last ? end : '' });
    }
    if (text.length === 0) out.push({ text, end });
  }
}
