/**
 * `runs/<id>/parsed.json`: how far the server has parsed the shim's log segments. The server writes it
 * (atomically) after it has stored the events of what it read; the shim reads it before deleting a segment.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { errnoCode } from '../../core/errors.ts';
import { LOG_START, PARSED_CURSOR_FILE, type LogCursor } from './protocol.ts';

export function isLogCursor(value: unknown): value is LogCursor {
  if (typeof value !== 'object' || value === null) return false;
  const { segment, offset } = value as Record<string, unknown>;
  return Number.isSafeInteger(segment) && (segment as number) >= 1 && Number.isSafeInteger(offset) && (offset as number) >= 0;
}

export async function writeParsedCursor(runDir: string, cursor: LogCursor): Promise<void> {
  if (!isLogCursor(cursor)) throw new TypeError(`not a log cursor: ${JSON.stringify(cursor)}`);
  await writeFileAtomic(path.join(runDir, PARSED_CURSOR_FILE), `${JSON.stringify({ segment: cursor.segment, offset: cursor.offset })}\n`, 0o600);
}

/**
 * The cursor the server stored; the start of the log when there is none yet. A damaged file also reads as the
 * start: the shim then deletes nothing, which is the safe side.
 */
export async function readParsedCursor(runDir: string): Promise<LogCursor> {
  let text: string;
  try {
    text = await readFile(path.join(runDir, PARSED_CURSOR_FILE), 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { ...LOG_START };
    throw error;
  }
  return parseCursorText(text);
}

/** parsed.json's content as a cursor; anything damaged reads as the start of the log. */
export function parseCursorText(text: string): LogCursor {
  try {
    const value: unknown = JSON.parse(text);
    return isLogCursor(value) ? { segment: value.segment, offset: value.offset } : { ...LOG_START };
  } catch {
    return { ...LOG_START };
  }
}
