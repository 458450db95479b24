import { describe, expect, it } from 'vitest';
import { isLorasmithError } from '../../core/errors.ts';
import { bufferSource } from '../torch/byte-source.ts';
import { checkZipArchive } from './check-archive.ts';
import { DEFAULT_ARCHIVE_LIMITS } from './limits.ts';
import type { ArchiveLimits } from './limits.ts';
import { buildTestZip, encodeEntry, endRecord } from './testing.ts';
import type { TestZipEntry } from './testing.ts';

const check = (bytes: Uint8Array, limits: Partial<ArchiveLimits> = {}, freeBytes?: number) =>
  checkZipArchive({ source: bufferSource(bytes), limits: { ...DEFAULT_ARCHIVE_LIMITS, ...limits }, ...(freeBytes === undefined ? {} : { freeBytes }) });

async function refusal(bytes: Uint8Array, limits: Partial<ArchiveLimits> = {}, freeBytes?: number): Promise<string> {
  try {
    await check(bytes, limits, freeBytes);
  } catch (error) {
    if (!isLorasmithError(error)) throw error;
    return error.code;
  }
  throw new Error('the archive was accepted');
}

const zip = (...entries: TestZipEntry[]) => buildTestZip({ entries });
const file = (name: string, extra: Partial<TestZipEntry> = {}): TestZipEntry => ({ name, data: `data of ${name}`, ...extra });

describe('checkZipArchive: a plain archive', () => {
  it('lists files and folders with NFC segments', async () => {
    const checked = await check(zip({ name: 'sub/', data: '', method: 0 }, file('sub/a.png'), file('Cafe\u0301.txt', { method: 0 })));
    expect(checked.entries.map((e) => [e.kind, e.segments])).toEqual([
      ['directory', ['sub']],
      ['file', ['sub', 'a.png']],
      ['file', ['Caf\u00e9.txt']],
    ]);
    expect(checked.totalBytes).toBe(Buffer.byteLength('data of sub/a.pngdata of Cafe\u0301.txt'));
  });
});

describe('ARC-R01 entry names (ARC-A01..A04, A13..A15)', () => {
  const names = [
    '../../evil.txt', // ARC-A01 zip-slip
    'a/../../evil.txt',
    '/etc/passwd', // absolute
    'C:/Windows/win.ini', // drive
    'C:evil.txt',
    '//server/share/x', // UNC
    'a\\..\\evil.txt', // backslash, rejected, not converted
    'a/./b.png',
    'a//b.png',
    'nul\u0000.png',
    'ctl\u0007.png',
    'c1\u0085.png',
    'bidi\u202egnp.exe',
    'zero\u200bwidth.png',
    'CON',
    'con.png',
    'sub/LPT1.txt',
    'COM\u00b9.png',
    'CONIN$',
    'trailing.',
    'trailing ',
    'stream.png:hidden',
    `${'x'.repeat(201)}.png`,
    `${'d/'.repeat(520)}x.png`,
  ];
  it.each(names)('refuses %j', async (name) => {
    expect(await refusal(zip(file(name)))).toBe('archive.entry_name');
  });
  it('accepts a 200-byte segment and a harmless Unicode name', async () => {
    await expect(check(zip(file(`${'x'.repeat(196)}.png`), file('日本/写真.png')))).resolves.toBeDefined();
  });
});

describe('ARC-R02 entry types (ARC-A05, A06)', () => {
  it('refuses a symlink entry (ARC-A05), even before a file below it', async () => {
    expect(await refusal(zip(file('link', { data: '/etc', unixMode: 0o120777 }), file('link/passwd')))).toBe('archive.entry_type');
  });
  it.each([
    ['a FIFO', 0o010644],
    ['a character device', 0o020644],
    ['a block device', 0o060644],
    ['a socket', 0o140644],
  ])('refuses %s', async (_label, mode) => {
    expect(await refusal(zip(file('x', { unixMode: mode })))).toBe('archive.entry_type');
  });
  it('refuses a folder mode on a file name, and a folder that holds data', async () => {
    expect(await refusal(zip(file('x', { unixMode: 0o040755 })))).toBe('archive.entry_type');
    expect(await refusal(zip(file('x/', { data: 'data' })))).toBe('archive.entry_type');
  });
  it('accepts regular files and folders with Unix modes', async () => {
    await expect(check(zip({ name: 'd/', data: '', unixMode: 0o040755 }, file('d/a.png', { unixMode: 0o100644 })))).resolves.toBeDefined();
  });
});

describe('ARC-R03 limits (ARC-A07..A11)', () => {
  it('refuses more entries than the limit', async () => {
    expect(await refusal(zip(file('a'), file('b'), file('c')), { maxEntries: 2 })).toBe('zip.limit_entries');
  });
  it('refuses an entry over the per-entry limit', async () => {
    expect(await refusal(zip(file('a', { data: 'x'.repeat(100), method: 0 })), { maxEntryBytes: 99 })).toBe('archive.limit_entry');
  });
  it('refuses a total over the limit and over the free disk space minus the reserve', async () => {
    const bytes = zip(file('a', { data: 'x'.repeat(60), method: 0 }), file('b', { data: 'y'.repeat(60), method: 0 }));
    expect(await refusal(bytes, { maxTotalBytes: 100 })).toBe('archive.limit_total');
    expect(await refusal(bytes, {}, 130)).toBe('archive.disk_space'); // 90 % of 130 is 117 < 120
    await expect(check(bytes, {}, 134)).resolves.toBeDefined();
  });
  it('refuses a deflated entry that expands more than 100:1 (ARC-A08, declared)', async () => {
    const zeros = new Uint8Array(8 * 1024 * 1024);
    expect(await refusal(zip(file('zeros.png', { data: zeros })))).toBe('archive.limit_ratio');
  });
});

describe('ARC-R04 structure (ARC-A10, A12, A17)', () => {
  it.each([
    ['A.png + a.png', ['A.png', 'a.png']],
    ['NFC é + NFD é', ['\u00e9.png', 'e\u0301.png']],
    ['a folder case variant', ['Sub/x.png', 'sub/X.png']],
    ['ß and SS', ['stra\u00dfe.png', 'STRASSE.png']],
  ])('refuses colliding names: %s (ARC-A12)', async (_label, names) => {
    expect(await refusal(zip(...names.map((name) => file(name))))).toBe('archive.collision');
  });
  it('refuses an exact duplicate name (ARC-A12)', async () => {
    expect(await refusal(zip(file('x.png'), file('x.png')))).toBe('zip.duplicate_name');
  });
  it('refuses a file that shares its name with a folder', async () => {
    expect(await refusal(zip(file('x'), file('X/y.png')))).toBe('archive.collision');
  });
  it('refuses a local name that differs from the central one', async () => {
    expect(await refusal(zip(file('a.png', { localName: 'b.png' })))).toBe('zip.name_mismatch');
  });
  it('refuses data before the first local header', async () => {
    expect(await refusal(buildTestZip({ entries: [file('a.png')], prefix: Buffer.from('MZ stub') }))).toBe('zip.gap');
  });
  it('accepts data-descriptor entries (local sizes 0) and a ZIP64 entry (ARC-A17)', async () => {
    const checked = await check(zip(file('a.png', { dataDescriptor: true }), file('b.png', { zip64: true }), file('c.png', { zip64: true, dataDescriptor: true })));
    expect(checked.entries.map((e) => e.entry.name)).toEqual(['a.png', 'b.png', 'c.png']);
  });
  it('refuses a central size that disagrees with the data descriptor (ARC-A17)', async () => {
    expect(await refusal(zip(file('a.png', { dataDescriptor: true, descriptor: { uncompressedSize: 3 } })))).toBe('zip.descriptor_mismatch');
    expect(await refusal(zip(file('a.png', { dataDescriptor: true, descriptor: { crc32: 1 } })))).toBe('zip.descriptor_mismatch');
  });
  it('refuses overlapping local data ranges (a Fifield-style layout)', async () => {
    const inner = encodeEntry(file('inner.png', { method: 0 }));
    // The outer entry's stored data quotes the inner entry's header and data: both central records point inside one range.
    const outer = encodeEntry({ name: 'outer.png', method: 0, data: inner.local });
    const innerOffset = outer.local.length - inner.local.length;
    const cd = Buffer.concat([outer.central(0), inner.central(innerOffset)]);
    const bytes = Buffer.concat([outer.local, cd, endRecord({ count: 2, cdSize: cd.length, cdOffset: outer.local.length })]);
    expect(await refusal(bytes)).toBe('zip.overlap');
  });
  it.each([
    ['traditional encryption', { flags: 0x0001 }],
    ['strong encryption', { flags: 0x0041 }],
    ['AES (method 99)', { method: 99 }],
  ])('refuses %s', async (_label, extra) => {
    expect(await refusal(zip(file('a.png', extra)))).toBe('archive.encrypted');
  });
  it('refuses patched data and unknown methods', async () => {
    expect(await refusal(zip(file('a.png', { flags: 0x0020 })))).toBe('archive.flags');
    expect(await refusal(zip(file('a.png', { method: 14 })))).toBe('archive.method');
  });
});
