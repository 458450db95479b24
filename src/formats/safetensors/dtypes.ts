/**
 * The 22 safetensors dtypes and their bits per element (model-file-security.md §2.2, safetensors
 * `tensor.rs` at 24b0b28), in the reference enum order, which is increasing alignment. Names are
 * case-sensitive; aliases some JS clients accept (`E8M0`, `FP4`, `UE8`) are not dtypes (ST-R05).
 */
export const SAFETENSORS_DTYPE_BITS = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
} as const satisfies Record<string, number>;

export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BITS;

export const SAFETENSORS_DTYPES = Object.keys(SAFETENSORS_DTYPE_BITS) as SafetensorsDtype[];

export function isSafetensorsDtype(name: string): name is SafetensorsDtype {
  return Object.hasOwn(SAFETENSORS_DTYPE_BITS, name);
}

/**
 * Bytes of a tensor, computed in BigInt so no shape can overflow (ST-R06). `undefined` when the bit count
 * is not a whole number of bytes (sub-byte dtypes, e.g. F4 × 3 = 12 bits: MisalignedSlice in the reference).
 */
export function tensorByteLength(dtype: SafetensorsDtype, shape: readonly number[]): bigint | undefined {
  let bits = BigInt(SAFETENSORS_DTYPE_BITS[dtype]);
  for (const dim of shape) bits *= BigInt(dim);
  return bits % 8n === 0n ? bits / 8n : undefined;
}
