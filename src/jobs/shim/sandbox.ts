/**
 * The engine's sandbox (DESIGN.md §4, web-and-process-security.md PROC-R05/R06 and its bwrap recipe):
 * the bubblewrap command line, the probes that decide which sandbox a run gets, and the rule that a run as
 * root without bubblewrap is refused unless the user allowed unsandboxed runs.
 *
 * Under bwrap the engine sees a tmpfs root with `/usr` (and the host's /lib, /bin… links), a fresh /proc and
 * /dev, a sized /dev/shm, a private /tmp, every path of the spec's read-only list bound read-only one by one,
 * `work/` writable, and nothing else; no network but its own loopback; its own PID namespace, which dies
 * with the shim; a new session; only the spec's environment. As root it runs as uid/gid 65534 in its own
 * user namespace with no capabilities and no way to make another user namespace.
 */
import { accessSync, constants, lstatSync, readlinkSync } from 'node:fs';
import { LorasmithError } from '../../core/errors.ts';
import { runProgram, type ProgramRunner } from '../../core/run-program.ts';
import { probeCgroup, type CgroupProbe } from './cgroup.ts';
import type { SandboxMode } from './protocol.ts';

export const BWRAP_CANDIDATES = ['/usr/bin/bwrap', '/usr/local/bin/bwrap', '/bin/bwrap'] as const;
/** The sandbox's /dev/shm when the spec does not size it (PyTorch data loaders pass tensors through it). */
export const DEFAULT_SHM_BYTES = 8 * 1024 ** 3;
/** The uid and gid the engine runs as when the studio is root (PROC-R05). */
export const SANDBOX_UID = 65534;

/** How the host's top-level library and binary folders look: merged-/usr hosts have links, older ones folders. */
export type HostRootEntry = { path: string; kind: 'link'; target: string } | { path: string; kind: 'dir' };

const ROOT_ENTRIES = ['/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32'] as const;

export function hostRootEntries(): HostRootEntry[] {
  const out: HostRootEntry[] = [];
  for (const entry of ROOT_ENTRIES) {
    try {
      const stats = lstatSync(entry);
      if (stats.isSymbolicLink()) out.push({ path: entry, kind: 'link', target: readlinkSync(entry) });
      else if (stats.isDirectory()) out.push({ path: entry, kind: 'dir' });
    } catch {
      // Absent on this host: nothing to mirror.
    }
  }
  return out;
}

export interface BwrapParams {
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  readOnly: readonly string[];
  /** Bound read-only at another place (FluxFlow's engine cache at `work/_cache`). */
  readOnlyAt?: ReadonlyArray<{ source: string; target: string }>;
  writable: readonly string[];
  devices: readonly string[];
  /** Drop to uid/gid 65534 in a user namespace with no capabilities (the studio runs as root). */
  asRoot: boolean;
  shmBytes?: number;
  /** bwrap writes `{"child-pid": N}` and later `{"exit-code": N}` here. */
  statusFd?: number;
  hostRoot: readonly HostRootEntry[];
}

interface Bind {
  flag: '--ro-bind' | '--bind';
  source: string;
  target: string;
}

const depth = (target: string): number => target.split('/').filter(Boolean).length;

/**
 * bwrap's arguments (its own path not included). Binds go parents first, so a path bound inside another
 * (a dataset inside the workspace, a read-only cache inside `work/`) lands on top of it; `--remount-ro /` comes
 * after every mount, or a path nobody bound would be silently writable in memory.
 */
export function bwrapArgs(params: BwrapParams): string[] {
  const args = ['--unshare-all', '--die-with-parent', '--new-session'];
  if (params.asRoot) args.push('--unshare-user', '--disable-userns', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID), '--cap-drop', 'ALL');
  args.push('--ro-bind', '/usr', '/usr');
  for (const entry of params.hostRoot) {
    if (entry.kind === 'link') args.push('--symlink', entry.target, entry.path);
    else args.push('--ro-bind', entry.path, entry.path);
  }
  args.push('--ro-bind-try', '/etc/ld.so.cache', '/etc/ld.so.cache', '--proc', '/proc', '--dev', '/dev');
  for (const device of params.devices) args.push('--dev-bind-try', device, device);
  // The GPU driver reads PCI topology from /sys; a CPU run has no use for the host's /sys.
  if (params.devices.length > 0) args.push('--ro-bind', '/sys', '/sys');
  args.push('--size', String(params.shmBytes ?? DEFAULT_SHM_BYTES), '--tmpfs', '/dev/shm', '--tmpfs', '/tmp');

  const binds = new Map<string, Bind>();
  for (const dir of params.readOnly) binds.set(dir, { flag: '--ro-bind', source: dir, target: dir });
  for (const { source, target } of params.readOnlyAt ?? []) binds.set(target, { flag: '--ro-bind', source, target });
  for (const dir of params.writable) binds.set(dir, { flag: '--bind', source: dir, target: dir });
  const ordered = [...binds.values()].sort((a, b) => depth(a.target) - depth(b.target) || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  for (const bind of ordered) args.push(bind.flag, bind.source, bind.target);

  args.push('--chdir', params.cwd, '--remount-ro', '/', '--clearenv');
  for (const key of Object.keys(params.env).sort()) args.push('--setenv', key, params.env[key] as string);
  if (params.statusFd !== undefined) args.push('--json-status-fd', String(params.statusFd));
  args.push('--', ...params.argv);
  return args;
}

/** The first bwrap of the fixed candidate list that is executable (PATH is not trusted for this). */
export function findBwrap(candidates: readonly string[] = BWRAP_CANDIDATES): string | null {
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here; try the next one.
    }
  }
  return null;
}

export type BwrapProbe = { ok: true; bwrap: string } | { ok: false; reason: string };

export interface ProbeBwrapParams {
  bwrap?: string | null;
  asRoot?: boolean;
  run?: ProgramRunner;
}

/**
 * Start one trivial sandbox with the same isolation flags a run gets: bwrap may be installed and still fail
 * (no user namespaces, an AppArmor profile that blocks them, a seccomp'd container).
 */
export async function probeBwrap(params: ProbeBwrapParams = {}): Promise<BwrapProbe> {
  const bwrap = params.bwrap === undefined ? findBwrap() : params.bwrap;
  if (bwrap === null) return { ok: false, reason: 'bubblewrap (bwrap) is not installed' };
  const args = bwrapArgs({
    argv: ['/usr/bin/true'],
    env: {},
    cwd: '/',
    readOnly: [],
    writable: [],
    devices: [],
    asRoot: params.asRoot ?? isRoot(),
    shmBytes: 1024 * 1024,
    hostRoot: hostRootEntries(),
  });
  const result = await (params.run ?? runProgram)({ command: bwrap, args, env: {}, timeoutMs: 15_000, maxOutputBytes: 16 * 1024 });
  if (result.kind === 'exited' && result.code === 0) return { ok: true, bwrap };
  const why = result.kind === 'exited' ? result.stderr.trim().split('\n').pop() || `exit code ${result.code ?? result.signal}` : result.kind === 'timeout' ? 'it did not finish within 15 s' : result.message;
  return { ok: false, reason: `${bwrap} cannot start a sandbox here: ${why}` };
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export interface SandboxProbe {
  bwrap: BwrapProbe;
  cgroup: CgroupProbe;
  root: boolean;
}

let cachedProbe: Promise<SandboxProbe> | undefined;

/** Probe once per process (the answer does not change while the studio runs). */
export function probeSandbox(): Promise<SandboxProbe> {
  cachedProbe ??= probeBwrap().then((bwrap) => ({ bwrap, cgroup: probeCgroup(), root: isRoot() }));
  return cachedProbe;
}

export interface SandboxChoice {
  mode: SandboxMode;
  /** The bwrap to put in the spec under `bwrap`. */
  bwrap?: string;
  /** Why the run is not under bwrap, for the job's record and its "unsandboxed" badge. */
  note?: string;
}

/**
 * bwrap when it works; otherwise a root studio refuses unless the user allowed unsandboxed runs (there is no
 * privilege drop without a user namespace, PROC-R05), and the run gets a cgroup when one can be made, else
 * its process group only.
 */
export function chooseSandbox(params: { probe: SandboxProbe; allowUnsandboxed: boolean }): SandboxChoice {
  const { probe } = params;
  if (probe.bwrap.ok) return { mode: 'bwrap', bwrap: probe.bwrap.bwrap };
  const why = probe.bwrap.reason;
  if (probe.root && !params.allowUnsandboxed) {
    throw new LorasmithError({
      code: 'sandbox-unavailable',
      message: `The run was not started: ${why}, and lorasmith runs as root, so the engine would run with root's privileges.`,
      hint: 'Install bubblewrap (apt-get install bubblewrap) and make sure user namespaces are allowed, or allow unsandboxed runs (--allow-unsandboxed or the setting) to run it without a sandbox.',
      exitCode: 1,
      status: 409,
    });
  }
  if (probe.cgroup.ok) return { mode: 'cgroup', note: `unsandboxed: ${why}; the run's processes are kept in a cgroup and all killed on stop` };
  return { mode: 'unsandboxed', note: `unsandboxed, group kill only: ${why}; no cgroup either (${probe.cgroup.reason})` };
}
