import { describe, expect, it } from 'vitest';
import { probeCgroup } from './cgroup.ts';
import { bwrapArgs, chooseSandbox, DEFAULT_SHM_BYTES, findBwrap, hostRootEntries, probeBwrap, type BwrapParams, type SandboxProbe } from './sandbox.ts';

const base: BwrapParams = {
  argv: ['/engines/kohya/venv/bin/python', '-E', '-s', '-u', '/engines/kohya/sd-scripts/train_network.py'],
  env: { PATH: '/engines/kohya/venv/bin:/usr/bin', HOME: '/ws/runs/j1/work/home', TORCH_FORCE_WEIGHTS_ONLY_LOAD: '1' },
  cwd: '/ws/runs/j1/work',
  readOnly: ['/ws/runs/j1', '/ws/datasets/dogs', '/ws', '/engines/kohya'],
  writable: ['/ws/runs/j1/work'],
  devices: [],
  asRoot: true,
  hostRoot: [
    { path: '/bin', kind: 'link', target: 'usr/bin' },
    { path: '/lib', kind: 'dir' },
  ],
};

describe('bwrapArgs (the reference recipe)', () => {
  it('isolates everything and, as root, drops to 65534 with no capabilities and no nested user namespace', () => {
    const args = bwrapArgs(base);
    expect(args.slice(0, 3)).toEqual(['--unshare-all', '--die-with-parent', '--new-session']);
    expect(args.join(' ')).toContain('--unshare-user --disable-userns --uid 65534 --gid 65534 --cap-drop ALL');
    expect(bwrapArgs({ ...base, asRoot: false })).not.toContain('--uid');
  });

  it('mirrors the host root (link or folder), mounts /proc, /dev, a sized /dev/shm and /tmp', () => {
    const args = bwrapArgs(base).join(' ');
    expect(args).toContain('--ro-bind /usr /usr');
    expect(args).toContain('--symlink usr/bin /bin');
    expect(args).toContain('--ro-bind /lib /lib');
    expect(args).toContain(`--proc /proc --dev /dev --size ${DEFAULT_SHM_BYTES} --tmpfs /dev/shm --tmpfs /tmp`);
    expect(bwrapArgs({ ...base, shmBytes: 1 << 30 }).join(' ')).toContain(`--size ${1 << 30} --tmpfs /dev/shm`);
  });

  it('binds parents before children, work/ writable after its read-only run folder, and remounts / read-only after every mount', () => {
    const args = bwrapArgs({ ...base, readOnlyAt: [{ source: '/engines/fluxflow/cache', target: '/ws/runs/j1/work/_cache' }] });
    const afterTmp = args.slice(args.lastIndexOf('/tmp') + 1);
    const binds = afterTmp.flatMap((arg, i) => (arg === '--ro-bind' || arg === '--bind' ? [`${arg} ${afterTmp[i + 1]} ${afterTmp[i + 2]}`] : []));
    expect(binds).toEqual([
      '--ro-bind /ws /ws',
      '--ro-bind /engines/kohya /engines/kohya',
      '--ro-bind /ws/datasets/dogs /ws/datasets/dogs',
      '--ro-bind /ws/runs/j1 /ws/runs/j1',
      '--bind /ws/runs/j1/work /ws/runs/j1/work',
      '--ro-bind /engines/fluxflow/cache /ws/runs/j1/work/_cache',
    ]);
    const remount = args.indexOf('--remount-ro');
    expect(args[remount + 1]).toBe('/');
    const lastMount = Math.max(...args.map((arg, i) => (['--ro-bind', '--bind', '--tmpfs', '--dev-bind-try', '--symlink'].includes(arg) ? i : -1)));
    expect(remount).toBeGreaterThan(lastMount);
    expect(args.indexOf('--clearenv')).toBeGreaterThan(remount);
    expect(args[args.indexOf('--chdir') + 1]).toBe('/ws/runs/j1/work');
  });

  it('clears the environment and sets only the given variables; the command follows "--" unchanged', () => {
    const args = bwrapArgs({ ...base, statusFd: 3 });
    const sets = args.flatMap((arg, i) => (arg === '--setenv' ? [`${args[i + 1]}=${args[i + 2]}`] : []));
    expect(sets).toEqual(['HOME=/ws/runs/j1/work/home', 'PATH=/engines/kohya/venv/bin:/usr/bin', 'TORCH_FORCE_WEIGHTS_ONLY_LOAD=1']);
    expect(args.slice(args.indexOf('--json-status-fd'), args.indexOf('--json-status-fd') + 2)).toEqual(['--json-status-fd', '3']);
    expect(args.slice(args.indexOf('--') + 1)).toEqual(base.argv);
  });

  it('binds GPU device nodes (and /sys, which the driver needs) only when the run has GPUs', () => {
    expect(bwrapArgs(base)).not.toContain('/sys');
    const args = bwrapArgs({ ...base, devices: ['/dev/nvidiactl', '/dev/nvidia0'] }).join(' ');
    expect(args).toContain('--dev-bind-try /dev/nvidiactl /dev/nvidiactl --dev-bind-try /dev/nvidia0 /dev/nvidia0 --ro-bind /sys /sys');
  });
});

describe('probes', () => {
  it('finds this machine’s bwrap and starts a trivial sandbox with it', async () => {
    expect(findBwrap()).toBe('/usr/bin/bwrap');
    expect(hostRootEntries().some((entry) => entry.path === '/lib64')).toBe(true);
    expect(await probeBwrap()).toEqual({ ok: true, bwrap: '/usr/bin/bwrap' });
  });

  it('says why when bwrap is missing or cannot start a sandbox', async () => {
    expect(findBwrap(['/nonexistent/bwrap'])).toBeNull();
    expect(await probeBwrap({ bwrap: null })).toEqual({ ok: false, reason: 'bubblewrap (bwrap) is not installed' });
    const refused = await probeBwrap({ bwrap: '/usr/bin/bwrap', run: async () => ({ kind: 'exited', code: 1, signal: null, stdout: '', stderr: 'bwrap: setting up uid map: Permission denied\n', truncated: false }) });
    expect(refused).toEqual({ ok: false, reason: '/usr/bin/bwrap cannot start a sandbox here: bwrap: setting up uid map: Permission denied' });
  });

  it('finds a writable cgroup v2 with cgroup.kill on this hybrid host', () => {
    const probe = probeCgroup();
    expect(probe.ok).toBe(true);
  });
});

describe('chooseSandbox', () => {
  const noBwrap = { ok: false as const, reason: 'bubblewrap (bwrap) is not installed' };
  const cgroup = { ok: true as const, parent: '/sys/fs/cgroup/unified' };
  const noCgroup = { ok: false as const, reason: 'no cgroup v2 hierarchy is mounted' };
  const probe = (over: Partial<SandboxProbe>): SandboxProbe => ({ bwrap: { ok: true, bwrap: '/usr/bin/bwrap' }, cgroup, root: true, ...over });

  it('uses bwrap whenever it works', () => {
    expect(chooseSandbox({ probe: probe({}), allowUnsandboxed: false })).toEqual({ mode: 'bwrap', bwrap: '/usr/bin/bwrap' });
  });

  it('refuses a root run without bwrap unless unsandboxed runs are allowed, whatever cgroups offer', () => {
    expect(() => chooseSandbox({ probe: probe({ bwrap: noBwrap }), allowUnsandboxed: false })).toThrow(expect.objectContaining({ code: 'sandbox-unavailable' }));
    expect(chooseSandbox({ probe: probe({ bwrap: noBwrap }), allowUnsandboxed: true })).toMatchObject({ mode: 'cgroup', note: expect.stringContaining('unsandboxed') });
    expect(chooseSandbox({ probe: probe({ bwrap: noBwrap, cgroup: noCgroup }), allowUnsandboxed: true })).toMatchObject({ mode: 'unsandboxed', note: expect.stringContaining('group kill only') });
  });

  it('lets a non-root studio fall back to a cgroup, else the process group', () => {
    expect(chooseSandbox({ probe: probe({ bwrap: noBwrap, root: false }), allowUnsandboxed: false }).mode).toBe('cgroup');
    expect(chooseSandbox({ probe: probe({ bwrap: noBwrap, cgroup: noCgroup, root: false }), allowUnsandboxed: false }).mode).toBe('unsandboxed');
  });
});
