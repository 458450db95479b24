import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectArtifacts } from './collect-artifacts.ts';
import { openContainedFile } from './contained-file.ts';

let root: string;
let work: string;
let outside: string;
beforeEach(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), 'lorasmith-collect-')));
  work = path.join(root, 'runs', 'j1', 'work');
  outside = path.join(root, 'secret');
  await mkdir(path.join(work, 'output', 'sample'), { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(path.join(outside, 'api-secret'), 'TOP SECRET');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('collectArtifacts', () => {
  it('lists regular files (recursively) and skips and reports a symlink, a symlinked folder and a FIFO', async () => {
    const out = path.join(work, 'output');
    await writeFile(path.join(out, 'last.safetensors'), 'weights');
    await writeFile(path.join(out, 'sample', 's1.png'), 'png');
    await symlink(path.join(outside, 'api-secret'), path.join(out, 'planted.safetensors'));
    await symlink(outside, path.join(out, 'linked-dir'));
    execFileSync('/usr/bin/mkfifo', [path.join(out, 'fifo.safetensors')]);
    const result = await collectArtifacts(work, out);
    expect(result.files.map((file) => [file.relative, file.size])).toEqual([
      ['last.safetensors', 7],
      ['sample/s1.png', 3],
    ]);
    expect(result.files[0]?.path).toBe(path.join(out, 'last.safetensors'));
    expect(result.skipped.map((entry) => [entry.relative, entry.reason])).toEqual([
      ['fifo.safetensors', 'not-regular'],
      ['linked-dir', 'symlinked-dir'],
      ['planted.safetensors', 'symlink'],
    ]);
  });

  it('refuses a folder that is itself a link out of work/, and returns nothing for one that does not exist', async () => {
    await symlink(outside, path.join(work, 'escape'));
    await expect(collectArtifacts(work, path.join(work, 'escape'))).rejects.toMatchObject({ code: 'artifacts-refused' });
    await expect(collectArtifacts(work, path.join(root, 'runs', 'j1'))).rejects.toMatchObject({ code: 'artifacts-refused' });
    expect(await collectArtifacts(work, path.join(work, 'nothing'))).toEqual({ files: [], skipped: [] });
  });

  it('reports what a depth or count limit left out', async () => {
    await mkdir(path.join(work, 'a', 'b', 'c'), { recursive: true });
    await writeFile(path.join(work, 'a', 'b', 'c', 'deep.bin'), 'x');
    for (const name of ['1', '2', '3']) await writeFile(path.join(work, 'a', `${name}.bin`), name);
    const result = await collectArtifacts(work, path.join(work, 'a'), { maxDepth: 1, maxFiles: 2 });
    expect(result.files.map((file) => file.relative)).toEqual(['1.bin', '2.bin']);
    expect(result.skipped.map((entry) => [entry.relative, entry.reason])).toEqual([
      ['3.bin', 'too-many'],
      ['b/c', 'too-deep'],
    ]);
  });
});

describe('openContainedFile', () => {
  it('opens a regular file inside the root and refuses links, FIFOs and paths outside', async () => {
    const file = path.join(work, 'output', 'ok.bin');
    await writeFile(file, 'ok');
    const opened = await openContainedFile(work, file);
    expect('handle' in opened && opened.stats.size).toBe(2);
    if ('handle' in opened) await opened.handle.close();
    await symlink(path.join(outside, 'api-secret'), path.join(work, 'link.bin'));
    expect(await openContainedFile(work, path.join(work, 'link.bin'))).toEqual({ refused: 'symlink' });
    execFileSync('/usr/bin/mkfifo', [path.join(work, 'pipe.bin')]);
    expect(await openContainedFile(work, path.join(work, 'pipe.bin'))).toEqual({ refused: 'not-regular' });
    expect(await openContainedFile(work, path.join(outside, 'api-secret'))).toEqual({ refused: 'outside' });
    expect(await openContainedFile(work, path.join(work, 'missing.bin'))).toEqual({ refused: 'gone' });
  });

  it('catches a folder above the file swapped for a link (the last name alone is not enough)', async () => {
    const out = path.join(work, 'output');
    await rename(out, path.join(root, 'moved'));
    await writeFile(path.join(outside, 'weights.bin'), 'not the run’s');
    await symlink(outside, out);
    expect(await openContainedFile(work, path.join(out, 'weights.bin'))).toEqual({ refused: 'outside' });
  });
});
