export { bufferSource, openFileSource } from './byte-source.ts';
export type { ByteSource, FileByteSource } from './byte-source.ts';
export { convertSource, convertToSafetensors, selectTensors } from './convert.ts';
export type { ConvertResult } from './convert.ts';
export { scanModelFile, scanModelSource } from './scan-model-file.ts';
export type { ModelFileFormat, ModelFileScan, StorageRecord, TorchCheckpoint } from './types.ts';
export { DEFAULT_ZIP_LIMITS, readZipListing, zipError } from './zip-records.ts';
export type { ZipDataDescriptor, ZipEntry, ZipLimits, ZipListing, ZipLocalHeader } from './zip-records.ts';
export { checkEntryCrc, crc32OfRange, inflateEntry, readStoredEntry } from './zip-data.ts';
