import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ShimSnapshot } from './protocol.ts';
import { Snapshotter } from './snapshots.ts';

let root: string;
let runDir: string;
let work: string;
let out: string;
let now: number;
let taken: ShimSnapshot[];

beforeEach(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'lorasmith-snap-')));
  runDir = path.join(root, 'runs', 'j1');
  work = path.join(runDir, 'work');
  out = path.join(work, 'output');
  await mkdir(out, { recursive: true });
  now = 0;
  taken = [];
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function snapshotter(dir = out): Snapshotter {
  return new Snapshotter({ runDir, workDir: work, directives: [{ dir, pattern: '\\.safetensors$', settleS: 5 }], onSnapshot: (s) => taken.push(s), now: () => now });
}

describe('Snapshotter', () => {
  it('copies a matching file once it has not changed for settleS, again after each new save, into runs/<id>/snapshots', async () => {
    const snap = snapshotter();
    const file = path.join(out, 'model.safetensors');
    await writeFile(file, 'save one, part');
    await writeFile(path.join(out, 'notes.txt'), 'not matched');
    await snap.scan();
    now = 3000;
    await writeFile(file, 'save one, complete');
    await snap.scan();
    now = 7000;
    await snap.scan();
    expect(taken).toEqual([]);
    now = 8001;
    await snap.scan();
    now = 20_000;
    await snap.scan();
    expect(taken).toHaveLength(1);
    await writeFile(file, 'save two');
    await snap.scan();
    now = 26_000;
    await snap.scan();
    expect(taken.map((s) => [s.source, path.relative(runDir, s.copy), s.size])).toEqual([
      [file, 'snapshots/000001-model.safetensors', 18],
      [file, 'snapshots/000002-model.safetensors', 8],
    ]);
    expect(readFileSync(taken[0]?.copy as string, 'utf8')).toBe('save one, complete');
    expect(readFileSync(taken[1]?.copy as string, 'utf8')).toBe('save two');
  });

  it('the final pass takes what has not settled yet (the engine has exited)', async () => {
    const snap = snapshotter();
    await writeFile(path.join(out, 'last.safetensors'), 'final');
    await snap.scan(true);
    expect(taken.map((s) => path.basename(s.copy))).toEqual(['000001-last.safetensors']);
  });

  it('never reads a planted link or FIFO, nor through a watched folder swapped for a link', async () => {
    const secret = path.join(root, 'secret.safetensors');
    await writeFile(secret, 'TOP SECRET');
    await symlink(secret, path.join(out, 'evil.safetensors'));
    execFileSync('/usr/bin/mkfifo', [path.join(out, 'fifo.safetensors')]);
    await symlink(root, path.join(work, 'escape'));
    await snapshotter().scan(true);
    await snapshotter(path.join(work, 'escape')).scan(true);
    expect(taken).toEqual([]);
    expect(existsSync(path.join(runDir, 'snapshots'))).toBe(false);
  });
});
