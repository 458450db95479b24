/**
 * A process is identified by pid *and* start time: pids are reused, so a pid alone in a lock file or in
 * server.json could point at an unrelated process after a crash. Linux only (the product's scope).
 */
import { readFileSync } from 'node:fs';

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or null if there is no such process. */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

export function isSameProcess(pid: number, startTicks: string): boolean {
  return processStartTicks(pid) === startTicks;
}

export interface ProcessIdentity {
  pid: number;
  startTicks: string;
}

export function currentProcessIdentity(): ProcessIdentity {
  return { pid: process.pid, startTicks: processStartTicks(process.pid) ?? '0' };
}
