import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PickleWriter, stateDictPickle } from '../pickle/testing.ts';
import type { FixtureTensor } from '../pickle/testing.ts';
import { DEFAULT_PICKLE_LIMITS } from '../pickle/types.ts';
import { bufferSource } from './byte-source.ts';
import { scanModelSource } from './scan-model-file.ts';
import { buildZip, readZipFixture, torchZip } from './testing.ts';
import type { ZipFixtureEntry } from './testing.ts';
import type { ModelFileScan } from './types.ts';

const FIXTURES = new URL('../../../test/fixtures/torch/', import.meta.url);
const fixture = (name: string): Uint8Array => readFileSync(new URL(name, FIXTURES));
const hex = (value: string): Uint8Array => Buffer.from(value, 'hex');
const scan = (bytes: Uint8Array): Promise<ModelFileScan> => scanModelSource({ source: bufferSource(bytes) });
const codes = (result: ModelFileScan): string[] => result.findings.map((finding) => finding.code);

const A02 = hex('80048c05706f736978948c0673797374656d94938c02696485522e');
const A43 = hex('8002800463706174686c69620a6f732e6765746377640a29522e');
const W: FixtureTensor = { name: 'w', key: '0', numel: 4, size: [4], stride: [1] };
const FOUR_FLOATS = new Uint8Array(new Float32Array([0, 1, 2, 3]).buffer);

function checkpoint(params: { tensors?: FixtureTensor[]; dataPkl?: Uint8Array; records?: Array<[string, Uint8Array]>; root?: string } = {}): Uint8Array {
  const dataPkl = params.dataPkl ?? stateDictPickle({ tensors: params.tensors ?? [W] });
  return torchZip({
    root: params.root ?? 'archive',
    records: [['data.pkl', dataPkl], ...(params.records ?? [['data/0', FOUR_FLOATS]]), ['version', Buffer.from('3\n')]],
  });
}

/** Re-write a real fixture with a change to its entries. */
async function rewrite(bytes: Uint8Array, change: (entries: ZipFixtureEntry[]) => ZipFixtureEntry[]): Promise<Uint8Array> {
  return buildZip({ entries: change(await readZipFixture(bytes)) });
}

describe('PyTorch zip checkpoints (real torch.save output)', () => {
  it('PKL-A35: torch.save({"w": torch.arange(4.)}) is safe and described', async () => {
    const result = await scan(fixture('arange4.pt'));
    expect(result).toMatchObject({ verdict: 'safe', format: 'torch-zip', findings: [] });
    expect(result.checkpoint?.tensors).toEqual([
      { path: ['w'], storageKey: '0', dtype: 'float32', storageOffset: 0, size: [4], stride: [1], requiresGrad: false, isParameter: false },
    ]);
    expect(result.checkpoint?.storages).toMatchObject([{ key: '0', storageClass: 'torch.FloatStorage', numel: 4, byteLength: 16 }]);
  });

  it('PKL-A40: a save to "lora v2 (1).pt" (root with spaces and parentheses) is safe', async () => {
    const result = await scan(fixture('lora v2 (1).pt'));
    expect(result.verdict).toBe('safe');
    expect(result.checkpoint?.storages[0]?.member).toBe('lora v2 (1)/data/0');
  });

  it('a state dict of f32/f16/bf16/f64/ints/bool/complex, shared storage, views and a Parameter is safe', async () => {
    const result = await scan(fixture('state-dict.pt'));
    expect(result.verdict).toBe('safe');
    expect(result.checkpoint?.tensors.map((tensor) => tensor.dtype)).toContain('bfloat16');
    const views = result.checkpoint?.tensors.filter((tensor) => tensor.storageKey === result.checkpoint?.tensors.find((t) => t.path[0] === 'shared.base')?.storageKey);
    expect(views?.map((tensor) => tensor.path[0])).toEqual(['shared.base', 'shared.transposed', 'shared.slice', 'shared.row']);
    expect(result.checkpoint?.tensors.find((tensor) => tensor.path[0] === 'param')).toMatchObject({ isParameter: true, requiresGrad: true });
  });

  it('PKL-A41: a CRC-less save (CRC 0 in the directory and the descriptor) passes with zip.crc_absent', async () => {
    const crcless = await rewrite(fixture('arange4.pt'), (entries) => entries.map((entry) => ({ ...entry, crc32: 0 })));
    const result = await scan(crcless);
    expect(result.verdict).toBe('safe');
    expect(result.warnings.map((warning) => warning.code)).toContain('zip.crc_absent');
  });

  it('PKL-A41: only the central-directory CRC zeroed is rejected', async () => {
    const broken = await rewrite(fixture('arange4.pt'), (entries) => entries.map((entry) => ({ ...entry, centralCrc32: 0 })));
    expect(await scan(broken)).toMatchObject({ verdict: 'invalid' });
  });

  it('PKL-A18: a corrupted central-directory CRC (CVE-2025-10156) is invalid', async () => {
    const bytes = Uint8Array.from(fixture('arange4.pt'));
    const at = Buffer.from(bytes).indexOf(hex('504b0102')) + 16;
    for (let i = 0; i < 4; i++) bytes[at + i] = (bytes[at + i] as number) ^ 0xff;
    const result = await scan(bytes);
    expect(result.verdict).toBe('invalid');
    expect(codes(result)).toEqual(['zip.descriptor_mismatch']);
  });

  it('PKL-A23: a TorchScript marker (constants.pkl) makes a valid torch zip unsafe (CVE-2025-32434)', async () => {
    const bytes = await rewrite(fixture('arange4.pt'), (entries) => [...entries, { name: 'arange4/constants.pkl', data: hex('80025d71002e') }]);
    const result = await scan(bytes);
    expect(result).toMatchObject({ verdict: 'unsafe', format: 'torchscript' });
    expect(codes(result)).toContain('torch.torchscript');
  });

  it('PKL-R04: a TorchScript code/ folder is unsafe too, and its stray pickles are labelled', async () => {
    const bytes = checkpoint({ records: [['data/0', FOUR_FLOATS], ['code/x.pkl', A02]] });
    const result = await scan(bytes);
    expect(result.verdict).toBe('unsafe');
    expect(result.findings.map((finding) => finding.label)).toContain('posix.system');
  });

  it('PKL-A28: a protocol-4 data.pkl is unsafe in a zip (PKL-R06), safe as a raw file', async () => {
    const p4 = new PickleWriter().proto(4).emptyDict().memoize().shortStr('a').memoize().int(1).setitem().stop().bytes();
    const inZip = await scan(checkpoint({ dataPkl: p4, records: [] }));
    expect(inZip.verdict).toBe('unsafe');
    expect(codes(inZip)).toEqual(expect.arrayContaining(['pickle.protocol', 'pickle.opcode_not_allowed']));
    expect(await scan(p4)).toMatchObject({ verdict: 'safe', format: 'pickle' });
  });

  it('PKL-A02 and PKL-A43 as a zip data.pkl are unsafe with their labels', async () => {
    for (const [payload, label] of [[A02, 'posix.system'], [A43, 'os.getcwd']] as const) {
      const result = await scan(checkpoint({ dataPkl: payload, records: [] }));
      expect(result.verdict).toBe('unsafe');
      expect(result.findings.map((finding) => finding.label)).toContain(label);
    }
  });

  it('PKL-A44: a view outside its storage is unsafe (size 5, storage offset 1, stride 2)', async () => {
    for (const change of [{ size: [5] }, { offset: 1 }, { stride: [2] }]) {
      const result = await scan(checkpoint({ tensors: [{ ...W, ...change }] }));
      expect(result.verdict, JSON.stringify(change)).toBe('unsafe');
      expect(codes(result)).toEqual(['tensor.out_of_bounds']);
    }
    expect((await scan(checkpoint({ tensors: [{ ...W, offset: 1, size: [3] }] }))).verdict).toBe('safe');
    expect((await scan(checkpoint({ tensors: [{ ...W, size: [0, 9], stride: [9999, 1] }] }))).verdict).toBe('safe');
  });

  it('PKL-A45: byteorder "big" is unsupported, "middle" invalid, "little" safe', async () => {
    const withOrder = (order: string): Uint8Array => checkpoint({ records: [['byteorder', Buffer.from(order)], ['data/0', FOUR_FLOATS]] });
    expect((await scan(withOrder('little'))).verdict).toBe('safe');
    expect(await scan(withOrder('big'))).toMatchObject({ verdict: 'unsupported', findings: [{ code: 'torch.byteorder_big' }] });
    expect(await scan(withOrder('middle'))).toMatchObject({ verdict: 'invalid', findings: [{ code: 'torch.byteorder' }] });
  });

  it('PKL-R09: storage records must match their ids and all be referenced', async () => {
    expect(codes(await scan(checkpoint({ records: [['data/0', FOUR_FLOATS.subarray(0, 12)]] })))).toEqual(['storage.size_mismatch']);
    expect(codes(await scan(checkpoint({ records: [['data/0', FOUR_FLOATS], ['data/1', FOUR_FLOATS]] })))).toEqual(['storage.unreferenced']);
    expect(codes(await scan(checkpoint({ records: [] })))).toEqual(['storage.missing_record']);
    const conflicting = checkpoint({ tensors: [W, { ...W, name: 'v', numel: 3, size: [3] }] });
    expect(codes(await scan(conflicting))).toEqual(['storage.bad_pid']);
    const badLocation = checkpoint({ tensors: [{ ...W, location: 'evil' }] });
    // The refused id registers no storage, so data/0 is also unreferenced.
    expect(codes(await scan(badLocation))).toEqual(['storage.bad_pid', 'storage.unreferenced']);
  });

  it('PKL-R17: _rebuild_tensor_v3 takes an UntypedStorage and a dtype; v2 with UntypedStorage is malformed', async () => {
    const v3 = checkpoint({ tensors: [{ ...W, storageClass: 'torch.storage.UntypedStorage', numel: 16, dtype: 'float32' }] });
    const result = await scan(v3);
    expect(result.verdict).toBe('safe');
    expect(result.checkpoint?.tensors[0]).toMatchObject({ dtype: 'float32', size: [4] });
    const v2Untyped = checkpoint({ tensors: [{ ...W, storageClass: 'torch.storage.UntypedStorage', numel: 16 }] });
    expect(codes(await scan(v2Untyped))).toEqual(['tensor.rebuild_shape']);
  });

  it('PKL-R05: zip structure rules', async () => {
    const base = (): ZipFixtureEntry[] => [
      { name: 'archive/data.pkl', data: stateDictPickle({ tensors: [W] }) },
      { name: 'archive/data/0', data: FOUR_FLOATS },
      { name: 'archive/version', data: Buffer.from('3\n') },
    ];
    const cases: Array<[string, Uint8Array, string]> = [
      ['local name differs (CVE-2025-1944)', buildZip({ entries: base().map((e, i) => (i === 0 ? { ...e, localName: 'archive/data.pkm' } : e)) }), 'zip.name_mismatch'],
      ['encryption flag (CVE-2025-1945)', buildZip({ entries: base().map((e, i) => (i === 1 ? { ...e, flags: 0x0809 } : e)) }), 'torch.record_flags'],
      ['compressed record', buildZip({ entries: base().map((e, i) => (i === 1 ? { ...e, method: 8 } : e)) }), 'torch.record_method'],
      ['pickle under a non-pickle name (CVE-2025-1889)', buildZip({ entries: [...base(), { name: 'archive/data.txt', data: A02 }] }), 'torch.unexpected_record'],
      ['no version record', buildZip({ entries: base().slice(0, 2) }), 'torch.missing_record'],
      ['duplicate names', buildZip({ entries: [...base(), base()[2] as ZipFixtureEntry] }), 'zip.duplicate_name'],
      ['an archive comment', buildZip({ entries: base(), comment: 'hi' }), 'zip.no_end_record'],
      ['bytes after the end record', buildZip({ entries: base(), trailing: hex('00') }), 'zip.no_end_record'],
      ['a name outside the root', buildZip({ entries: [...base(), { name: 'other/x', data: hex('00') }] }), 'torch.root'],
      ['root ".."', buildZip({ entries: base().map((e) => ({ ...e, name: e.name.replace('archive/', '../') })) }), 'torch.root'],
      ['no root folder', buildZip({ entries: base().map((e) => ({ ...e, name: e.name.replace('archive/', '') })) }), 'format.unsupported'],
    ];
    for (const [label, bytes, code] of cases) {
      const result = await scan(bytes);
      expect(result.verdict, label).not.toBe('safe');
      expect(codes(result), label).toContain(code);
    }
    expect((await scan(buildZip({ entries: base() }))).verdict).toBe('safe');
    expect((await scan(buildZip({ entries: base(), zip64End: false }))).verdict).toBe('safe');
  });

  it('PKL-R05: a pickle under a non-pickle name is labelled (CVE-2025-1889)', async () => {
    const result = await scan(checkpoint({ records: [['data/0', FOUR_FLOATS], ['data.txt', A02]] }));
    expect(result.verdict).toBe('unsafe');
    expect(result.findings.find((finding) => finding.label === 'posix.system')?.member).toBe('archive/data.txt');
  });

  it('PKL-R05: overlapping or gapped records are invalid (no unaccounted bytes)', async () => {
    const bytes = Uint8Array.from(checkpoint());
    // Point the second central entry's local header offset at the first entry (overlap).
    const cd = Buffer.from(bytes).indexOf(hex('504b0102'));
    const second = Buffer.from(bytes).indexOf(hex('504b0102'), cd + 4);
    Buffer.from(bytes.buffer).writeUInt32LE(0, second + 42);
    const result = await scan(bytes);
    expect(result.verdict).toBe('invalid');
  });

  it('modelscan #354: a corrupt entry before data.pkl rejects the whole file (no fail-open walk)', async () => {
    const bytes = Uint8Array.from(checkpoint());
    bytes[1] = 0x00; // break the first local header's signature
    expect((await scan(bytes)).verdict).toBe('invalid');
  });

  it('a flipped byte inside data/<key> passes scan (the tensor CRC is convert\'s job)', async () => {
    const bytes = Uint8Array.from(fixture('arange4.pt'));
    const listing = await readZipFixture(bytes);
    const offset = Buffer.from(bytes).indexOf(Buffer.from(listing[1]?.data ?? []));
    bytes[offset] = (bytes[offset] as number) ^ 0x01;
    expect((await scan(bytes)).verdict).toBe('safe');
  });
});

describe('legacy stacked-pickle torch files', () => {
  it('PKL-A35 saved with _use_new_zipfile_serialization=False is safe and describes the same tensor', async () => {
    const result = await scan(fixture('arange4-legacy.pt'));
    expect(result).toMatchObject({ verdict: 'safe', format: 'torch-legacy' });
    expect(result.checkpoint?.tensors[0]).toMatchObject({ path: ['w'], dtype: 'float32', size: [4], stride: [1] });
    expect(result.checkpoint?.storages[0]).toMatchObject({ numel: 4, length: 16 });
  });

  it('the full state dict is safe', async () => {
    expect((await scan(fixture('state-dict-legacy.pt'))).checkpoint?.tensors).toHaveLength(18);
  });

  it('bytes after the last storage, or a short storage, are invalid (PKL-R12)', async () => {
    const bytes = fixture('arange4-legacy.pt');
    expect(codes(await scan(Buffer.concat([bytes, hex('00')])))).toEqual(['pickle.trailing_bytes']);
    expect((await scan(bytes.subarray(0, bytes.length - 1))).verdict).toBe('invalid');
  });

  it('GHSA-97f8-7cmv-76j2: a magic number produced by eval is unsafe, not a legacy file', async () => {
    const bytes = new PickleWriter().proto(2).global('builtins', 'eval').str('0x1950a86a20f9469cfc6c').tupleN(1).reduce().stop().bytes();
    expect((await scan(bytes)).verdict).toBe('unsafe');
  });
});

describe('other containers (PKL-R03, R04)', () => {
  it('PKL-A24: 7z (the nullifAI wrapper) is unsupported', async () => {
    expect(await scan(Buffer.concat([hex('377abcaf271c0004'), Buffer.alloc(64)]))).toMatchObject({ verdict: 'unsupported', format: 'archive' });
  });

  it('PKL-A25: a legacy torch tar is unsupported', async () => {
    const tar = Buffer.alloc(1024);
    tar.write('sys_info', 0);
    tar.write('ustar', 257);
    expect(await scan(tar)).toMatchObject({ verdict: 'unsupported', format: 'archive' });
  });

  it('PKL-A26/A01 gzip-compressed is unsafe; a gzip-wrapped safe pickle is safe with nothing to convert', async () => {
    const a01 = hex('636f730a73797374656d0a2853276964270a74522e');
    expect(await scan(gzipSync(a01))).toMatchObject({ verdict: 'unsafe', format: 'gzip' });
    const safe = await scan(gzipSync(fixture('dict-p4.pkl')));
    expect(safe).toMatchObject({ verdict: 'safe', format: 'gzip' });
    expect(safe.nothingToConvert).toBeDefined();
  });

  it('PKL-A27: an .npy object array carrying PKL-A02 is unsafe', async () => {
    const header = Buffer.from("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".padEnd(117, ' ') + '\n', 'latin1');
    const npy = Buffer.concat([hex('934e554d50590100'), hex('7600'), header, A02]);
    expect(npy.indexOf(A02)).toBe(128);
    const result = await scan(npy);
    expect(result).toMatchObject({ verdict: 'unsafe', format: 'npy' });
    expect(result.findings.map((finding) => finding.label)).toContain('posix.system');
  });

  it('plain .npy and .npz (stored and deflated) are safe, with nothing to convert; numpy object arrays are refused', async () => {
    for (const name of ['plain.npy', 'arrays.npz', 'arrays-compressed.npz']) {
      const result = await scan(fixture(name));
      expect(result.verdict, name).toBe('safe');
      expect(result.nothingToConvert, name).toBeDefined();
    }
    expect((await scan(fixture('object.npy'))).verdict).toBe('unsafe');
  });

  it('a truncated .npy is invalid', async () => {
    const bytes = fixture('plain.npy');
    expect((await scan(bytes.subarray(0, bytes.length - 1))).verdict).toBe('invalid');
  });

  it('a zip that is neither a checkpoint nor an npz is unsupported', async () => {
    expect((await scan(buildZip({ entries: [{ name: 'readme.txt', data: Buffer.from('hi'), flags: 0 }] }))).verdict).toBe('unsupported');
  });
});

describe('PKL-R07a: Lightning SD 1.x checkpoints', () => {
  const lightning = fixture('lightning-sd.ckpt');

  async function withDataPkl(edit: (pickle: Buffer) => Buffer): Promise<Uint8Array> {
    return rewrite(lightning, (entries) => entries.map((entry) => (entry.name.endsWith('/data.pkl') ? { ...entry, data: edit(Buffer.from(entry.data)) } : entry)));
  }

  it('is safe with warnings naming the excepted globals (numpy 1 names)', async () => {
    const result = await scan(lightning);
    expect(result.verdict).toBe('safe');
    expect(result.warnings.map((warning) => warning.global)).toEqual([
      'pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint',
      'numpy.core.multiarray.scalar',
      'numpy.dtype',
    ]);
  });

  it('is safe with numpy 2 names', async () => {
    const bytes = await withDataPkl((pickle) => Buffer.from(pickle.toString('latin1').replace('cnumpy.core.multiarray\n', 'cnumpy._core.multiarray\n'), 'latin1'));
    const result = await scan(bytes);
    expect(result.verdict).toBe('safe');
    expect(result.warnings.map((warning) => warning.global)).toContain('numpy._core.multiarray.scalar');
  });

  it('is unsafe when the class is called', async () => {
    const dataPkl = new PickleWriter().proto(2).emptyDict().str('callbacks').emptyDict()
      .global('pytorch_lightning.callbacks.model_checkpoint', 'ModelCheckpoint').emptyTuple().reduce().int(1).setitem().setitem().stop().bytes();
    const result = await scan(checkpoint({ dataPkl, records: [] }));
    expect(result.verdict).toBe('unsafe');
    expect(codes(result)).toContain('pickle.lightning_misuse');
  });

  it('is unsafe when the class keys a dict outside "callbacks", or is a value', async () => {
    const outside = new PickleWriter().proto(2).emptyDict().str('other').emptyDict()
      .global('pytorch_lightning.callbacks.model_checkpoint', 'ModelCheckpoint').emptyDict().setitem().setitem().stop().bytes();
    expect(codes(await scan(checkpoint({ dataPkl: outside, records: [] })))).toContain('pickle.lightning_misuse');
    const asValue = new PickleWriter().proto(2).emptyDict().str('callbacks').global('pytorch_lightning.callbacks.model_checkpoint', 'ModelCheckpoint').setitem().stop().bytes();
    expect(codes(await scan(checkpoint({ dataPkl: asValue, records: [] })))).toContain('pickle.lightning_misuse');
  });

  it('is unsafe when the numpy scalar is fed another callable, or the dtype goes elsewhere', async () => {
    const fedTensor = new PickleWriter().proto(2).emptyDict().str('x')
      .global('numpy.core.multiarray', 'scalar').global('collections', 'OrderedDict').emptyTuple().reduce().str('b').tupleN(2).reduce()
      .setitem().stop().bytes();
    expect(codes(await scan(checkpoint({ dataPkl: fedTensor, records: [] })))).toContain('pickle.lightning_misuse');
    const dtypeElsewhere = new PickleWriter().proto(2).emptyList()
      .global('numpy', 'dtype').str('f8').bool(false).bool(true).tupleN(3).reduce().append().stop().bytes();
    expect(codes(await scan(checkpoint({ dataPkl: dtypeElsewhere, records: [] })))).toContain('pickle.lightning_misuse');
    const scalarAsCallee = new PickleWriter().proto(2).global('numpy.core.multiarray', 'scalar').emptyList().tupleN(1).reduce().stop().bytes();
    expect((await scan(checkpoint({ dataPkl: scalarAsCallee, records: [] }))).verdict).toBe('unsafe');
  });
});

describe('mutation robustness of containers (fast-check): never throws, work bounded by input size', () => {
  const seeds = ['arange4.pt', 'arange4-legacy.pt', 'lightning-sd.ckpt', 'plain.npy', 'arrays-compressed.npz'].map(fixture);
  const bound = (length: number): number => DEFAULT_PICKLE_LIMITS.visitsPerByte * length + DEFAULT_PICKLE_LIMITS.visitsBase;
  const check = async (bytes: Uint8Array): Promise<void> => {
    const result = await scan(bytes);
    expect(['safe', 'unsafe', 'invalid', 'unsupported']).toContain(result.verdict);
    expect(codes(result)).not.toContain('scan.internal_error');
    expect(result.visits).toBeLessThanOrEqual(bound(bytes.length));
  };

  it('bit flips, truncations and splices', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.oneof(
          fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
          fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
          fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), other: fc.integer({ min: 0, max: seeds.length - 1 }), from: fc.nat() }),
        ),
        async (index, mutation) => {
          const seed = seeds[index] as Uint8Array;
          let bytes = Uint8Array.from(seed);
          if (mutation.kind === 'flip') bytes[mutation.at % bytes.length] = (bytes[mutation.at % bytes.length] as number) ^ (1 << mutation.bit);
          if (mutation.kind === 'cut') bytes = bytes.subarray(0, mutation.at % (bytes.length + 1));
          if (mutation.kind === 'splice') {
            const other = seeds[mutation.other] as Uint8Array;
            bytes = Buffer.concat([bytes.subarray(0, mutation.at % (bytes.length + 1)), other.subarray(mutation.from % (other.length + 1))]);
          }
          await check(bytes);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});
