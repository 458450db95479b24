/**
 * `runs/<id>/events.jsonl`: the job's events, one JSON object a line, appended by the server alone. Its length
 * after each append is committed to SQLite with the events' mirror rows; on attach, a tail written after the
 * last commit (a crash in between) is cut, and the replay from the committed log cursor writes it again.
 */
import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../core/errors.ts';
import type { JobEvent } from './job-types.ts';

export const EVENTS_FILE = 'events.jsonl';

export function eventsFile(runDir: string): string {
  return path.join(runDir, EVENTS_FILE);
}

/** Append the events; returns the bytes written. */
export async function appendEvents(runDir: string, events: readonly JobEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const text = events.map((event) => `${JSON.stringify(event)}\n`).join('');
  // A job that ends before its run folder was made (a launch that failed early) still gets its events.
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  await appendFile(eventsFile(runDir), text, { mode: 0o600 });
  return Buffer.byteLength(text);
}

/** Cut the file back to `bytes` (what SQLite says was committed); a missing file is left missing. */
export async function truncateEvents(runDir: string, bytes: number): Promise<void> {
  let handle;
  try {
    handle = await open(eventsFile(runDir), 'r+');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  try {
    if ((await handle.stat()).size > bytes) await handle.truncate(bytes);
  } finally {
    await handle.close();
  }
}

export async function readEvents(runDir: string): Promise<JobEvent[]> {
  let text: string;
  try {
    text = await readFile(eventsFile(runDir), 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as JobEvent);
}
