/**
 * Fixture builders for tests: small safetensors files made in memory, never binary fixtures on disk.
 */
import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';
import type { SafetensorsDtype } from './dtypes.ts';
import { encodeSafetensorsHeader } from './encode-header.ts';

/** The reference document's `OK` header (54 bytes): one F32 [2] tensor with 8 zero data bytes. */
export const OK_HEADER = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';

export function u64le(value: bigint | number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt(value));
  return out;
}

/** `u64le(N) ‖ header ‖ data`, with N the header's byte length unless `length` overrides it. */
export function rawSafetensors(params: { header: string | Uint8Array; data?: Uint8Array | number; length?: bigint | number }): Buffer {
  const header = typeof params.header === 'string' ? Buffer.from(params.header, 'utf8') : Buffer.from(params.header);
  const data = typeof params.data === 'number' ? Buffer.alloc(params.data) : Buffer.from(params.data ?? new Uint8Array(0));
  return Buffer.concat([u64le(params.length ?? header.length), header, data]);
}

export function okFile(): Buffer {
  return rawSafetensors({ header: OK_HEADER, data: 8 });
}

export interface FixtureTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
}

/** A valid file as the writer lays it out; data bytes are a deterministic pattern. */
export function buildSafetensors(params: { tensors: FixtureTensor[]; metadata?: Record<string, string> }): Buffer {
  const { prefix, fileSize } = encodeSafetensorsHeader(params);
  const out = Buffer.alloc(fileSize);
  Buffer.from(prefix).copy(out, 0);
  for (let i = prefix.length; i < fileSize; i += 1) out[i] = (i * 31) & 0xff;
  return out;
}

/**
 * Mutations of valid files for property tests: bit flips, truncations, overwrites with structural bytes,
 * insertions, and splices of two valid files. Shared by the safetensors, GGUF and ONNX fuzz tests.
 */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'overwrite'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'splice'; at: number; from: number };

const STRUCTURAL = [0x00, 0x22, 0x2c, 0x2d, 0x30, 0x31, 0x39, 0x3a, 0x5b, 0x5c, 0x5d, 0x7b, 0x7d, 0x20, 0x7f, 0x80, 0xff];

export function mutationArbitrary(): Arbitrary<Mutation> {
  const position = fc.nat({ max: 1 << 20 });
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: position }),
    fc.record({ kind: fc.constant('overwrite' as const), at: position, byte: fc.oneof(fc.constantFrom(...STRUCTURAL), fc.nat({ max: 255 })) }),
    fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.array(fc.constantFrom(...STRUCTURAL), { minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('splice' as const), at: position, from: position }),
  );
}

/** Apply mutations in order; `other` is the second file for splices. Positions wrap around the length. */
export function applyMutations(input: Uint8Array, mutations: readonly Mutation[], other: Uint8Array): Buffer {
  let bytes = Buffer.from(input);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
    switch (m.kind) {
      case 'flip':
        if (at < bytes.length) bytes[at] = (bytes[at] ?? 0) ^ (1 << m.bit);
        break;
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
      case 'overwrite':
        if (at < bytes.length) bytes[at] = m.byte;
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(m.bytes), bytes.subarray(at)]);
        break;
      case 'splice':
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(other).subarray(other.length === 0 ? 0 : m.from % other.length)]);
        break;
    }
  }
  return bytes;
}
