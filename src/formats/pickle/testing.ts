/**
 * Test helpers: write pickles opcode by hand, and torch-shaped state-dict pickles (as `torch.save` writes
 * them at protocol 2). Nothing here is used by the product.
 */

const text = (value: string): number[] => [...Buffer.from(value, 'utf8')];

export class PickleWriter {
  private readonly out: number[] = [];

  raw(bytes: Uint8Array | string): this {
    for (const byte of typeof bytes === 'string' ? Buffer.from(bytes, 'hex') : bytes) this.out.push(byte);
    return this;
  }

  op(code: number, ...args: number[]): this {
    this.out.push(code);
    return this.raw(Uint8Array.from(args));
  }

  proto(version: number): this {
    return this.op(0x80, version);
  }

  global(module: string, name: string): this {
    return this.op(0x63, ...text(`${module}\n${name}\n`));
  }

  /** BINUNICODE (allowed in data.pkl). */
  str(value: string): this {
    const bytes = text(value);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.length);
    return this.op(0x58, ...length).raw(Uint8Array.from(bytes));
  }

  /** SHORT_BINUNICODE (protocol 4). */
  shortStr(value: string): this {
    const bytes = text(value);
    return this.op(0x8c, bytes.length, ...bytes);
  }

  int(value: number | bigint): this {
    const n = BigInt(value);
    if (n >= 0n && n < 256n) return this.op(0x4b, Number(n));
    if (n >= 0n && n < 65536n) return this.op(0x4d, Number(n) & 0xff, Number(n) >> 8);
    if (n >= -(2n ** 31n) && n < 2n ** 31n) {
      const bytes = Buffer.alloc(4);
      bytes.writeInt32LE(Number(n));
      return this.op(0x4a, ...bytes);
    }
    const bytes: number[] = [];
    let rest = n;
    do {
      bytes.push(Number(rest & 0xffn));
      rest >>= 8n;
    } while (!((rest === 0n && ((bytes.at(-1) ?? 0) & 0x80) === 0) || (rest === -1n && ((bytes.at(-1) ?? 0) & 0x80) !== 0)));
    return this.op(0x8a, bytes.length, ...bytes);
  }

  float(value: number): this {
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleBE(value);
    return this.op(0x47, ...bytes);
  }

  bool(value: boolean): this {
    return this.op(value ? 0x88 : 0x89);
  }

  none(): this {
    return this.op(0x4e);
  }

  mark(): this {
    return this.op(0x28);
  }

  tuple(): this {
    return this.op(0x74);
  }

  tupleN(count: 1 | 2 | 3): this {
    return this.op(0x84 + count);
  }

  emptyTuple(): this {
    return this.op(0x29);
  }

  emptyList(): this {
    return this.op(0x5d);
  }

  emptyDict(): this {
    return this.op(0x7d);
  }

  append(): this {
    return this.op(0x61);
  }

  appends(): this {
    return this.op(0x65);
  }

  setitem(): this {
    return this.op(0x73);
  }

  setitems(): this {
    return this.op(0x75);
  }

  reduce(): this {
    return this.op(0x52);
  }

  build(): this {
    return this.op(0x62);
  }

  newobj(): this {
    return this.op(0x81);
  }

  persid(): this {
    return this.op(0x51);
  }

  put(index: number): this {
    return index < 256 ? this.op(0x71, index) : this.op(0x72, index & 0xff, (index >> 8) & 0xff, (index >> 16) & 0xff, index >>> 24);
  }

  get(index: number): this {
    return index < 256 ? this.op(0x68, index) : this.op(0x6a, index & 0xff, (index >> 8) & 0xff, (index >> 16) & 0xff, index >>> 24);
  }

  memoize(): this {
    return this.op(0x94);
  }

  stackGlobal(): this {
    return this.op(0x93);
  }

  pop(): this {
    return this.op(0x30);
  }

  stop(): this {
    return this.op(0x2e);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export interface FixtureTensor {
  name: string;
  /** e.g. `FloatStorage`; `torch.storage.UntypedStorage` with `dtype` for `_rebuild_tensor_v3`. */
  storageClass?: string;
  key: string;
  numel: number;
  offset?: number;
  size: number[];
  stride: number[];
  location?: string;
  /** v3 only: `torch.<dtype>`. */
  dtype?: string;
}

/**
 * A state dict of tensors as torch writes it: `OrderedDict()` then SETITEMS of `_rebuild_tensor_v2(pid,
 * offset, size, stride, False, OrderedDict())`, pids 5-tuples (zip) or 6-tuples with `None` (legacy).
 */
export function stateDictPickle(params: { tensors: FixtureTensor[]; legacy?: boolean; protocol?: number }): Uint8Array {
  const w = new PickleWriter().proto(params.protocol ?? 2);
  w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  for (const t of params.tensors) {
    w.str(t.name);
    w.global('torch._utils', t.dtype === undefined ? '_rebuild_tensor_v2' : '_rebuild_tensor_v3').mark();
    w.mark().str('storage');
    const [module, name] = (t.storageClass ?? 'FloatStorage').includes('.')
      ? [t.storageClass?.slice(0, t.storageClass.lastIndexOf('.')) ?? '', t.storageClass?.slice(t.storageClass.lastIndexOf('.') + 1) ?? '']
      : ['torch', t.storageClass ?? 'FloatStorage'];
    w.global(module, name).str(t.key).str(t.location ?? 'cpu').int(t.numel);
    if (params.legacy === true) w.none();
    w.tuple().persid().int(t.offset ?? 0);
    w.mark();
    for (const n of t.size) w.int(n);
    w.tuple().mark();
    for (const n of t.stride) w.int(n);
    w.tuple().bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
    if (t.dtype !== undefined) w.global('torch', t.dtype);
    w.tuple().reduce();
  }
  return w.setitems().stop().bytes();
}
