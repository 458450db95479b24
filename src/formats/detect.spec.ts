import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETECT_HEAD_BYTES, detectFileFormat, detectFormat } from './detect.ts';
import type { DetectedFormat } from './detect.ts';
import { graphProto, modelProto, tensorProto } from './onnx/testing.ts';
import { OK_HEADER, okFile, rawSafetensors } from './safetensors/testing.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s/g, ''), 'hex');
const detect = (head: Uint8Array, fileSize?: number): DetectedFormat => detectFormat({ head, fileSize });

// Recipes from model-file-security.md §1.6.
const PKL_A01 = hex('636f730a73797374656d0a2853276964270a74522e');
const PKL_A02 = hex('80048c05706f736978948c0673797374656d94938c02696485522e');

function tarHeader(): Buffer {
  const block = Buffer.alloc(512);
  block.write('sys_info', 0);
  block.write('ustar', 257);
  return block;
}

function npyObjectArray(): Buffer {
  // PKL-A27: v1.0 header of 118 bytes (data at 128) with descr '|O', then PKL-A02.
  const dict = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }";
  const header = `${dict}${' '.repeat(118 - dict.length - 1)}\n`;
  return Buffer.concat([hex('934e554d5059 0100 7600'), Buffer.from(header, 'latin1'), PKL_A02]);
}

describe('detectFormat (PKL-R03, §1.3)', () => {
  const cases: Array<[DetectedFormat, Buffer]> = [
    ['zip', hex('504b0304 14000808')],
    ['7z', hex('377abcaf271c 0004')],
    ['gzip', hex('1f8b 0800 00000000 0003')],
    ['bz2', hex('425a 6839 314159265359')],
    ['xz', hex('fd377a585a00 0004')],
    ['lzma', hex('5d00 008000 ffffffffffffffff')],
    ['lz4', hex('04224d18 6440a7')],
    ['zstd', hex('28b52ffd 2000')],
    ['zlib', hex('789c 0300')],
    ['joblib-zf', hex('5a46 789c')],
    ['tar', tarHeader()],
    ['npy', npyObjectArray()],
    ['gguf', hex('47475546 03000000')],
    ['safetensors', okFile()],
    ['onnx', modelProto({ graph: graphProto({ initializers: [tensorProto({ name: 'w', raw: new Uint8Array(4) })] }) })],
    ['pickle-candidate', PKL_A01],
    ['pickle-candidate', PKL_A02],
    ['pickle-candidate', hex('8002 7d71 002e')],
    ['pickle-candidate', Buffer.from('(dp0\n.')], // protocol 0 starts with MARK
    ['other', Buffer.from('A plain text file')], // 'A' is no pickle opcode
    ['other', Buffer.alloc(0)],
    ['other', hex('8009')], // PROTO with an unknown protocol
  ];
  for (const [format, bytes] of cases) {
    it(`${format}: ${bytes.subarray(0, 8).toString('hex')}`, () => {
      expect(detect(bytes.subarray(0, DETECT_HEAD_BYTES), bytes.length)).toBe(format);
    });
  }

  it('safetensors-plausible needs a sane length and "{" after optional whitespace', () => {
    expect(detect(rawSafetensors({ header: ` \n${OK_HEADER}`, data: 8 }))).toBe('safetensors');
    expect(detect(rawSafetensors({ header: '[]' }))).not.toBe('safetensors');
    expect(detect(rawSafetensors({ header: OK_HEADER, data: 8, length: 2n ** 64n - 1n }))).not.toBe('safetensors');
    // A length past the end of the file is not plausible when the size is known.
    expect(detect(rawSafetensors({ header: OK_HEADER, data: 8, length: 1000 }), 70)).not.toBe('safetensors');
  });

  it('a safetensors length that starts like a two-byte magic is still safetensors (93-byte header = 5D 00)', () => {
    const header = `{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}`.padEnd(93, ' ');
    const bytes = rawSafetensors({ header });
    expect(bytes.subarray(0, 2)).toEqual(hex('5d00'));
    expect(detect(bytes)).toBe('safetensors');
  });

  it('ST-A05 polyglot (OK + PK\\3\\4 tail) detects as safetensors; the validator then refuses it', () => {
    expect(detect(Buffer.concat([okFile(), hex('504b0304'), Buffer.from('evil')]))).toBe('safetensors');
  });

  it('never throws and is deterministic on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.option(fc.nat()), (head, size) => {
        const format = detect(head, size ?? undefined);
        expect(detect(head, size ?? undefined)).toBe(format);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});

describe('detectFileFormat', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'lorasmith-detect-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ignores the extension: a pickle named .safetensors is a pickle candidate, a safetensors named .ckpt is safetensors', async () => {
    const disguised = path.join(dir, 'model.safetensors');
    await writeFile(disguised, PKL_A02);
    expect(await detectFileFormat({ path: disguised })).toEqual({ format: 'pickle-candidate', fileSize: PKL_A02.length });
    const real = path.join(dir, 'model.ckpt');
    await writeFile(real, okFile());
    expect((await detectFileFormat({ path: real })).format).toBe('safetensors');
  });

  it('reads only the head of large files and reports I/O errors as LorasmithError', async () => {
    const big = path.join(dir, 'big.tar');
    await writeFile(big, Buffer.concat([tarHeader(), Buffer.alloc(1 << 20)]));
    expect(await detectFileFormat({ path: big })).toEqual({ format: 'tar', fileSize: 512 + (1 << 20) });
    await expect(detectFileFormat({ path: path.join(dir, 'missing') })).rejects.toMatchObject({ code: 'formats.read_failed' });
  });
});
