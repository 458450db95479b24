import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadSink } from './download-sink.ts';

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const gitBlobSha1 = (bytes: Uint8Array): string => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');

let dir: string;
let n = 0;
const newFile = (): string => path.join(dir, `file-${n++}`);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-sink-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Chunk sizes as a transfer delivers them: single bytes, TLS records, and chunks bigger than a 2 MiB slot. */
function chunksOf(bytes: Buffer): Buffer[] {
  const sizes = [1, 16 * 1024, 7, 3 * MiB + 5, 16 * 1024, 2 * MiB, 100_003];
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

async function pushAll(sink: DownloadSink, chunks: readonly Uint8Array[]): Promise<void> {
  for (const chunk of chunks) {
    const behind = sink.push(chunk);
    if (behind !== undefined) await behind;
  }
}

describe.each([
  ['inline', false],
  ['on the worker thread', true],
])('DownloadSink, %s', (_label, worker) => {
  it('hashes a resumed prefix without writing it, then hashes and writes the rest in order', async () => {
    const whole = randomBytes(11 * MiB + 321);
    const prefixLength = 5 * MiB + 17;
    const file = newFile();
    // On a resume the partial already holds the prefix; the sink re-hashes it and appends after it.
    await writeFile(file, whole.subarray(0, prefixLength));
    const sink = new DownloadSink({ worker, gitBlobSize: whole.length, syncEveryBytes: 2 * MiB });
    const handle = await open(file, 'r+');
    try {
      await pushAll(sink, chunksOf(whole.subarray(0, prefixLength)));
      sink.attach(handle, prefixLength);
      await pushAll(sink, chunksOf(whole.subarray(prefixLength)));
      expect(await sink.digest()).toEqual({ sha256: sha256(whole), gitSha1: gitBlobSha1(whole) });
    } finally {
      await sink.close();
      await handle.close();
    }
    expect((await readFile(file)).equals(whole)).toBe(true);
  });

  it('leaves exactly the bytes pushed so far in the file after flush (what a kept partial must hold)', async () => {
    const bytes = randomBytes(4 * MiB + 99);
    const file = newFile();
    const sink = new DownloadSink({ worker });
    const handle = await open(file, 'wx');
    try {
      sink.attach(handle, 0);
      await pushAll(sink, chunksOf(bytes));
      await sink.flush();
      expect((await stat(file)).size).toBe(bytes.length);
      expect((await readFile(file)).equals(bytes)).toBe(true);
      expect((await sink.digest()).gitSha1).toBeUndefined();
    } finally {
      await sink.close();
      await handle.close();
    }
  });

  it('hashes the empty input', async () => {
    const sink = new DownloadSink({ worker, gitBlobSize: 0 });
    try {
      expect(await sink.digest()).toEqual({ sha256: sha256(Buffer.alloc(0)), gitSha1: 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391' });
    } finally {
      await sink.close();
    }
  });

  it('reports a failed write with its errno code, and then refuses more bytes', async () => {
    const file = newFile();
    await writeFile(file, '');
    const sink = new DownloadSink({ worker });
    // A read-only descriptor: every write fails with EBADF.
    const handle = await open(file, 'r');
    try {
      sink.attach(handle, 0);
      const bytes = randomBytes(5 * MiB);
      const error = await pushAll(sink, chunksOf(bytes)).then(
        () => sink.flush().then(() => undefined, (failure: unknown) => failure),
        (failure: unknown) => failure,
      );
      expect(error).toMatchObject({ code: 'EBADF' });
      expect(() => sink.push(Buffer.from('more'))).toThrow();
      await expect(sink.flush()).rejects.toMatchObject({ code: 'EBADF' });
    } finally {
      await sink.close();
      await handle.close();
    }
    expect((await stat(file)).size).toBe(0);
  });
});
