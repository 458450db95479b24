import type { SafetensorsDtype } from './dtypes.ts';
import { MAX_TENSOR_NAME_BYTES } from './names.ts';
import type { WorkMeter } from './strict-json.ts';

/** The reference's hard header cap (`MAX_HEADER_SIZE`); no configuration may go above it (ST-R01). */
export const REFERENCE_MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsLimits {
  /** Product header cap, the HF client value by default (ST-R01); clamped to 100,000,000. */
  maxHeaderBytes: number;
  /** ST-R07. */
  maxTensors: number;
  /** ST-R07. */
  maxNameBytes: number;
  /** ST-R05. */
  maxRank: number;
  /** ST-R03. */
  maxJsonDepth: number;
  /** ST-R04: UTF-8 bytes of all `__metadata__` keys and values together. */
  maxMetadataBytes: number;
  /** ST-R04: UTF-8 bytes of one `__metadata__` value. */
  maxMetadataValueBytes: number;
}

export const DEFAULT_SAFETENSORS_LIMITS: Readonly<SafetensorsLimits> = Object.freeze({
  maxHeaderBytes: 25_000_000,
  maxTensors: 100_000,
  maxNameBytes: MAX_TENSOR_NAME_BYTES,
  maxRank: 8,
  maxJsonDepth: 64,
  maxMetadataBytes: 1024 * 1024,
  maxMetadataValueBytes: 256 * 1024,
});

export interface SafetensorsValidateOptions {
  limits?: Partial<SafetensorsLimits>;
  /**
   * Unknown fields inside a tensor entry: rejected by default (ST-R05). Should real files trip this, the
   * requirement allows a logged warning (`st.extra_field`), never a silent accept.
   */
  unknownTensorFields?: 'reject' | 'warn';
  /** Counts validation steps (tests bound work by input size). */
  meter?: WorkMeter;
}

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Offsets into the data buffer (which starts at `dataStart` in the file); END is one past. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Sorted by offset, i.e. in data-buffer order. */
  tensors: SafetensorsTensorInfo[];
  /** Null-prototype record: a key such as `__proto__` is plain data. */
  metadata: Record<string, string>;
  /** Header length N from the 8-byte prefix. */
  headerLength: number;
  /** File offset of the data buffer: 8 + N. */
  dataStart: number;
}

export interface SafetensorsStats {
  tensorCount: number;
  /** Σ (END − BEGIN) per dtype (ST-R10, GPU-R01). */
  bytesByDtype: Partial<Record<SafetensorsDtype, number>>;
  totalBytes: number;
}

export type SafetensorsWarningCode = 'st.leading_ws' | 'st.extra_field';

export interface SafetensorsWarning {
  code: SafetensorsWarningCode;
  message: string;
}

export type SafetensorsRejectionCode =
  | 'st.file_too_small'
  | 'st.header_too_large'
  | 'st.header_length'
  | 'st.header_bom'
  | 'st.header_utf8'
  | 'st.json_syntax'
  | 'st.json_depth'
  | 'st.duplicate_key'
  | 'st.integer'
  | 'st.header_not_object'
  | 'st.metadata'
  | 'st.tensor_entry'
  | 'st.dtype'
  | 'st.shape'
  | 'st.offsets'
  | 'st.misaligned'
  | 'st.size_mismatch'
  | 'st.buffer_length'
  | 'st.tensor_count'
  | 'st.tensor_name';

export interface SafetensorsRejection {
  code: SafetensorsRejectionCode;
  /** What is wrong and where, in words a user can read; names are quoted and shortened. */
  message: string;
  /** Byte offset in the file, when one position is to blame. */
  offset?: number;
}

export type SafetensorsValidation =
  | { ok: true; header: SafetensorsHeader; warnings: SafetensorsWarning[]; stats: SafetensorsStats }
  | { ok: false; reason: SafetensorsRejection };

export function resolveSafetensorsLimits(limits: Partial<SafetensorsLimits> = {}): SafetensorsLimits {
  const merged = { ...DEFAULT_SAFETENSORS_LIMITS, ...limits };
  return { ...merged, maxHeaderBytes: Math.min(merged.maxHeaderBytes, REFERENCE_MAX_HEADER_BYTES) };
}
