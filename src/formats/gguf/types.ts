/**
 * GGUF tables (model-file-security.md §3; ggml `docs/gguf.md`, `ggml.h`/`ggml.c` at d99724f).
 */

/** Metadata value types 0..12 with their fixed sizes in bytes (0 for string and array). */
export const GGUF_VALUE_TYPES = [
  { id: 0, name: 'u8', size: 1 },
  { id: 1, name: 'i8', size: 1 },
  { id: 2, name: 'u16', size: 2 },
  { id: 3, name: 'i16', size: 2 },
  { id: 4, name: 'u32', size: 4 },
  { id: 5, name: 'i32', size: 4 },
  { id: 6, name: 'f32', size: 4 },
  { id: 7, name: 'bool', size: 1 },
  { id: 8, name: 'string', size: 0 },
  { id: 9, name: 'array', size: 0 },
  { id: 10, name: 'u64', size: 8 },
  { id: 11, name: 'i64', size: 8 },
  { id: 12, name: 'f64', size: 8 },
] as const;

export type GgufValueTypeName = (typeof GGUF_VALUE_TYPES)[number]['name'];
export type GgufScalarTypeName = Exclude<GgufValueTypeName, 'array'>;

export interface GgmlTypeInfo {
  name: string;
  /** Elements per block. */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
}

const block = (blockSize: number, entries: Array<[number, string, number]>): Array<[number, GgmlTypeInfo]> =>
  entries.map(([id, name, typeSize]) => [id, { name, blockSize, typeSize }]);

/**
 * ggml tensor types with a non-zero block size. Removed ids (4, 5, 31–33, 36–38; block size 0) are absent,
 * so a tensor of those types is refused (GGUF-R04).
 */
export const GGML_TYPES: ReadonlyMap<number, GgmlTypeInfo> = new Map([
  ...block(1, [[0, 'F32', 4], [1, 'F16', 2], [24, 'I8', 1], [25, 'I16', 2], [26, 'I32', 4], [27, 'I64', 8], [28, 'F64', 8], [30, 'BF16', 2]]),
  ...block(32, [[2, 'Q4_0', 18], [3, 'Q4_1', 20], [6, 'Q5_0', 22], [7, 'Q5_1', 24], [8, 'Q8_0', 34], [9, 'Q8_1', 36], [20, 'IQ4_NL', 18], [39, 'MXFP4', 17]]),
  ...block(64, [[40, 'NVFP4', 36], [42, 'Q2_0', 18]]),
  ...block(128, [[41, 'Q1_0', 18]]),
  ...block(256, [
    [10, 'Q2_K', 84], [11, 'Q3_K', 110], [12, 'Q4_K', 144], [13, 'Q5_K', 176], [14, 'Q6_K', 210], [15, 'Q8_K', 292],
    [16, 'IQ2_XXS', 66], [17, 'IQ2_XS', 74], [18, 'IQ3_XXS', 98], [19, 'IQ1_S', 50], [21, 'IQ3_S', 110], [22, 'IQ2_S', 82],
    [23, 'IQ4_XS', 136], [29, 'IQ1_M', 56], [34, 'TQ1_0', 54], [35, 'TQ2_0', 66],
  ]),
]);
