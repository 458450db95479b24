/**
 * GGUF fixture builders for tests (little-endian, version 3 unless told otherwise).
 */
const u32 = (value: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0);
  return out;
};
const u64 = (value: bigint | number): Buffer => {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt(value));
  return out;
};
export const ggufString = (text: string): Buffer => {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([u64(body.length), body]);
};

/** Encoded metadata values: the u32 type id followed by the value. */
export const kv = {
  u32: (value: number): Buffer => Buffer.concat([u32(4), u32(value)]),
  u8: (value: number): Buffer => Buffer.concat([u32(0), Buffer.from([value])]),
  bool: (byte: number): Buffer => Buffer.concat([u32(7), Buffer.from([byte])]),
  string: (text: string): Buffer => Buffer.concat([u32(8), ggufString(text)]),
  f32: (value: number): Buffer => {
    const out = Buffer.alloc(8);
    out.writeUInt32LE(6);
    out.writeFloatLE(value, 4);
    return out;
  },
  i64: (value: bigint): Buffer => {
    const out = Buffer.alloc(12);
    out.writeUInt32LE(11);
    out.writeBigInt64LE(value, 4);
    return out;
  },
  stringArray: (items: string[]): Buffer => Buffer.concat([u32(9), u32(8), u64(items.length), ...items.map(ggufString)]),
  i32Array: (items: number[]): Buffer => Buffer.concat([u32(9), u32(5), u64(items.length), ...items.map((v) => u32(v))]),
  raw: (type: number, payload: Buffer): Buffer => Buffer.concat([u32(type), payload]),
};

export interface FixtureGgufTensor {
  name: string;
  dims: Array<bigint | number>;
  type: number;
  offset: bigint | number;
}

export interface FixtureGguf {
  magic?: Buffer;
  version?: Buffer;
  tensorCount?: bigint;
  kvCount?: bigint;
  metadata?: Array<[key: string | Buffer, value: Buffer]>;
  tensors?: FixtureGgufTensor[];
  /** Bytes of tensor data after the aligned header; default: exactly what the tensors need. */
  dataBytes?: number;
  alignment?: number;
}

/** Tensor bytes for fixtures: element count / block size × type size, for the few types tests use. */
const FIXTURE_TYPE_BYTES: Record<number, [number, number]> = { 0: [1, 4], 1: [1, 2], 2: [32, 18], 8: [32, 34], 12: [256, 144] };

export function tensorBytes(tensor: FixtureGgufTensor): bigint {
  const [block, size] = FIXTURE_TYPE_BYTES[tensor.type] ?? [1, 1];
  return (tensor.dims.reduce<bigint>((p, d) => p * BigInt(d), 1n) / BigInt(block)) * BigInt(size);
}

export function buildGguf(spec: FixtureGguf = {}): Buffer {
  const metadata = spec.metadata ?? [];
  const tensors = spec.tensors ?? [];
  const alignment = spec.alignment ?? 32;
  const head = Buffer.concat([
    spec.magic ?? Buffer.from('GGUF'),
    spec.version ?? u32(3),
    u64(spec.tensorCount ?? BigInt(tensors.length)),
    u64(spec.kvCount ?? BigInt(metadata.length)),
    ...metadata.map(([key, value]) => Buffer.concat([typeof key === 'string' ? ggufString(key) : key, value])),
    ...tensors.map((t) => Buffer.concat([ggufString(t.name), u32(t.dims.length), ...t.dims.map(u64), u32(t.type), u64(t.offset)])),
  ]);
  const padded = Math.ceil(head.length / alignment) * alignment;
  let needed = 0n;
  for (const t of tensors) {
    const end = BigInt(t.offset) + tensorBytes(t);
    if (end > needed) needed = end;
  }
  const data = spec.dataBytes ?? Number(needed < 1n << 20n ? needed : 0n);
  return Buffer.concat([head, Buffer.alloc(padded - head.length), Buffer.alloc(data)]);
}

/** Sequential offsets padded to the alignment, as ggml's writer lays them out. */
export function sequentialTensors(tensors: Array<Omit<FixtureGgufTensor, 'offset'>>, alignment = 32): FixtureGgufTensor[] {
  let offset = 0n;
  return tensors.map((t) => {
    const placed = { ...t, offset };
    const bytes = tensorBytes(placed);
    offset += ((bytes + BigInt(alignment) - 1n) / BigInt(alignment)) * BigInt(alignment);
    return placed;
  });
}

export { u32 as ggufU32, u64 as ggufU64 };
