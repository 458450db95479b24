/**
 * Public result types of the static pickle scanner (model-file-security.md §1.5). Nothing here executes or
 * imports anything: a verdict is computed from opcodes and modelled values only.
 */

/** `safe`: every opcode, import and call is allowed. The other three reject the file (PKL-R02). */
export type Verdict = 'safe' | 'unsafe' | 'invalid' | 'unsupported';
export type Rejection = Exclude<Verdict, 'safe'>;

export interface Finding {
  /** Stable reason code, e.g. `pickle.global_not_allowed`, `zip.crc_mismatch`. */
  code: string;
  /** What this finding alone makes of the file; the file's verdict is the worst of its findings. */
  verdict: Rejection;
  /** What is wrong and where, in words a user can read. */
  message: string;
  /** The requirement the check comes from, e.g. `PKL-R07`. */
  requirement?: string;
  /** Offset of the opcode in its pickle stream (or of the structure in the file for container checks). */
  offset?: number;
  /** Archive member (or legacy pickle number) the offset is relative to. */
  member?: string;
  /** The imported global as resolved (`module.name`), for import findings. */
  global?: string;
  /** Label from the `dangerous` table (PKL-R16), e.g. `posix.system`; absent for other globals. */
  label?: string;
}

export interface ScanWarning {
  /** e.g. `pickle.lightning_callback`, `zip.crc_absent`, `pickle.protocol3`. */
  code: string;
  message: string;
  offset?: number;
  member?: string;
  global?: string;
}

/** torch dtype names (`torch.<name>`) the reader knows. */
export type TorchDtype =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'complex32'
  | 'complex64'
  | 'complex128'
  | 'float8_e4m3fn'
  | 'float8_e5m2'
  | 'float8_e4m3fnuz'
  | 'float8_e5m2fnuz'
  | 'float8_e8m0fnu'
  | 'quint8'
  | 'qint8'
  | 'qint32'
  | 'quint4x2'
  | 'quint2x4';

/** A step of a tensor's name path: a dict key (strings, or the dotted name of a class key) or a list index. */
export type TensorPathSegment = string | number;

/** A storage as its persistent id declares it (PKL-R09). */
export interface StorageDescription {
  key: string;
  /** e.g. `torch.FloatStorage`, `torch.storage.UntypedStorage`. */
  storageClass: string;
  /** Element type of a typed storage; `undefined` for `UntypedStorage` (bytes). */
  dtype: TorchDtype | undefined;
  elementSize: number;
  /** Elements for typed storages, bytes for `UntypedStorage`. */
  numel: number;
  byteLength: number;
  location: string;
}

/** One tensor of a safe torch file, as `_rebuild_tensor_v2/v3` would build it (PKL-R17, R18). */
export interface TensorDescription {
  path: readonly TensorPathSegment[];
  storageKey: string;
  dtype: TorchDtype;
  /** In elements of `dtype`. */
  storageOffset: number;
  size: readonly number[];
  stride: readonly number[];
  requiresGrad: boolean;
  /** Built through `_rebuild_parameter` (an `nn.Parameter`). */
  isParameter: boolean;
}

export interface PickleLimits {
  /** PKL-R11: opcodes per pickle. */
  maxOpcodes: number;
  /** PKL-R11: values on the stack plus open marks. */
  maxStackDepth: number;
  /** PKL-R11: memo entries. */
  maxMemo: number;
  /** PKL-R11: bytes of any single string, bytes value or text line. */
  maxStringBytes: number;
  /** PKL-R11: bytes of one pickle stream (a zip's data.pkl, a raw file). */
  maxPickleBytes: number;
  /** Work bound: a scan may count at most `visitsPerByte × bytes + visitsBase` visits. */
  visitsPerByte: number;
  visitsBase: number;
}

export const DEFAULT_PICKLE_LIMITS: Readonly<PickleLimits> = Object.freeze({
  maxOpcodes: 1_000_000,
  maxStackDepth: 10_000,
  maxMemo: 1_000_000,
  maxStringBytes: 1024 * 1024,
  maxPickleBytes: 64 * 1024 * 1024,
  visitsPerByte: 16,
  visitsBase: 4096,
});
