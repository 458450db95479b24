import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkImport } from './check-import.ts';
import { scanPickle } from './scan-pickle.ts';
import { PickleWriter, stateDictPickle } from './testing.ts';
import { DEFAULT_PICKLE_LIMITS } from './types.ts';
import type { PickleScan } from './scan-pickle.ts';

const FIXTURES = new URL('../../../test/fixtures/torch/', import.meta.url);
const hex = (value: string): Uint8Array => Buffer.from(value.replace(/\s+/g, ''), 'hex');
const scanHex = (value: string): PickleScan => scanPickle({ bytes: hex(value) });
const codes = (scan: PickleScan): string[] => scan.findings.map((finding) => finding.code);
const labels = (scan: PickleScan): Array<string | undefined> => scan.findings.map((finding) => finding.label);

describe('worked cases (model-file-security.md §1.6)', () => {
  it('PKL-A01: GLOBAL os system at protocol 0 is unsafe, labelled os.system', () => {
    const scan = scanHex('636f730a73797374656d0a2853276964270a74522e');
    expect(scan.verdict).toBe('unsafe');
    expect(scan.findings[0]).toMatchObject({ code: 'pickle.global_not_allowed', label: 'os.system', offset: 0, requirement: 'PKL-R07' });
  });

  it('PKL-A02: posix.system via STACK_GLOBAL and MEMOIZE is unsafe with the label', () => {
    const scan = scanHex('80048c05706f736978948c0673797374656d94938c02696485522e');
    expect(scan.verdict).toBe('unsafe');
    expect(scan.findings[0]).toMatchObject({ label: 'posix.system', global: 'posix.system', offset: 19 });
    expect(scan.findings[0]?.message).toContain('contains posix.system');
  });

  it('PKL-A03: STACK_GLOBAL fed by STRING opcodes (no PROTO) is unsafe', () => {
    const scan = scanHex('53276f73270a532773797374656d270a9353276c73270a85522e');
    expect(scan.verdict).toBe('unsafe');
    expect(labels(scan)).toEqual(['os.system']);
  });

  it('PKL-A05: OBJ subprocess.Popen is unsafe', () => {
    const scan = scanHex('286373756270726f636573730a506f70656e0a2853276964270a6c6f2e');
    expect(scan.verdict).toBe('unsafe');
    expect(labels(scan)).toEqual(['subprocess.Popen']);
  });

  it('PKL-A07: PUT/GET memo confusion with a decoy torch LongStorage resolves to os.system', () => {
    const scan = scanHex(
      '566f730a70320a305673797374656d0a70330a3056746f7263680a70300a30564c6f6e6753746f726167650a70310a3067320a67330a93285663617420666c61672e7478740a74522e',
    );
    expect(scan.verdict).toBe('unsafe');
    expect(labels(scan)).toEqual(['os.system']);
  });

  it('PKL-A09: pkgutil.resolve_name universal gadget is unsafe', () => {
    const scan = scanHex('80048c07706b677574696c8c0c7265736f6c76655f6e616d65938c096f733a73797374656d85528c02696485522e');
    expect(scan.verdict).toBe('unsafe');
    expect(labels(scan)).toEqual(['pkgutil.resolve_name']);
  });

  it('PKL-A14: EXT1 registry import is unsafe', () => {
    const scan = scanHex('8002820129522e');
    expect(scan.verdict).toBe('unsafe');
    expect(codes(scan)).toEqual(['pickle.extension_import']);
  });

  it('PKL-A15: payload then a broken stream is unsafe (never "not a pickle"), with the parse error too', () => {
    const scan = scanHex('8002636f730a73797374656d0a58020000006964855258ffffff7f');
    expect(scan.verdict).toBe('unsafe');
    expect(codes(scan)).toEqual(['pickle.global_not_allowed', 'pickle.truncated']);
    expect(scan.findings[1]?.verdict).toBe('invalid');
  });

  it('PKL-A31a: BINUNICODE of length 2^32-1 is rejected before allocation', () => {
    const scan = scanPickle({ bytes: Buffer.concat([hex('800258ffffffff'), Buffer.alloc(16)]) });
    expect(scan.verdict).toBe('invalid');
    expect(codes(scan)).toEqual(['pickle.truncated']);
  });

  it('PKL-A31b: 1,000,000 MARKs hit a resource limit', () => {
    const scan = scanPickle({ bytes: Buffer.concat([hex('8002'), Buffer.alloc(1_000_000, 0x28), hex('2e')]) });
    expect(scan.verdict).toBe('invalid');
    expect(codes(scan)).toEqual(['pickle.limit_stack']);
  });

  it('PKL-A31c: 2,000,000 × (NONE, POP) exceeds the opcode limit', () => {
    const body = Buffer.alloc(4_000_000);
    for (let i = 0; i < body.length; i += 2) body.set([0x4e, 0x30], i);
    const scan = scanPickle({ bytes: Buffer.concat([body, hex('4e2e')]) });
    expect(scan.verdict).toBe('invalid');
    expect(codes(scan)).toEqual(['pickle.limit_opcodes']);
  });

  it('PKL-A42: cPickle.loads at protocol 2 is labelled pickle.loads (renamed through _compat_pickle)', () => {
    const scan = scanHex('800263635069636b6c650a6c6f6164730a2e');
    expect(scan.verdict).toBe('unsafe');
    expect(labels(scan)).toEqual(['pickle.loads']);
  });

  it('PKL-A43: mid-stream PROTO 4 and dotted GLOBAL pathlib os.getcwd is labelled via os', () => {
    const scan = scanHex('8002800463706174686c69620a6f732e6765746377640a29522e');
    expect(scan.verdict).toBe('unsafe');
    expect(labels(scan)).toEqual(['os.getcwd']);
  });

  it('PKL-A28: a protocol-4 pickle on its own, as a raw file, is safe', () => {
    const scan = scanPickle({ bytes: new PickleWriter().proto(4).emptyDict().memoize().shortStr('a').memoize().int(1).setitem().stop().bytes() });
    expect(scan).toMatchObject({ verdict: 'safe', protocol: 4 });
  });
});

describe('PKL-R04: raw pickles of {"a": [1, 2.5, "x"]}', () => {
  it('is safe at protocol 0 and 4 (Python-written fixtures)', () => {
    for (const name of ['dict-p0.pkl', 'dict-p4.pkl']) {
      const scan = scanPickle({ bytes: readFileSync(new URL(name, FIXTURES)) });
      expect(scan.verdict, name).toBe('safe');
      expect(scan.findings).toEqual([]);
    }
  });

  it('is safe when written by hand at protocol 0 (text opcodes) and 4 (FRAME, MEMOIZE)', () => {
    const p0 = Buffer.from("(dp0\nVa\np1\n(lp2\nI1\naF2.5\naVx\np3\nas.", 'latin1');
    expect(scanPickle({ bytes: p0 }).verdict).toBe('safe');
    const body = new PickleWriter().emptyDict().memoize().shortStr('a').memoize().emptyList().memoize().mark().int(1).float(2.5).shortStr('x').memoize().appends().setitem().stop().bytes();
    const framed = new PickleWriter().proto(4).op(0x95, ...Buffer.from(new BigUint64Array([BigInt(body.length)]).buffer)).raw(body).bytes();
    expect(scanPickle({ bytes: framed }).verdict).toBe('safe');
  });
});

describe('bypass families (§1.4)', () => {
  it('A. gadgets missing from blocklists are still rejected: not allowlisted', () => {
    const gadgets: Array<[string, string, string | undefined]> = [
      ['pip', 'main', 'pip.main'],
      ['operator', 'attrgetter', 'operator.attrgetter'],
      ['pydoc', 'locate', 'pydoc.locate'],
      ['types', 'CodeType', 'types.CodeType'],
      ['logging', 'FileHandler', 'logging.FileHandler'],
      ['uuid', '_get_command_stdout', 'uuid._get_command_stdout'],
      ['_interpreters', 'run_string', '_interpreters.run_string'],
      ['builtins', '__import__', 'builtins.__import__'],
      ['torch._dynamo', 'eval_frame', 'torch._dynamo.eval_frame'],
      ['mypackage', 'helper', undefined],
    ];
    for (const [module, name, label] of gadgets) {
      const scan = scanPickle({ bytes: new PickleWriter().proto(2).global(module, name).str('x').tupleN(1).reduce().stop().bytes() });
      expect(scan.verdict, `${module}.${name}`).toBe('unsafe');
      expect(scan.findings[0]?.label, `${module}.${name}`).toBe(label);
    }
  });

  it('PKL-R16: builtins.len is rejected and labelled "non-allowlisted global"', () => {
    const scan = scanPickle({ bytes: new PickleWriter().proto(2).global('__builtin__', 'len').str('abc').tupleN(1).reduce().stop().bytes() });
    expect(scan.verdict).toBe('unsafe');
    expect(scan.findings[0]).toMatchObject({ global: 'builtins.len', message: 'non-allowlisted global builtins.len' });
    expect(scan.findings[0]?.label).toBeUndefined();
  });

  it('B. submodule bypass (CVE-2025-10157) is matched hierarchically for the label', () => {
    const scan = scanPickle({ bytes: new PickleWriter().proto(4).global('asyncio.unix_events', '_UnixSubprocessTransport._start').stop().bytes() });
    expect(scan.verdict).toBe('unsafe');
    expect(labels(scan)).toEqual(['asyncio.unix_events']);
  });

  it('B. STACK_GLOBAL operands are tracked values, not the previous opcode (modelscan #85 smuggling)', () => {
    // The strings go through the memo, a DUP and a POP before STACK_GLOBAL sees them.
    const bytes = new PickleWriter().proto(4).shortStr('posix').put(7).pop().shortStr('system').put(9).pop().shortStr('decoy').pop().get(7).get(9).stackGlobal().stop().bytes();
    expect(labels(scanPickle({ bytes }))).toEqual(['posix.system']);
  });

  it('B. STACK_GLOBAL with a non-str operand (picklescan type confusion) is invalid, not skipped', () => {
    const scan = scanPickle({ bytes: new PickleWriter().proto(4).int(42).shortStr('system').stackGlobal().stop().bytes() });
    expect(scan.verdict).toBe('invalid');
    expect(codes(scan)).toEqual(['pickle.stack_global']);
  });

  it('B. an allowed name reached through a Python 2 rename below protocol 3 only (both readings must agree)', () => {
    expect(checkImport({ module: '__builtin__', name: 'set', protocol: 2 }).role).toBe('allowed');
    expect(checkImport({ module: 'builtins', name: 'set', protocol: 4 }).role).toBe('allowed');
    // torch renames at any protocol, CPython only below 3: at protocol 3 the readings differ → refused.
    expect(checkImport({ module: '__builtin__', name: 'set', protocol: 3 }).role).toBeUndefined();
    expect(checkImport({ module: 'torch', name: 'FloatStorage.__init__', protocol: 4 }).role).toBeUndefined();
  });

  it('D. BINGET of a never-stored memo slot after a payload: unsafe, and the memo error is invalid (PKL-R10)', () => {
    const scan = scanPickle({ bytes: new PickleWriter().proto(2).global('os', 'system').op(0x68, 5).stop().bytes() });
    expect(scan.verdict).toBe('unsafe');
    expect(codes(scan)).toEqual(['pickle.global_not_allowed', 'pickle.memo_missing']);
  });

  it('D. an opcode crossing its FRAME end is invalid', () => {
    const bytes = new PickleWriter().proto(4).op(0x95, 3, 0, 0, 0, 0, 0, 0, 0).shortStr('abcdef').stop().bytes();
    expect(codes(scanPickle({ bytes }))).toEqual(['pickle.frame_crossing']);
  });

  it('E. a call whose result is POPped is still reported', () => {
    const scan = scanPickle({ bytes: hex('636f730a73797374656d0a2853276964270a7452304e2e') });
    expect(scan.verdict).toBe('unsafe');
  });

  it('PKL-R08: calls, builds and container updates are checked against the value they apply to', () => {
    const cases: Array<[string, Uint8Array, string]> = [
      ['REDUCE on a str', new PickleWriter().proto(2).str('f').emptyTuple().reduce().stop().bytes(), 'pickle.call_not_allowed'],
      ['APPEND on a dict', new PickleWriter().proto(2).emptyDict().int(1).append().stop().bytes(), 'pickle.append_not_allowed'],
      ['SETITEM on a list', new PickleWriter().proto(2).emptyList().int(1).int(2).setitem().stop().bytes(), 'pickle.setitem_not_allowed'],
      ['BUILD on a plain dict', new PickleWriter().proto(2).emptyDict().emptyDict().build().stop().bytes(), 'pickle.build_not_allowed'],
      ['NEWOBJ on an int', new PickleWriter().proto(2).int(1).emptyTuple().newobj().stop().bytes(), 'pickle.newobj_not_allowed'],
      ['persistent id in a raw pickle', new PickleWriter().proto(2).str('storage').tupleN(1).persid().stop().bytes(), 'pickle.persistent_id'],
    ];
    for (const [label, bytes, code] of cases) {
      const scan = scanPickle({ bytes });
      expect(scan.verdict, label).toBe('unsafe');
      expect(codes(scan), label).toEqual([code]);
    }
  });

  it('PKL-R10: MEMOIZE stores at len(memo), not after the highest PUT index', () => {
    // PUT 5 then MEMOIZE stores at 1 (memo has one entry); GET 6 is unset.
    const bytes = new PickleWriter().proto(4).int(1).put(5).memoize().get(6).stop().bytes();
    expect(codes(scanPickle({ bytes }))).toEqual(['pickle.memo_missing']);
    const ok = new PickleWriter().proto(4).int(1).put(5).memoize().pop().get(1).stop().bytes();
    expect(scanPickle({ bytes: ok }).verdict).toBe('safe');
  });

  it('PKL-R12: bytes after STOP reject', () => {
    const scan = scanPickle({ bytes: new PickleWriter().proto(2).none().stop().raw('00').bytes() });
    expect(scan.verdict).toBe('invalid');
    expect(codes(scan)).toEqual(['pickle.trailing_bytes']);
  });
});

describe('torch-shaped pickles outside a container', () => {
  it('a state dict with storage ids is unsafe as a raw pickle: persistent ids only belong to torch files', () => {
    const bytes = stateDictPickle({ tensors: [{ name: 'w', key: '0', numel: 4, size: [4], stride: [1] }] });
    const scan = scanPickle({ bytes });
    expect(scan.verdict).toBe('unsafe');
    expect(codes(scan)).toContain('pickle.persistent_id');
  });
});

describe('mutation robustness (fast-check): never throws, work bounded by input size', () => {
  const seeds: Uint8Array[] = [
    readFileSync(new URL('dict-p0.pkl', FIXTURES)),
    readFileSync(new URL('dict-p4.pkl', FIXTURES)),
    stateDictPickle({ tensors: [{ name: 'w', key: '0', numel: 4, size: [4], stride: [1] }, { name: 'v', key: '0', numel: 4, offset: 1, size: [3], stride: [1] }] }),
    hex('80048c05706f736978948c0673797374656d94938c02696485522e'),
    hex('566f730a70320a305673797374656d0a70330a3056746f7263680a70300a30564c6f6e6753746f726167650a70310a3067320a67330a93285663617420666c61672e7478740a74522e'),
  ];
  const bound = (length: number): number => DEFAULT_PICKLE_LIMITS.visitsPerByte * length + DEFAULT_PICKLE_LIMITS.visitsBase;
  const check = (bytes: Uint8Array): void => {
    const scan = scanPickle({ bytes });
    expect(['safe', 'unsafe', 'invalid', 'unsupported']).toContain(scan.verdict);
    expect(scan.visits).toBeLessThanOrEqual(bound(bytes.length));
  };

  it('bit flips', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: seeds.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }), (seed, flips) => {
        const bytes = Uint8Array.from(seeds[seed] as Uint8Array);
        for (const [at, bit] of flips) bytes[at % bytes.length] = (bytes[at % bytes.length] as number) ^ (1 << bit);
        check(bytes);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('truncations', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: seeds.length - 1 }), fc.nat(), (seed, cut) => {
        const source = seeds[seed] as Uint8Array;
        const bytes = source.subarray(0, cut % (source.length + 1));
        check(bytes);
        expect(scanPickle({ bytes }).verdict === 'safe').toBe(bytes.length === source.length && scanPickle({ bytes: source }).verdict === 'safe');
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('splices of valid streams and random bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.nat(),
        fc.nat(),
        fc.uint8Array({ maxLength: 32 }),
        (a, b, cutA, cutB, noise) => {
          const left = seeds[a] as Uint8Array;
          const right = seeds[b] as Uint8Array;
          check(Buffer.concat([left.subarray(0, cutA % (left.length + 1)), noise, right.subarray(cutB % (right.length + 1))]));
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it('adversarial memo reuse stays within the bound (a 64 KiB key hashed a thousand times)', () => {
    const w = new PickleWriter().proto(2).emptyDict().str('k'.repeat(65536)).put(0).pop();
    for (let i = 0; i < 1000; i++) w.get(0).int(i).setitem();
    const bytes = w.stop().bytes();
    const scan = scanPickle({ bytes });
    expect(scan.visits).toBeLessThanOrEqual(bound(bytes.length));
  });
});
