import type { WorkMeter } from '../safetensors/strict-json.ts';
import { GGML_TYPES, GGUF_VALUE_TYPES } from './types.ts';
import type { GgmlTypeInfo, GgufScalarTypeName } from './types.ts';

export interface GgufLimits {
  /** GGUF-R02. */
  maxTensors: number;
  maxMetadataEntries: number;
  /** GGUF-R03. */
  maxStringBytes: number;
  maxArrayLength: number;
  /** §3: keys ≤ 65,535 bytes. */
  maxKeyBytes: number;
  /** Bytes of the header (metadata + tensor infos) we accept reading; bounds memory. */
  maxHeaderBytes: number;
}

export const DEFAULT_GGUF_LIMITS: Readonly<GgufLimits> = Object.freeze({
  maxTensors: 100_000,
  maxMetadataEntries: 100_000,
  maxStringBytes: 1024 ** 3,
  maxArrayLength: 2 ** 30,
  maxKeyBytes: 65_535,
  maxHeaderBytes: 64 * 1024 * 1024,
});

/** Numeric arrays are copied into typed arrays: memory stays proportional to the bytes in the file. */
export type GgufArrayItems =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array
  | boolean[]
  | string[];

export type GgufMetadataValue =
  | { type: Exclude<GgufScalarTypeName, 'u64' | 'i64' | 'bool' | 'string'>; value: number }
  | { type: 'u64' | 'i64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; elementType: GgufScalarTypeName; items: GgufArrayItems };

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  dims: number[];
  typeId: number;
  typeName: string;
  /** Relative to `dataOffset`. */
  offset: number;
  bytes: number;
}

export interface GgufHeader {
  version: 2 | 3;
  alignment: number;
  /** File offset of the tensor data. */
  dataOffset: number;
  /** Metadata in file order; keys are unique. Values are data, never templates or HTML (GGUF-R05). */
  metadata: Map<string, GgufMetadataValue>;
  tensors: GgufTensorInfo[];
}

export type GgufRejectionCode =
  | 'gguf.magic'
  | 'gguf.version'
  | 'gguf.big_endian'
  | 'gguf.count'
  | 'gguf.truncated'
  | 'gguf.header_too_large'
  | 'gguf.key'
  | 'gguf.value_type'
  | 'gguf.bool'
  | 'gguf.string'
  | 'gguf.array'
  | 'gguf.alignment'
  | 'gguf.tensor_name'
  | 'gguf.dims'
  | 'gguf.tensor_type'
  | 'gguf.tensor_too_large'
  | 'gguf.offset'
  | 'gguf.tensor_past_eof';

export interface GgufRejection {
  code: GgufRejectionCode;
  message: string;
  offset?: number;
}

export type GgufValidation =
  | { ok: true; header: GgufHeader; stats: { tensorCount: number; bytesByType: Record<string, number>; totalBytes: number } }
  | { ok: false; reason: GgufRejection };

const KEY = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/;
const MAX_TENSOR_NAME_BYTES = 63;
const MAX_DIMS = 4;
const INT64_MAX = 2n ** 63n - 1n;
const DEFAULT_ALIGNMENT = 32;
// Smallest encodings, used to check a count against the bytes left before looping over it:
// kv = key length (8) + 1-byte key + type (4) + 1-byte value; tensor info = name length (8) + 1-byte name
// + n_dims (4) + one dim (8) + type (4) + offset (8).
const MIN_KV_BYTES = 14n;
const MIN_TENSOR_INFO_BYTES = 33n;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Refused extends Error {
  readonly reason: GgufRejection;
  constructor(reason: GgufRejection) {
    super(reason.message);
    this.reason = reason;
  }
}

/**
 * Header-level GGUF validation (GGUF-R01..R04), stricter than ggml's reader. `bytes` is the file or a
 * prefix of it; `fileSize` the whole file's size. Every count and length is compared, as a BigInt, with the
 * bytes left in the file before anything is read or allocated. Never throws on bad input.
 */
export function validateGgufHeader(params: {
  bytes: Uint8Array;
  fileSize?: number;
  limits?: Partial<GgufLimits>;
  meter?: WorkMeter;
}): GgufValidation {
  const reader = new Reader(params.bytes, params.fileSize ?? params.bytes.length, { ...DEFAULT_GGUF_LIMITS, ...params.limits }, params.meter ?? { steps: 0 });
  try {
    return reader.header();
  } catch (error) {
    if (error instanceof Refused) return { ok: false, reason: error.reason };
    throw error;
  }
}

const pad = (value: bigint, alignment: bigint): bigint => ((value + alignment - 1n) / alignment) * alignment;

class Reader {
  private pos = 0;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private readonly fileSize: bigint;
  private readonly limits: GgufLimits;
  private readonly meter: WorkMeter;

  constructor(bytes: Uint8Array, fileSize: number, limits: GgufLimits, meter: WorkMeter) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.fileSize = BigInt(fileSize);
    this.limits = limits;
    this.meter = meter;
  }

  private refuse(code: GgufRejectionCode, message: string, offset = this.pos): never {
    throw new Refused({ code, message, offset });
  }

  private remaining(): bigint {
    return this.fileSize - BigInt(this.pos);
  }

  /** Bounds check before every read: past the file is truncation; past our prefix is the header cap. */
  private need(count: bigint | number, what: string): number {
    const n = BigInt(count);
    if (n > this.remaining()) this.refuse('gguf.truncated', `${what} runs past the end of the file`);
    if (BigInt(this.pos) + n > BigInt(this.bytes.length)) {
      this.refuse('gguf.header_too_large', `the GGUF header is larger than ${this.bytes.length} bytes (limit ${this.limits.maxHeaderBytes})`);
    }
    const at = this.pos;
    this.pos += Number(n);
    this.meter.steps += 1;
    return at;
  }

  private u32(what: string): number {
    return this.view.getUint32(this.need(4, what), true);
  }

  private u64(what: string): bigint {
    return this.view.getBigUint64(this.need(8, what), true);
  }

  private string(what: string, maxBytes: number): string {
    const start = this.pos;
    const length = this.u64(`the length of ${what}`);
    if (length > BigInt(maxBytes)) this.refuse('gguf.string', `${what} is ${length} bytes long (limit ${maxBytes})`, start);
    const at = this.need(length, what);
    try {
      return utf8.decode(this.bytes.subarray(at, at + Number(length)));
    } catch {
      return this.refuse('gguf.string', `${what} is not valid UTF-8`, at);
    }
  }

  header(): GgufValidation {
    const magic = this.need(4, 'the magic');
    if (this.view.getUint32(magic, false) !== 0x47475546) this.refuse('gguf.magic', 'the file does not start with "GGUF"', 0);
    const versionAt = this.need(4, 'the version');
    const raw = this.view.getUint32(versionAt, true);
    if (raw !== 2 && raw !== 3) {
      // Big-endian files can only be told apart by the byte-swapped version (§3).
      const swapped = this.view.getUint32(versionAt, false);
      if (swapped >= 1 && swapped <= 3) this.refuse('gguf.big_endian', `the version reads as ${swapped} big-endian: big-endian GGUF is not supported`, versionAt);
      this.refuse('gguf.version', `GGUF version ${raw} is not supported (only 2 and 3)`, versionAt);
    }
    const version = raw === 2 ? 2 : 3;
    const tensorCount = this.count('tensor_count', this.limits.maxTensors, MIN_TENSOR_INFO_BYTES);
    const kvCount = this.count('metadata_kv_count', this.limits.maxMetadataEntries, MIN_KV_BYTES);

    const metadata = new Map<string, GgufMetadataValue>();
    for (let i = 0; i < kvCount; i += 1) {
      const keyOffset = this.pos;
      const key = this.string('a metadata key', this.limits.maxKeyBytes);
      if (!KEY.test(key)) this.refuse('gguf.key', `metadata key ${JSON.stringify(key.slice(0, 64))} is not lower_snake_case segments joined by "."`, keyOffset);
      if (metadata.has(key)) this.refuse('gguf.key', `metadata key ${JSON.stringify(key)} appears twice`, keyOffset);
      metadata.set(key, this.value(key));
    }
    const alignment = this.alignment(metadata.get('general.alignment'));

    const tensors: GgufTensorInfo[] = [];
    const names = new Set<string>();
    const sizes: bigint[] = [];
    const offsets: bigint[] = [];
    for (let i = 0; i < tensorCount; i += 1) {
      const infoOffset = this.pos;
      const name = this.string('a tensor name', MAX_TENSOR_NAME_BYTES);
      if (name.length === 0) this.refuse('gguf.tensor_name', 'a tensor has an empty name', infoOffset);
      if (names.has(name)) this.refuse('gguf.tensor_name', `tensor ${JSON.stringify(name)} appears twice`, infoOffset);
      names.add(name);
      const { info, bytes, offset } = this.tensorInfo(name);
      tensors.push(info);
      sizes.push(bytes);
      offsets.push(offset);
    }

    const dataOffset = pad(BigInt(this.pos), BigInt(alignment));
    let expected = 0n;
    for (const [i, tensor] of tensors.entries()) {
      const offset = offsets[i] ?? 0n;
      const bytes = sizes[i] ?? 0n;
      if (offset !== expected) {
        this.refuse('gguf.offset', `tensor ${JSON.stringify(tensor.name)} is at offset ${offset}, expected ${expected} (offsets must be exactly sequential)`);
      }
      if (dataOffset + offset + bytes > this.fileSize) {
        this.refuse('gguf.tensor_past_eof', `tensor ${JSON.stringify(tensor.name)} (${bytes} bytes at ${dataOffset + offset}) ends past the end of the ${this.fileSize}-byte file`);
      }
      tensor.offset = Number(offset);
      tensor.bytes = Number(bytes);
      expected = offset + pad(bytes, BigInt(alignment));
    }

    const bytesByType: Record<string, number> = {};
    let totalBytes = 0;
    for (const tensor of tensors) {
      bytesByType[tensor.typeName] = (bytesByType[tensor.typeName] ?? 0) + tensor.bytes;
      totalBytes += tensor.bytes;
    }
    return {
      ok: true,
      header: { version, alignment, dataOffset: Number(dataOffset), metadata, tensors },
      stats: { tensorCount: tensors.length, bytesByType, totalBytes },
    };
  }

  /** GGUF-R02: a u64 count within its limit and within what the remaining bytes could hold. */
  private count(what: string, limit: number, minBytes: bigint): number {
    const at = this.pos;
    const count = this.u64(what);
    if (count > BigInt(limit)) this.refuse('gguf.count', `${what} is ${count} (limit ${limit})`, at);
    if (count * minBytes > this.remaining()) this.refuse('gguf.count', `${what} ${count} cannot fit in the ${this.remaining()} bytes left`, at);
    return Number(count);
  }

  private valueType(what: string): (typeof GGUF_VALUE_TYPES)[number] {
    const at = this.pos;
    const id = this.u32(`the type of ${what}`);
    const type = GGUF_VALUE_TYPES[id];
    if (type === undefined) this.refuse('gguf.value_type', `${what} has value type ${id} (valid: 0..12)`, at);
    return type;
  }

  /** GGUF-R03. */
  private value(key: string): GgufMetadataValue {
    const what = `metadata ${JSON.stringify(key)}`;
    const type = this.valueType(what);
    if (type.name !== 'array') return this.scalar(type.name, what);
    const elementType = this.valueType(`the elements of ${what}`);
    if (elementType.name === 'array') this.refuse('gguf.array', `${what} is an array of arrays`);
    const at = this.pos;
    const count = this.u64(`the length of ${what}`);
    if (count > BigInt(this.limits.maxArrayLength)) this.refuse('gguf.array', `${what} has ${count} elements (limit ${this.limits.maxArrayLength})`, at);
    const elementBytes = BigInt(elementType.name === 'string' ? 8 : elementType.size);
    if (count * elementBytes > this.remaining()) this.refuse('gguf.array', `${what} has ${count} elements, more than the bytes left can hold`, at);
    return { type: 'array', elementType: elementType.name, items: this.items(elementType.name, Number(count), what) };
  }

  private scalar(type: GgufScalarTypeName, what: string): GgufMetadataValue {
    switch (type) {
      case 'string':
        return { type, value: this.string(what, this.limits.maxStringBytes) };
      case 'bool':
        return { type, value: this.bool(what) };
      case 'u64':
        return { type, value: this.view.getBigUint64(this.need(8, what), true) };
      case 'i64':
        return { type, value: this.view.getBigInt64(this.need(8, what), true) };
      default: {
        const items = this.items(type, 1, what);
        return { type, value: Number(items[0]) };
      }
    }
  }

  private bool(what: string): boolean {
    const at = this.need(1, what);
    const byte = this.bytes[at];
    if (byte !== 0 && byte !== 1) this.refuse('gguf.bool', `${what} is a bool of value ${byte} (only 0 or 1)`, at);
    return byte === 1;
  }

  private items(type: GgufScalarTypeName, count: number, what: string): GgufArrayItems {
    if (type === 'string') {
      const out: string[] = [];
      for (let i = 0; i < count; i += 1) out.push(this.string(`element ${i} of ${what}`, this.limits.maxStringBytes));
      return out;
    }
    if (type === 'bool') {
      const out: boolean[] = [];
      for (let i = 0; i < count; i += 1) out.push(this.bool(`element ${i} of ${what}`));
      return out;
    }
    const size = GGUF_VALUE_TYPES.find((t) => t.name === type)?.size ?? 1;
    const at = this.need(BigInt(count) * BigInt(size), what);
    // Copy into a fresh, aligned buffer (not slice(): on a Buffer it is a view of the shared pool).
    // The typed arrays then read the file's little-endian values natively: lorasmith runs on x64 only.
    const copy = new Uint8Array(this.bytes.subarray(at, at + count * size)).buffer;
    switch (type) {
      case 'u8':
        return new Uint8Array(copy);
      case 'i8':
        return new Int8Array(copy);
      case 'u16':
        return new Uint16Array(copy);
      case 'i16':
        return new Int16Array(copy);
      case 'u32':
        return new Uint32Array(copy);
      case 'i32':
        return new Int32Array(copy);
      case 'f32':
        return new Float32Array(copy);
      case 'f64':
        return new Float64Array(copy);
      case 'u64':
        return new BigUint64Array(copy);
      case 'i64':
        return new BigInt64Array(copy);
    }
  }

  /** `general.alignment`: typed u32, a power of two ≥ 8 (GGUF-R04); 32 when absent. */
  private alignment(value: GgufMetadataValue | undefined): number {
    if (value === undefined) return DEFAULT_ALIGNMENT;
    if (value.type !== 'u32') this.refuse('gguf.alignment', `general.alignment has type ${value.type}, expected u32`);
    const alignment = value.value;
    if (alignment < 8 || (alignment & (alignment - 1)) !== 0) {
      this.refuse('gguf.alignment', `general.alignment ${alignment} is not a power of two ≥ 8`);
    }
    return alignment;
  }

  /** GGUF-R04 for one tensor info; sizes in BigInt (CVE-2026-33298, llama.cpp #27203). */
  private tensorInfo(name: string): { info: GgufTensorInfo; bytes: bigint; offset: bigint } {
    const label = `tensor ${JSON.stringify(name)}`;
    const dimsAt = this.pos;
    const nDims = this.u32(`the n_dims of ${label}`);
    if (nDims < 1 || nDims > MAX_DIMS) this.refuse('gguf.dims', `${label} has ${nDims} dimensions (1..${MAX_DIMS})`, dimsAt);
    const dims: bigint[] = [];
    for (let d = 0; d < nDims; d += 1) {
      const dim = this.u64(`a dimension of ${label}`);
      if (dim < 1n) this.refuse('gguf.dims', `${label} has a dimension of 0`, dimsAt);
      dims.push(dim);
    }
    const typeAt = this.pos;
    const typeId = this.u32(`the type of ${label}`);
    const type: GgmlTypeInfo | undefined = GGML_TYPES.get(typeId);
    if (type === undefined) this.refuse('gguf.tensor_type', `${label} has ggml type ${typeId}, which is unknown or removed`, typeAt);
    const elements = dims.reduce((product, dim) => product * dim, 1n);
    if (elements > INT64_MAX) this.refuse('gguf.tensor_too_large', `${label} has ${elements} elements, more than ggml's int64 can count`, dimsAt);
    const blockSize = BigInt(type.blockSize);
    if ((dims[0] ?? 0n) % blockSize !== 0n) {
      this.refuse('gguf.tensor_type', `${label}: the first dimension ${dims[0]} is not a multiple of the ${type.name} block size ${type.blockSize}`, dimsAt);
    }
    const bytes = (elements / blockSize) * BigInt(type.typeSize);
    const offset = this.u64(`the offset of ${label}`);
    // Dims and offsets are checked against the file size later; a tensor that fits has safe-integer sizes.
    if (bytes > this.fileSize) this.refuse('gguf.tensor_past_eof', `${label} needs ${bytes} bytes, more than the whole file`, dimsAt);
    return {
      info: { name, dims: dims.map(Number), typeId, typeName: type.name, offset: 0, bytes: 0 },
      bytes,
      offset,
    };
  }
}
