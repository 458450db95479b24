import type { TorchDtype } from './types.ts';

/**
 * torch dtypes the reader understands: element size in bytes and the safetensors dtype that holds the same
 * bits (none for complex128, complex32 and quantized types, which safetensors cannot carry).
 */
export const TORCH_DTYPES: Readonly<Record<TorchDtype, { elementSize: number; safetensors?: string }>> = {
  float32: { elementSize: 4, safetensors: 'F32' },
  float64: { elementSize: 8, safetensors: 'F64' },
  float16: { elementSize: 2, safetensors: 'F16' },
  bfloat16: { elementSize: 2, safetensors: 'BF16' },
  int64: { elementSize: 8, safetensors: 'I64' },
  int32: { elementSize: 4, safetensors: 'I32' },
  int16: { elementSize: 2, safetensors: 'I16' },
  int8: { elementSize: 1, safetensors: 'I8' },
  uint8: { elementSize: 1, safetensors: 'U8' },
  uint16: { elementSize: 2, safetensors: 'U16' },
  uint32: { elementSize: 4, safetensors: 'U32' },
  uint64: { elementSize: 8, safetensors: 'U64' },
  bool: { elementSize: 1, safetensors: 'BOOL' },
  complex32: { elementSize: 4 },
  complex64: { elementSize: 8, safetensors: 'C64' },
  complex128: { elementSize: 16 },
  float8_e4m3fn: { elementSize: 1, safetensors: 'F8_E4M3' },
  float8_e5m2: { elementSize: 1, safetensors: 'F8_E5M2' },
  float8_e4m3fnuz: { elementSize: 1, safetensors: 'F8_E4M3FNUZ' },
  float8_e5m2fnuz: { elementSize: 1, safetensors: 'F8_E5M2FNUZ' },
  float8_e8m0fnu: { elementSize: 1, safetensors: 'F8_E8M0' },
  quint8: { elementSize: 1 },
  qint8: { elementSize: 1 },
  qint32: { elementSize: 4 },
  quint4x2: { elementSize: 1 },
  quint2x4: { elementSize: 1 },
};

export function isTorchDtype(name: string): name is TorchDtype {
  return Object.hasOwn(TORCH_DTYPES, name);
}

/**
 * Storage classes allowed in a persistent id, with their element type (PKL-R09). Sizes are those of the
 * requirement; `UntypedStorage` counts bytes and carries no dtype (`_rebuild_tensor_v3` names it).
 */
const LEGACY_STORAGES: Readonly<Record<string, TorchDtype>> = {
  BoolStorage: 'bool',
  ByteStorage: 'uint8',
  CharStorage: 'int8',
  QUInt8Storage: 'quint8',
  QInt8Storage: 'qint8',
  QUInt4x2Storage: 'quint4x2',
  QUInt2x4Storage: 'quint2x4',
  ShortStorage: 'int16',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  IntStorage: 'int32',
  FloatStorage: 'float32',
  QInt32Storage: 'qint32',
  LongStorage: 'int64',
  DoubleStorage: 'float64',
  ComplexFloatStorage: 'complex64',
  ComplexDoubleStorage: 'complex128',
};

export interface StorageClassInfo {
  dtype: TorchDtype | undefined;
  elementSize: number;
}

/** `torch.XStorage`, `torch.cuda.XStorage` (both allowlisted) or `torch.storage.UntypedStorage`. */
export function storageClassInfo(module: string, name: string): StorageClassInfo | undefined {
  if (module === 'torch.storage' && name === 'UntypedStorage') return { dtype: undefined, elementSize: 1 };
  if (module !== 'torch' && module !== 'torch.cuda') return undefined;
  const dtype = Object.hasOwn(LEGACY_STORAGES, name) ? LEGACY_STORAGES[name] : undefined;
  return dtype === undefined ? undefined : { dtype, elementSize: TORCH_DTYPES[dtype].elementSize };
}
