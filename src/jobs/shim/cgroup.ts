/**
 * The cgroup v2 fallback of PROC-R06, for hosts without bubblewrap: the run gets its own cgroup folder under
 * the shim's cgroup, and stop kills through `cgroup.kill` (Linux ≥ 5.14), which reaches every descendant —
 * a `setsid()` child included. `systemd-run` is not assumed. Hybrid hosts mount cgroup v2 at
 * `/sys/fs/cgroup/unified` beside the v1 controllers; the mount is found in /proc/self/mountinfo.
 *
 * The engine must be in the cgroup before it can fork: the shim moves itself into the run's cgroup, spawns
 * (children inherit the cgroup at fork) and moves itself back, so there is no moment when a child of the
 * engine could start outside it.
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../../core/errors.ts';

/** `\040` and friends in mountinfo fields. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The cgroup v2 folder this process is in, or null when no cgroup v2 hierarchy is mounted. */
export function ownCgroupDir(): string | null {
  let mountinfo: string;
  let membership: string;
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    membership = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return null;
  }
  const own = membership.split('\n').find((line) => line.startsWith('0::'))?.slice(3);
  if (own === undefined || own.endsWith(' (deleted)')) return null;
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (after?.split(' ')[0] !== 'cgroup2' || before === undefined) continue;
    const fields = before.split(' ');
    const root = unescapeMountField(fields[3] ?? '/');
    const mountPoint = unescapeMountField(fields[4] ?? '');
    const rel = path.posix.relative(root, own);
    if (rel.startsWith('..')) continue;
    return path.join(mountPoint, rel);
  }
  return null;
}

export type CgroupProbe = { ok: true; parent: string } | { ok: false; reason: string };

/** Whether this process may create a run cgroup with `cgroup.kill` (by making and removing one). */
export function probeCgroup(): CgroupProbe {
  const parent = ownCgroupDir();
  if (parent === null) return { ok: false, reason: 'no cgroup v2 hierarchy is mounted' };
  const probe = path.join(parent, `lorasmith-probe-${process.pid}`);
  try {
    mkdirSync(probe);
  } catch (error) {
    return { ok: false, reason: `${parent} is not writable (${errnoCode(error) ?? 'error'})` };
  }
  try {
    if (!existsSync(path.join(probe, 'cgroup.kill'))) return { ok: false, reason: 'the kernel has no cgroup.kill (Linux 5.14 or later is needed)' };
    return { ok: true, parent };
  } finally {
    rmdirSync(probe);
  }
}

/** Make the run's cgroup under `parent` (the shim's own). */
export function createRunCgroup(parent: string, jobId: string): string {
  const dir = path.join(parent, `lorasmith-run-${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}`);
  mkdirSync(dir);
  return dir;
}

/** Run `spawn` with this process inside `dir`, so what it forks starts there; then move back to `home`. */
export function spawnInCgroup<T>(dir: string, home: string, spawn: () => T): T {
  writeFileSync(path.join(dir, 'cgroup.procs'), String(process.pid));
  try {
    return spawn();
  } finally {
    writeFileSync(path.join(home, 'cgroup.procs'), String(process.pid));
  }
}

export function cgroupPopulated(dir: string): boolean {
  try {
    return /^populated 1$/m.test(readFileSync(path.join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

/** SIGKILL to every process in the cgroup, descendants included. */
export function killCgroup(dir: string): void {
  try {
    writeFileSync(path.join(dir, 'cgroup.kill'), '1');
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
}

/** Remove the (empty) cgroup; false when something is still in it. */
export function removeCgroup(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    return errnoCode(error) === 'ENOENT';
  }
}
