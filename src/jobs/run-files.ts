/**
 * The control files the server keeps in `runs/<id>/` (beside the shim's): the manifest taken at enqueue and
 * `launch.json` (where the final output will be), plus reading the log segments for a log view.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { errnoCode } from '../core/errors.ts';
import { LineSplitter } from '../training/engines/kohya/line-splitter.ts';
import type { RunManifest } from './run-manifest.ts';
import { SHIM_LOG_DIR, segmentNumber, segmentPath } from './shim/protocol.ts';

export const MANIFEST_FILE = 'manifest.json';
export const LAUNCH_FILE = 'launch.json';

export interface LaunchRecord {
  /** Where the final output will be when the run succeeds (absolute, inside `work/`). */
  outputFile: string;
  /** Files that enter the library with it, in the same entry (absent in records of earlier versions). */
  outputCompanions?: string[];
}

export function workDirOf(runDir: string): string {
  return path.join(runDir, 'work');
}

export async function writeManifest(runDir: string, manifest: RunManifest): Promise<void> {
  await writeFileAtomic(path.join(runDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
}

export async function readManifest(runDir: string): Promise<RunManifest> {
  return JSON.parse(await readFile(path.join(runDir, MANIFEST_FILE), 'utf8')) as RunManifest;
}

export async function writeLaunchRecord(runDir: string, record: LaunchRecord): Promise<void> {
  await writeFileAtomic(path.join(runDir, LAUNCH_FILE), `${JSON.stringify(record)}\n`, 0o600);
}

export async function readLaunchRecord(runDir: string): Promise<LaunchRecord | null> {
  try {
    return JSON.parse(await readFile(path.join(runDir, LAUNCH_FILE), 'utf8')) as LaunchRecord;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/** The log's last `count` lines over every segment the shim still keeps (progress frames but the newest left out). */
export async function readLogTail(runDir: string, count: number): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(path.join(runDir, SHIM_LOG_DIR));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  const segments = names.map(segmentNumber).filter((n): n is number => n !== null).sort((a, b) => a - b);
  const splitter = new LineSplitter();
  const lines: string[] = [];
  let frame: string | null = null;
  const take = (batch: ReturnType<LineSplitter['push']>) => {
    for (const line of batch) {
      if (line.end === '\r') {
        frame = line.text;
        continue;
      }
      frame = null;
      lines.push(line.text);
      if (lines.length > count) lines.shift();
    }
  };
  for (const segment of segments) {
    try {
      take(splitter.push(await readFile(segmentPath(runDir, segment))));
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
  }
  take(splitter.end());
  const tail = frame === null ? lines : [...lines, frame];
  return tail.slice(-count);
}
