import type { Finding, ScanWarning, StorageDescription, TensorDescription, Verdict } from '../pickle/types.ts';

/** What the content turned out to be (PKL-R03: decided by content, never by extension). */
export type ModelFileFormat =
  | 'pickle'
  | 'torch-zip'
  | 'torch-legacy'
  | 'torchscript'
  | 'npy'
  | 'npz'
  | 'gzip'
  | 'zlib'
  | 'zip'
  | 'archive'
  | 'compressed'
  | 'safetensors'
  | 'gguf'
  | 'onnx';

/** Where a storage's raw bytes lie in the file. */
export interface StorageRecord extends StorageDescription {
  offset: number;
  /** Bytes on disk: `byteLength`, checked against the record (PKL-R09). */
  length: number;
  /** The zip record's CRC-32, checked by `convert` (PKL-R05); absent for legacy files and CRC-less saves. */
  crc32?: number;
  /** Archive member holding the bytes, for messages. */
  member?: string;
}

/** The structured description of a safe torch checkpoint that the restricted reader converts. */
export interface TorchCheckpoint {
  container: 'zip' | 'legacy';
  tensors: TensorDescription[];
  storages: StorageRecord[];
}

export interface ModelFileScan {
  verdict: Verdict;
  format: ModelFileFormat;
  findings: Finding[];
  warnings: ScanWarning[];
  /** Present for a `safe` torch zip or legacy file. */
  checkpoint?: TorchCheckpoint;
  /** Why a `safe` file still gives nothing to convert (a raw pickle, a numpy file). */
  nothingToConvert?: string;
  /** Scanner work, for the bound tests. */
  visits: number;
}
