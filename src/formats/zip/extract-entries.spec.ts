import { mkdir, mkdtemp, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDeflateRaw } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { openFileSource } from '../torch/byte-source.ts';
import { checkZipArchive } from './check-archive.ts';
import { extractEntries } from './extract-entries.ts';
import { DEFAULT_ARCHIVE_LIMITS } from './limits.ts';
import { buildTestZip } from './testing.ts';
import type { TestZipEntry } from './testing.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lorasmith-zip-extract-'));
});

let counter = 0;
/** Check, then extract every file entry into a fresh folder; returns that folder. */
async function extract(bytes: Uint8Array): Promise<string> {
  const zipPath = path.join(dir, `t${++counter}.zip`);
  const out = path.join(dir, `out${counter}`);
  await writeFile(zipPath, bytes);
  await mkdir(out);
  const source = await openFileSource(zipPath);
  try {
    const checked = await checkZipArchive({ source, limits: DEFAULT_ARCHIVE_LIMITS });
    const files = checked.entries.filter((e) => e.kind === 'file').map((e) => e.entry);
    await extractEntries({ zipPath, expectedSize: source.size, entries: files, destinationOf: (entry) => path.join(out, String(entry.index)) });
  } finally {
    await source.close();
  }
  return out;
}

async function refusal(bytes: Uint8Array): Promise<string> {
  try {
    await extract(bytes);
  } catch (error) {
    if (!isLorasmithError(error)) throw error;
    return error.code;
  }
  throw new Error('the archive was accepted');
}

const zip = (...entries: TestZipEntry[]) => buildTestZip({ entries });

describe('extractEntries', () => {
  it('writes stored, deflated, data-descriptor and ZIP64 entries byte for byte (ARC-A17)', async () => {
    const data = ['stored', 'deflated '.repeat(50), 'descriptor', 'zip64', 'zip64 + descriptor'];
    const out = await extract(
      zip(
        { name: 'a', data: data[0], method: 0 },
        { name: 'b', data: data[1] },
        { name: 'c', data: data[2], dataDescriptor: true },
        { name: 'd', data: data[3], zip64: true },
        { name: 'e', data: data[4], zip64: true, dataDescriptor: true },
      ),
    );
    for (const [index, text] of data.entries()) expect(await readFile(path.join(out, String(index)), 'utf8')).toBe(text);
  });

  it('refuses a CRC-32 that does not match the data', async () => {
    expect(await refusal(zip({ name: 'a.png', data: 'hello', crc32: 0x12345678 }))).toBe('archive.crc_mismatch');
    expect(await refusal(zip({ name: 'a.png', data: 'hello', method: 0, crc32: 0 }))).toBe('archive.crc_mismatch');
  });

  it('refuses data that inflates to fewer bytes than declared', async () => {
    expect(await refusal(zip({ name: 'a.png', data: 'hello', declaredSize: 6 }))).toBe('archive.size_mismatch');
  });

  it('refuses corrupt deflate data', async () => {
    expect(await refusal(zip({ name: 'a.png', data: 'hello', compressed: Buffer.from([0xff, 0xff, 0xff, 0xff]), declaredSize: 5 }))).toBe('archive.inflate');
  });

  it('aborts mid-stream a 1 GiB bomb that declares a small size (ARC-A08)', async () => {
    const deflate = createDeflateRaw({ level: 9 });
    const parts: Buffer[] = [];
    deflate.on('data', (chunk: Buffer) => parts.push(chunk));
    const ended = new Promise((resolve) => deflate.on('end', resolve));
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 1024; i++) if (!deflate.write(zeros)) await new Promise((resolve) => deflate.once('drain', resolve));
    deflate.end();
    await ended;
    const compressed = Buffer.concat(parts);
    const declaredSize = compressed.length * 50; // within the 100:1 ratio, so only streaming can catch it
    const zipBytes = zip({ name: 'zeros.png', compressed, declaredSize, crc32: 0 });
    const before = Date.now();
    expect(await refusal(zipBytes)).toBe('archive.size_mismatch');
    expect(Date.now() - before).toBeLessThan(5000);
    const written = await readdir(path.join(dir, `out${counter}`));
    for (const name of written) expect((await stat(path.join(dir, `out${counter}`, name))).size).toBeLessThanOrEqual(declaredSize);
  });

  it('refuses to write over an existing file or through a planted symlink (ARC-R05)', async () => {
    const zipPath = path.join(dir, 'planted.zip');
    const out = path.join(dir, 'planted');
    await mkdir(out);
    await writeFile(zipPath, zip({ name: 'a.png', data: 'payload' }));
    await symlink(path.join(dir, 'victim'), path.join(out, '0'));
    const source = await openFileSource(zipPath);
    try {
      const checked = await checkZipArchive({ source, limits: DEFAULT_ARCHIVE_LIMITS });
      const attempt = extractEntries({ zipPath, expectedSize: source.size, entries: checked.entries.map((e) => e.entry), destinationOf: () => path.join(out, '0') });
      await expect(attempt).rejects.toMatchObject({ code: 'EEXIST' });
    } finally {
      await source.close();
    }
    await expect(stat(path.join(dir, 'victim'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
